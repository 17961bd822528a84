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
    // Every request logs a line; writing it to stdout (a system call each) on the request's
    // own thread cost more than some whole requests. A writer thread takes it, buffered: the
    // thread flushes whenever it has written all lines waiting, so under load many lines go out
    // in one write and when idle each goes out at once. Flushed when `_log_writer` drops at exit.
    let (log_writer, _log_writer) = tracing_appender::non_blocking(
        std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
    );
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(log_writer)
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
