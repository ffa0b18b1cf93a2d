//! `koalja-agent`: see `cli.rs` for the commands and exit codes. It logs
//! JSON lines on stderr (`KOALJA_LOG`: error, warn, info (the default) or
//! debug), what log collectors in a cluster parse.

use std::process::ExitCode;

use clap::Parser;
use koalja_agent::cli::{execute, Cli, EXIT_AGENT_FAULT};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_AGENT_FAULT } else { 0 });
        }
    };
    // As a container's PID 1: an init that reaps orphans, with the agent
    // as its child (`init`).
    if koalja_agent::init::is_needed() {
        return koalja_agent::init::run();
    }
    let level = std::env::var("KOALJA_LOG").ok().and_then(|level| level.parse().ok());
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_max_level(level.unwrap_or(tracing::Level::INFO))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the runtime: {error}");
            return ExitCode::from(EXIT_AGENT_FAULT);
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::from(EXIT_AGENT_FAULT)
        }
    }
}
