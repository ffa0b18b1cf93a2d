//! `koalja-agent`: see `cli.rs` for the commands and exit codes.

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
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("koalja-agent: cannot start the runtime: {error}");
            return ExitCode::from(EXIT_AGENT_FAULT);
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("koalja-agent: {error}");
            ExitCode::from(EXIT_AGENT_FAULT)
        }
    }
}
