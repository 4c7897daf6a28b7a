//! The `parallax` command-line tool as a library: the subcommands' implementations, usable
//! from tests and benchmarks without going through the binary.

pub mod bench;
pub mod celestia;
pub mod config_file;
pub mod devnet;
pub mod ethtest;
pub mod soak;

/// Resolves on Ctrl-C or SIGTERM (what systemd and docker send), so services shut down cleanly
/// either way.
pub async fn shutdown_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
