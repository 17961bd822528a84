//! The Latchkey server: read configuration, start logging, build the app, serve.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    use latchkey::server::{config::Config, startup};
    use tracing_subscriber::EnvFilter;

    let config = Config::parse();
    if let Some(command) = &config.command {
        return match latchkey::server::admin::run(&config, command).await {
            Ok(output) => {
                println!("{output}");
                std::process::ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("latchkey: {message}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    // Every request logs a line: it is appended to a buffer that a thread of its own writes
    // out in batches (`log_sink` says why). Everything waiting is written when `_log_flusher`
    // drops at exit.
    let (log_sink, _log_flusher) =
        match latchkey::server::log_sink::LogSink::spawn(std::io::stdout()) {
            Ok(sink) => sink,
            Err(e) => {
                eprintln!("latchkey: cannot start the log writer thread: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(log_sink)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    match startup::build(config).await {
        Ok(server) => {
            tracing::info!(
                "Latchkey is serving on http://{} (public URL {})",
                server.addr,
                server.state.settings.public_url
            );
            if let Err(e) = server.run().await {
                tracing::error!("server stopped: {e}");
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("latchkey: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The binary is only meaningful with the `ssr` feature; cargo-leptos builds it that way.
#[cfg(not(feature = "ssr"))]
pub fn main() {}
