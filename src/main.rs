//! The Latchkey server: read configuration, start logging, build the app, serve.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve()),
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc gives each thread that allocates an arena of its own (up to 8 per core), and memory
/// freed in one arena is not reused by another, so under a login flood every thread's arena
/// grows to its own high-water mark. Two arenas measured 1 MiB less peak memory in the flood
/// benchmark, at no measurable cost in throughput (BENCHMARKS.md). Must run before any thread
/// starts. An operator's `MALLOC_ARENA_MAX` (which glibc has applied already) is left alone.
#[cfg(feature = "ssr")]
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(feature = "ssr")]
async fn serve() -> std::process::ExitCode {
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
