//! `koaljac`: the command line. The only place in the compiler that touches
//! files, the terminal and exit codes. Exit codes: 0 clean (warnings allowed
//! unless `--deny warnings`), 1 errors in the input (or a `fmt --check`
//! difference), 2 usage or I/O errors.

#[cfg(feature = "cluster")]
mod cluster;
mod files;
mod heap;
mod panic;
#[cfg(feature = "local-run")]
mod run;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use koalja_compiler::analysis::{analyze, pipeline_name_for_path, Analysis};
use koalja_compiler::diagnostic::Code;
use koalja_compiler::render::{self, FileReport};

#[derive(Parser)]
#[command(name = "koaljac", version, about = "The Koalja pipeline compiler")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check files (or every `*.kja` under directories) and print diagnostics.
    Check {
        /// Files or directories; `-` reads standard input.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
        /// `--deny warnings` makes warnings fail the check.
        #[arg(long, value_enum)]
        deny: Option<Deny>,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Also print the checked graph IR as JSON on stdout (diagnostics
        /// then go to stderr). Takes one file.
        #[arg(long, value_enum)]
        emit: Option<Emit>,
    },
    /// Draw the pipeline's designed map (even when the file has errors).
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Write here instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Lower pipelines to Kubernetes objects (refuses a file with errors).
    #[cfg(feature = "kubernetes")]
    Build {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ManifestFormat::Yaml)]
        format: ManifestFormat,
        /// Write one file per pipeline into this directory instead of stdout.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// The image holding the static koalja-agent binary.
        #[arg(long)]
        agent_image: Option<String>,
        /// Put every object into this namespace instead of the one the
        /// file's header names (as `deploy --namespace` does).
        #[arg(long, short = 'n')]
        namespace: Option<String>,
    },
    /// Describe each task: when it runs, what it sees, its command expanded.
    Describe {
        file: PathBuf,
        /// Only this task.
        task: Option<String>,
    },
    /// Format files in place (or check that they are formatted).
    Fmt {
        /// Files or directories; `-` formats standard input to standard output.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing; print a diff and exit 1 if a file would change.
        #[arg(long)]
        check: bool,
    },
    /// Explain a diagnostic code, or list them all.
    Explain {
        /// A code such as K0016.
        code: Option<String>,
    },
    /// Apply the pipeline to a cluster: server-side apply in dependency
    /// order, prune what the file no longer has, wait for the rollout.
    #[cfg(feature = "cluster")]
    Deploy {
        file: PathBuf,
        #[command(flatten)]
        target: cluster::Target,
        /// The image holding the static koalja-agent binary.
        #[arg(long)]
        agent_image: Option<String>,
        /// Send dry-run requests and print the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Wait for every workload to be ready (the default).
        #[arg(long, overrides_with = "no_wait")]
        wait: bool,
        /// Return once everything is applied.
        #[arg(long, overrides_with = "wait")]
        no_wait: bool,
        /// How long to wait for the rollout.
        #[arg(long, default_value = "5m", value_parser = cluster::parse_duration)]
        timeout: std::time::Duration,
        /// Take over fields another field manager owns.
        #[arg(long)]
        force_conflicts: bool,
    },
    /// What a deploy would change, per object and field; exit 1 if anything.
    #[cfg(feature = "cluster")]
    Diff {
        file: PathBuf,
        #[command(flatten)]
        target: cluster::Target,
        #[arg(long)]
        agent_image: Option<String>,
    },
    /// Remove a deployed pipeline (its data only with --delete-data).
    #[cfg(feature = "cluster")]
    Delete {
        #[command(flatten)]
        which: cluster::Which,
        #[command(flatten)]
        target: cluster::Target,
        /// Also delete the claims holding the agents' state and the
        /// gateway's files. Without it no data is lost.
        #[arg(long)]
        delete_data: bool,
        /// Wait until everything is gone.
        #[arg(long)]
        wait: bool,
        #[arg(long, default_value = "2m", value_parser = cluster::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Each task's readiness on the cluster and its runs, via the gateway.
    #[cfg(feature = "cluster")]
    Status {
        #[command(flatten)]
        which: cluster::Which,
        #[command(flatten)]
        target: cluster::Target,
    },
    /// Run the pipeline on this machine: no cluster, no daemon.
    #[cfg(feature = "local-run")]
    Run {
        file: PathBuf,
        /// The state directory (default: `.koalja/` beside the file). Running
        /// again on the same state continues where the last run stopped.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Feed a file, or every file of a directory in name order, into a
        /// pipeline input: `--drop in=data/`.
        #[arg(long = "drop", value_name = "WIRE=PATH")]
        drops: Vec<String>,
        /// At most this many user processes at once (default: the cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Keep running and feed files put into `STATE/in/<wire>/`.
        #[arg(long)]
        watch: bool,
    },
    /// List the runs of a local run (every task's, or one task's).
    #[cfg(feature = "local-run")]
    Log {
        /// Only this task.
        task: Option<String>,
        #[arg(long, default_value = ".koalja")]
        state: PathBuf,
        /// One JSON object per run, per line.
        #[arg(long)]
        json: bool,
    },
    /// Walk an artifact back to the pipeline inputs it came from.
    #[cfg(feature = "local-run")]
    Trace {
        /// An AV id, or the path of an output file.
        artifact: String,
        #[arg(long, default_value = ".koalja")]
        state: PathBuf,
        /// One JSON object per artifact, per line.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        #[arg(long, value_enum, default_value_t = run::TraceFormat::Text)]
        format: run::TraceFormat,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ManifestFormat {
    Yaml,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
    Json,
    Svg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    Ir,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Deny {
    Warnings,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

const EXIT_INPUT_ERRORS: u8 = 1;
const EXIT_USAGE_OR_IO: u8 = 2;

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
            check(&paths, message_format, deny.is_some(), color)
        }
        Command::Check { paths, deny, emit: Some(Emit::Ir), .. } => emit_ir(&paths, deny.is_some()),
        Command::Describe { file, task } => describe(&file, task.as_deref()),
        Command::Graph { file, format, output } => graph(&file, format, output.as_deref()),
        #[cfg(feature = "kubernetes")]
        Command::Build { paths, format, output, agent_image, namespace } => {
            build(&paths, format, output.as_deref(), build_options(agent_image, namespace))
        }
        Command::Fmt { paths, check } => fmt(&paths, check),
        Command::Explain { code } => explain(code.as_deref()),
        #[cfg(feature = "cluster")]
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
        #[cfg(feature = "cluster")]
        Command::Diff { file, target, agent_image } => cluster::diff(&file, &target, agent_image),
        #[cfg(feature = "cluster")]
        Command::Delete { which, target, delete_data, wait, timeout } => {
            cluster::delete(&which, &target, delete_data, wait, timeout)
        }
        #[cfg(feature = "cluster")]
        Command::Status { which, target } => cluster::status(&which, &target),
        #[cfg(feature = "local-run")]
        Command::Run { file, state, drops, jobs, watch } => run::run(&file, state, &drops, jobs, watch),
        #[cfg(feature = "local-run")]
        Command::Log { task, state, json } => run::log(&state, task.as_deref(), json),
        #[cfg(feature = "local-run")]
        Command::Trace { artifact, state, json, format } => {
            run::trace(&state, &artifact, if json { run::TraceFormat::Json } else { format })
        }
    }
}

/// A file read and analysed, or the I/O error that stopped it.
struct Loaded {
    display: String,
    path: Option<PathBuf>,
    analysis: Analysis,
}

fn load_all(paths: &[PathBuf]) -> (Vec<Loaded>, bool) {
    let mut loaded = Vec::new();
    let mut io_failed = false;
    for input in files::expand(paths) {
        match input {
            Ok(files::Input::Stdin(bytes)) => {
                loaded.push(Loaded { display: "<stdin>".to_owned(), path: None, analysis: analyze(&bytes, "stdin") })
            }
            Ok(files::Input::File(path, bytes)) => loaded.push(Loaded {
                display: path.display().to_string(),
                analysis: analyze(&bytes, &pipeline_name_for_path(&path)),
                path: Some(path),
            }),
            Err(message) => {
                eprintln!("error: {message}");
                io_failed = true;
            }
        }
    }
    (loaded, io_failed)
}

fn check(paths: &[PathBuf], format: MessageFormat, deny_warnings: bool, color: Color) -> ExitCode {
    let (loaded, io_failed) = load_all(paths);
    let reports: Vec<FileReport<'_>> =
        loaded.iter().map(|l| FileReport { path: &l.display, analysis: &l.analysis }).collect();
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        MessageFormat::Human => {
            reports.iter().try_for_each(|r| stdout.write_all(render::human::render(r, color).as_bytes()))
        }
        MessageFormat::Json => reports.iter().try_for_each(|r| stdout.write_all(render::json::render(r).as_bytes())),
        MessageFormat::Sarif => stdout.write_all(render::sarif::render(&reports).as_bytes()),
    };
    let errors: usize = reports.iter().map(|r| r.analysis.error_count()).sum();
    let warnings: usize = reports.iter().map(|r| r.analysis.warning_count()).sum();
    if format == MessageFormat::Human {
        let _ = writeln!(
            stdout,
            "checked {} file{}: {errors} error{}, {warnings} warning{}",
            reports.len(),
            plural(reports.len()),
            plural(errors),
            plural(warnings)
        );
    }
    let flushed = stdout.flush();
    drop(reports);
    // Freeing every tree and model node one by one costs a sixth of a large
    // check, and the process is about to exit: let the OS reclaim it.
    std::mem::forget(loaded);
    if written.is_err() || flushed.is_err() || io_failed {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        return ExitCode::from(EXIT_INPUT_ERRORS);
    }
    ExitCode::SUCCESS
}

