//! `koaljac run`, `log` and `trace`: a local run on the embedded engine of
//! `koalja-agent`, and provenance queries over its state directory or over
//! a deployed pipeline. Exit
//! codes: 0 every run succeeded, 1 a run failed or the file has errors,
//! 2 usage, I/O or runtime faults.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use koalja_agent::local::{self, Options};
use koalja_agent::plan::Plan;
use koalja_agent::provenance::History;
use koalja_agent::record::{RunRecord, RunStatus};
use koalja_compiler::ir::Ir;

use crate::args::{wire_path, Target, TraceFormat};
use crate::load::load_one;
use crate::output::{write_stdout, EXIT_INPUT_ERRORS, EXIT_USAGE_OR_IO};

pub fn run(file: &Path, state: Option<PathBuf>, drops: &[String], jobs: Option<usize>, watch: bool) -> ExitCode {
    let mut parsed_drops = Vec::new();
    for drop in drops {
        match wire_path(drop) {
            Some((wire, path)) => parsed_drops.push((wire.to_owned(), PathBuf::from(path))),
            None => {
                eprintln!("error: `--drop {drop}` is not WIRE=PATH");
                return ExitCode::from(EXIT_USAGE_OR_IO);
            }
        }
    }
    let loaded = match load_one(&[file.to_path_buf()], "run") {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if loaded.analysis.error_count() > 0 {
        eprintln!("error: {} has errors; nothing was run", loaded.display);
        return ExitCode::from(EXIT_INPUT_ERRORS);
    }
    let ir = Ir::from_analysis(&loaded.analysis);
    let plan = match Plan::from_ir_json(ir.to_json().as_bytes()) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE_OR_IO);
        }
    };
    let state = state.unwrap_or_else(|| local::default_state(file));
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let options = Options { state: state.clone(), drops: parsed_drops, jobs, watch, progress: true };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(EXIT_USAGE_OR_IO);
        }
    };
    let summary = match runtime.block_on(local::run(plan, options)) {
        Ok(summary) => summary,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_USAGE_OR_IO);
        }
    };
    runtime.shutdown_background();
    if summary.already_fed > 0 {
        eprintln!("{} dropped file(s) were fed before and were skipped", summary.already_fed);
    }
    eprintln!(
        "{} run(s) succeeded, {} failed; outputs in {}",
        summary.succeeded,
        summary.failures.len(),
        state.join("out").display()
    );
    for failure in &summary.failures {
        eprintln!("{}", failure_text(failure));
    }
    if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INPUT_ERRORS)
    }
}

fn failure_text(run: &RunRecord) -> String {
    let status = run.exit_status.map_or_else(|| "did not exit".to_owned(), |code| format!("exit status {code}"));
    let mut text = format!("failed: task `{}` run {} ({status}, {} attempt(s))", run.task, run.run, run.attempts);
    if let Some(tail) = run.stderr_tail.as_deref().filter(|t| !t.is_empty()) {
        for line in tail.lines() {
            text.push_str("\n  | ");
            text.push_str(line);
        }
    }
    text
}

/// Where `log` and `trace` read provenance: a local run's state
/// directory, or a deployed pipeline (through its gateway).
pub enum HistorySource {
    Local(PathBuf),
    Deployed { pipeline: String, target: Target },
}

impl HistorySource {
    pub fn new(state: PathBuf, pipeline: Option<String>, target: Target) -> HistorySource {
        match pipeline {
            Some(pipeline) => HistorySource::Deployed { pipeline, target },
            None => HistorySource::Local(state),
        }
    }

    fn describe(&self) -> String {
        match self {
            HistorySource::Local(state) => state.display().to_string(),
            HistorySource::Deployed { pipeline, .. } => format!("the deployed pipeline {pipeline}"),
        }
    }
}

fn load_history(source: &HistorySource) -> Result<History, ExitCode> {
    match source {
        HistorySource::Local(state) => History::load(state).map_err(|error| {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_USAGE_OR_IO)
        }),
        HistorySource::Deployed { pipeline, target } => super::cluster::deployed_history(pipeline, target),
    }
}

pub fn log(source: &HistorySource, task: Option<&str>, json: bool) -> ExitCode {
    let history = match load_history(source) {
        Ok(history) => history,
        Err(code) => return code,
    };
    let mut text = String::new();
    for run in history.runs_in_order(task) {
        if json {
            text.push_str(&serde_json::to_string(run).unwrap_or_default());
        } else {
            let status = match run.status {
                RunStatus::Pending => "pending",
                RunStatus::Running => "running",
                RunStatus::Succeeded => "ok",
                RunStatus::Failed => "FAILED",
                RunStatus::Replaced => "replaced",
            };
            let mut inputs: Vec<String> =
                run.snapshot.iter().map(|input| format!("{}=[{}]", input.input, input.avs.join(","))).collect();
            inputs.extend(run.services.iter().map(|s| format!("{}=revision {} of {}", s.input, s.revision, s.task)));
            text.push_str(&format!(
                "{} {} #{} {status} in: {} out: {}",
                run.assembled,
                run.task,
                run.run,
                inputs.join(" "),
                if run.outputs.is_empty() { "-".to_owned() } else { run.outputs.join(",") }
            ));
            if run.status == RunStatus::Failed {
                text.push_str(&format!("\n{}", failure_text(run)));
            }
        }
        text.push('\n');
    }
    if write_stdout(&text).is_err() {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    ExitCode::SUCCESS
}

pub fn trace(source: &HistorySource, target: &str, format: TraceFormat) -> ExitCode {
    let history = match load_history(source) {
        Ok(history) => history,
        Err(code) => return code,
    };
    let Some(av) = history.resolve(target) else {
        eprintln!("error: no artifact `{target}` in {}", source.describe());
        return ExitCode::from(EXIT_USAGE_OR_IO);
    };
    let steps = history.trace(av);
    let mut out = std::io::stdout().lock();
    let written = match format {
        TraceFormat::Json => {
            steps.iter().try_for_each(|step| writeln!(out, "{}", serde_json::to_string(step).unwrap_or_default()))
        }
        TraceFormat::Text => steps.iter().try_for_each(|step| {
            let indent = "  ".repeat(step.depth);
            let av = step.av;
            let gone =
                av.removed.as_ref().map(|at| format!("; payload removed by retention at {at}")).unwrap_or_default();
            match step.run {
                Some(run) => {
                    let services: String = run
                        .services
                        .iter()
                        .map(|s| {
                            format!(", calling service `{}` revision {} of task `{}`", s.input, s.revision, s.task)
                        })
                        .collect();
                    writeln!(
                        out,
                        "{indent}{} ({}, {}) made by task `{}` run {} at {}, definition {}{services}{gone}",
                        av.id, av.wire, av.content, av.task, run.run, av.created, run.definition
                    )
                }
                None => writeln!(
                    out,
                    "{indent}{} ({}, {}) pipeline input `{}` dropped at {}{gone}",
                    av.id, av.wire, av.content, av.name, av.created
                ),
            }
        }),
        TraceFormat::Dot => {
            let mut text = String::from("digraph trace {\n  rankdir=LR;\n");
            for step in &steps {
                text.push_str(&format!("  \"{}\" [label=\"{}\\n{}\"];\n", step.av.id, step.av.wire, step.av.task));
                for input in &step.av.inputs {
                    text.push_str(&format!("  \"{input}\" -> \"{}\";\n", step.av.id));
                }
            }
            text.push_str("}\n");
            out.write_all(text.as_bytes())
        }
    };
    if written.and_then(|_| out.flush()).is_err() {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    ExitCode::SUCCESS
}
