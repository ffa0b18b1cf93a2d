//! `koaljac`: the command line. Exit codes: 0 clean (warnings allowed
//! unless `--deny warnings`), 1 errors in the input (or a `fmt --check`
//! difference, a failed run, a `diff` with changes), 2 usage, I/O or
//! cluster errors.
//!
//! - `args`: every command and option (clap);
//! - `commands`: one module per command, or per family of commands;
//! - `load`: reading and analysing the files named;
//! - `output`: exit codes, stdout, atomic writes, colour;
//! - `files`, `heap`, `panic`: directory walking, the allocator's set-up,
//!   the panic message.

mod args;
mod commands;
mod files;
mod heap;
mod load;
mod output;
mod panic;

use std::process::ExitCode;

use args::{Cli, Command, Emit, TraceFormat};
use clap::Parser;
use commands::{build, check, cluster, describe, explain, fmt, graph, run};
use output::EXIT_USAGE_OR_IO;

fn main() -> ExitCode {
    heap::prepare();
    panic::install_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_USAGE_OR_IO } else { 0 });
        }
    };
    match cli.command {
        Command::Check { paths, message_format, deny, color, emit: None } => {
            check::check(&paths, message_format, deny.is_some(), color)
        }
        Command::Check { paths, deny, emit: Some(Emit::Ir), .. } => check::emit_ir(&paths, deny.is_some()),
        Command::Describe { file, task } => describe::describe(&file, task.as_deref()),
        Command::Graph { file, format, direction, output } => {
            graph::graph(&file, format, direction.into(), output.as_deref())
        }
        Command::Build { paths, format, output, agent_image, namespace } => {
            build::build(&paths, format, output.as_deref(), build::build_options(agent_image, namespace))
        }
        Command::Fmt { paths, check } => fmt::fmt(&paths, check),
        Command::Explain { code } => explain::explain(code.as_deref()),
        Command::Deploy { file, target, agent_image, dry_run, wait: _, no_wait, timeout, force_conflicts } => {
            cluster::deploy(cluster::DeployRequest {
                file,
                target,
                agent_image,
                dry_run,
                wait: !no_wait,
                timeout,
                force_conflicts,
            })
        }
        Command::Diff { file, target, agent_image } => cluster::diff(&file, &target, agent_image),
        Command::Delete { which, target, delete_data, wait, timeout } => {
            cluster::delete(&which, &target, delete_data, wait, timeout)
        }
        Command::Status { which, target } => cluster::status(&which, &target),
        Command::Drop { pipeline, args, target } => cluster::drop(pipeline, args, &target),
        Command::Fetch { pipeline, args, output, follow, target } => {
            cluster::fetch(pipeline, args, &output, follow, &target)
        }
        Command::Run { file, state, drops, jobs, watch } => run::run(&file, state, &drops, jobs, watch),
        Command::Log { task, state, pipeline, json, target } => {
            run::log(&run::HistorySource::new(state, pipeline, target), task.as_deref(), json)
        }
        Command::Trace { artifact, state, pipeline, json, format, target } => run::trace(
            &run::HistorySource::new(state, pipeline, target),
            &artifact,
            if json { TraceFormat::Json } else { format },
        ),
    }
}