/// Loads exactly one file, printing diagnostics to stderr; `Err` is the exit code.
fn load_one(paths: &[PathBuf], what: &str) -> Result<Loaded, ExitCode> {
    let (mut loaded, io_failed) = load_all(paths);
    if io_failed {
        return Err(ExitCode::from(EXIT_USAGE_OR_IO));
    }
    if loaded.len() != 1 {
        eprintln!("error: {what} takes exactly one file, got {}", loaded.len());
        return Err(ExitCode::from(EXIT_USAGE_OR_IO));
    }
    let file = loaded.remove(0);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", render::human::render(&FileReport { path: &file.display, analysis: &file.analysis }, color));
    Ok(file)
}

fn input_exit_code(analysis: &Analysis, deny_warnings: bool) -> ExitCode {
    if analysis.error_count() > 0 || (deny_warnings && analysis.warning_count() > 0) {
        ExitCode::from(EXIT_INPUT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

/// `check --emit ir`: the IR even for a file with errors (error nodes mark
/// what did not parse), and exit 1 then, so scripts cannot miss it.
fn emit_ir(paths: &[PathBuf], deny_warnings: bool) -> ExitCode {
    let file = match load_one(paths, "--emit ir") {
        Ok(file) => file,
        Err(code) => return code,
    };
    let ir = koalja_compiler::ir::Ir::from_analysis(&file.analysis);
    if write_stdout(&ir.to_json()).is_err() {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    input_exit_code(&file.analysis, deny_warnings)
}

fn graph(path: &Path, format: GraphFormat, output: Option<&Path>) -> ExitCode {
    use koalja_compiler::graph::{dot, json, mermaid, svg, GraphView};
    let file = match load_one(std::slice::from_ref(&path.to_path_buf()), "graph") {
        Ok(file) => file,
        Err(code) => return code,
    };
    let ir = koalja_compiler::ir::Ir::from_analysis(&file.analysis);
    let view = GraphView::from_ir(&ir);
    let drawing = match format {
        GraphFormat::Dot => dot::render(&view),
        GraphFormat::Mermaid => mermaid::render(&view),
        GraphFormat::Json => json::render(&view, &file.analysis),
        GraphFormat::Svg => svg::render(&view),
    };
    let written = match output {
        Some(target) => write_atomically(target, |out| out.write_all(drawing.as_bytes())).map_err(|error| {
            eprintln!("error: cannot write {}: {error}", target.display());
        }),
        None => write_stdout(&drawing).map_err(|_| ()),
    };
    if written.is_err() {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    input_exit_code(&file.analysis, false)
}

/// Build options from the command line: `--agent-image`, and the cluster
/// commands' `--namespace`.
#[cfg(feature = "kubernetes")]
fn build_options(agent_image: Option<String>, namespace: Option<String>) -> koalja_compiler::lower::BuildOptions {
    let defaults = koalja_compiler::lower::BuildOptions::default();
    koalja_compiler::lower::BuildOptions {
        agent_image: agent_image.unwrap_or(defaults.agent_image),
        namespace,
        ..defaults
    }
}

/// Prints why `file` does not build: its errors, or the tasks without an
/// image, as `check` shows diagnostics.
#[cfg(feature = "kubernetes")]
fn print_build_refusal(file: &Loaded, diagnostics: Vec<koalja_compiler::diagnostic::Diagnostic>) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut shown = file.analysis.clone();
    shown.diagnostics = diagnostics;
    eprint!("{}", render::human::render(&FileReport { path: &file.display, analysis: &shown }, color));
}

/// `build`: every file must build, or nothing is written at all.
#[cfg(feature = "kubernetes")]
fn build(
    paths: &[PathBuf],
    format: ManifestFormat,
    output: Option<&Path>,
    options: koalja_compiler::lower::BuildOptions,
) -> ExitCode {
    use koalja_compiler::lower::{self, Manifests};
    let (loaded, io_failed) = load_all(paths);
    if io_failed {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    let mut built: Vec<(String, Manifests)> = Vec::new();
    let mut failed = false;
    for file in &loaded {
        match lower::build(&file.analysis, &options) {
            Ok(manifests) => {
                let pipeline = &file.analysis.pipeline;
                built.push((format!("{}-{}", manifests.namespace(), pipeline.name), manifests));
            }
            Err(diagnostics) => {
                failed = true;
                print_build_refusal(file, diagnostics);
            }
        }
    }
    if failed {
        eprintln!("error: nothing was built");
        return ExitCode::from(EXIT_INPUT_ERRORS);
    }
    let write = |manifests: &Manifests, out: &mut dyn Write| match format {
        ManifestFormat::Yaml => manifests.write_yaml(out),
        ManifestFormat::Json => manifests.write_json(out),
    };
    let extension = match format {
        ManifestFormat::Yaml => "yaml",
        ManifestFormat::Json => "json",
    };
    let written = match output {
        None => {
            let mut stdout = std::io::stdout().lock();
            built.iter().all(|(_, manifests)| write(manifests, &mut stdout).is_ok()) && stdout.flush().is_ok()
        }
        Some(directory) => {
            std::fs::create_dir_all(directory).is_ok()
                && built.iter().all(|(name, manifests)| {
                    let target = directory.join(format!("{name}.{extension}"));
                    write_atomically(&target, |out| write(manifests, out))
                        .map_err(|e| eprintln!("error: cannot write {}: {e}", target.display()))
                        .is_ok()
                })
        }
    };
    // As in `check`: the process is about to exit, so let the OS reclaim
    // the trees rather than free them node by node.
    std::mem::forget(built);
    std::mem::forget(loaded);
    if written {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_USAGE_OR_IO)
    }
}

fn describe(path: &Path, task: Option<&str>) -> ExitCode {
    let file = match load_one(std::slice::from_ref(&path.to_path_buf()), "describe") {
        Ok(file) => file,
        Err(code) => return code,
    };
    let ir = koalja_compiler::ir::Ir::from_analysis(&file.analysis);
    match render::describe::describe(&ir, task) {
        Some(text) => {
            if write_stdout(&text).is_err() {
                return ExitCode::from(EXIT_USAGE_OR_IO);
            }
            input_exit_code(&file.analysis, false)
        }
        None => {
            eprintln!("error: {} has no task `{}`", file.display, task.unwrap_or_default());
            ExitCode::from(EXIT_USAGE_OR_IO)
        }
    }
}

fn fmt(paths: &[PathBuf], check_only: bool) -> ExitCode {
    let (loaded, mut io_failed) = load_all(paths);
    let mut input_errors = false;
    for file in &loaded {
        let Some(formatted) = koalja_compiler::format::format(&file.analysis) else {
            eprint!("{}", render::human::render(&FileReport { path: &file.display, analysis: &file.analysis }, false));
            eprintln!("error: {} has syntax errors; it was left unchanged", file.display);
            input_errors = true;
            continue;
        };
        if file.path.is_none() {
            if write_stdout(&formatted).is_err() {
                return ExitCode::from(EXIT_USAGE_OR_IO);
            }
            continue;
        }
        if formatted == file.analysis.text {
            continue;
        }
        if check_only {
            input_errors = true;
            if write_stdout(&unified_diff(&file.display, &file.analysis.text, &formatted)).is_err() {
                break; // The reader went away (`| head`): the answer is already 1.
            }
        } else if let Some(path) = &file.path {
            match write_atomically(path, |out| out.write_all(formatted.as_bytes())) {
                Ok(()) => eprintln!("formatted {}", file.display),
                Err(error) => {
                    eprintln!("error: cannot write {}: {error}", file.display);
                    io_failed = true;
                }
            }
        }
    }
    if io_failed {
        ExitCode::from(EXIT_USAGE_OR_IO)
    } else if input_errors {
        ExitCode::from(EXIT_INPUT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (original)"), &format!("{name} (formatted)"))
        .to_string()
}

/// Writes `path` through a temporary file beside it and a rename, so a
/// failed write never leaves a half-written file (a source file under
/// `fmt`, or manifests).
fn write_atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.koaljac-tmp"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
    if let Err(error) = write(&mut file).and_then(|()| file.flush()) {
        drop(file);
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    drop(file);
    if let Ok(metadata) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temporary, metadata.permissions());
    }
    std::fs::rename(&temporary, path)
}

fn explain(code: Option<&str>) -> ExitCode {
    let Some(code) = code else {
        let list: String = Code::ALL
            .iter()
            .map(|code| format!("{}  {:<8} {}\n", code.as_str(), code.severity().as_str(), code.name()))
            .collect();
        return if write_stdout(&list).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_USAGE_OR_IO) };
    };
    match Code::parse(code) {
        Some(code) => match write_stdout(code.explanation()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(EXIT_USAGE_OR_IO),
        },
        None => {
            eprintln!("error: `{code}` is not a Koalja diagnostic code; `koaljac explain` lists them");
            ExitCode::from(EXIT_USAGE_OR_IO)
        }
    }
}

/// Writes to stdout without panicking when the reader has gone away.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
