//! The command line's arguments: every command and its options, as clap
//! derives them. The commands themselves are in `commands/`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "koaljac", version, about = "The Koalja pipeline compiler")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// Which way the layers run: left to right, or top to bottom (svg,
        /// dot and mermaid; json has no layout).
        #[arg(long, value_enum, default_value_t = GraphDirection::Right)]
        direction: GraphDirection,
        /// Write here instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Lower pipelines to Kubernetes objects (refuses a file with errors).
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
    Deploy {
        file: PathBuf,
        #[command(flatten)]
        target: Target,
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
        #[arg(long, default_value = "5m", value_parser = parse_duration)]
        timeout: Duration,
        /// Take over fields another field manager owns.
        #[arg(long)]
        force_conflicts: bool,
    },
    /// What a deploy would change, per object and field; exit 1 if anything.
    Diff {
        file: PathBuf,
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        agent_image: Option<String>,
    },
    /// Remove a deployed pipeline (its data only with --delete-data).
    Delete {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        target: Target,
        /// Also delete the claims holding the agents' state and the
        /// gateway's files. Without it no data is lost.
        #[arg(long)]
        delete_data: bool,
        /// Wait until everything is gone.
        #[arg(long)]
        wait: bool,
        #[arg(long, default_value = "2m", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Each task's readiness on the cluster and its runs, via the gateway.
    Status {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        target: Target,
    },
    /// Feed files into a deployed pipeline's inputs, through the API
    /// server's service proxy (`koaljac drop FILE in=data/`, or
    /// `koaljac drop --pipeline NS/NAME in=data/`).
    Drop {
        /// The pipeline's namespace and name, instead of its file.
        #[arg(long, value_name = "NAMESPACE/NAME")]
        pipeline: Option<String>,
        /// The pipeline file (unless `--pipeline`), then `WIRE=PATH`: a
        /// file, or every file of a directory in name order.
        #[arg(required = true, value_name = "FILE] [WIRE=PATH")]
        args: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Fetch a deployed pipeline's outputs into `DIR/<wire>/` (only those
    /// not already there), through the API server's service proxy.
    Fetch {
        /// The pipeline's namespace and name, instead of its file.
        #[arg(long, value_name = "NAMESPACE/NAME")]
        pipeline: Option<String>,
        /// The pipeline file (unless `--pipeline`), then the output wires
        /// to fetch (default: every one).
        #[arg(value_name = "FILE] [WIRE")]
        args: Vec<String>,
        /// Where to put them.
        #[arg(short = 'o', long = "output", default_value = ".")]
        output: PathBuf,
        /// Keep fetching outputs as they are made, until interrupted
        /// (Ctrl-C or SIGTERM: exit 0).
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Run the pipeline on this machine: no cluster, no daemon.
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
    Log {
        /// Only this task.
        task: Option<String>,
        #[arg(long, default_value = ".koalja")]
        state: PathBuf,
        /// A deployed pipeline's runs instead, gathered by its gateway.
        #[arg(long, value_name = "NAMESPACE/NAME", conflicts_with = "state")]
        pipeline: Option<String>,
        /// One JSON object per run, per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Walk an artifact back to the pipeline inputs it came from.
    Trace {
        /// An AV id, or the path of an output file.
        artifact: String,
        #[arg(long, default_value = ".koalja")]
        state: PathBuf,
        /// A deployed pipeline's artifact instead (`koaljac fetch` paths
        /// name their AV too).
        #[arg(long, value_name = "NAMESPACE/NAME", conflicts_with = "state")]
        pipeline: Option<String>,
        /// One JSON object per artifact, per line.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        #[arg(long, value_enum, default_value_t = TraceFormat::Text)]
        format: TraceFormat,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestFormat {
    Yaml,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
    Svg,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphDirection {
    Right,
    Down,
}

impl From<GraphDirection> for koalja_compiler::graph::layout::Direction {
    fn from(direction: GraphDirection) -> Self {
        match direction {
            GraphDirection::Right => Self::Right,
            GraphDirection::Down => Self::Down,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    Ir,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    Warnings,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Where the cluster commands talk to.
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// The kube config context (default: the current one).
    #[arg(long)]
    pub context: Option<String>,
    /// The kube config file (default: `KUBECONFIG`, then `~/.kube/config`,
    /// then the in-cluster service account).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Deploy into this namespace instead of the one the file's header names.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
}

/// A pipeline named by its file, or by `NAMESPACE/NAME` on the cluster.
#[derive(clap::Args, Clone, Debug)]
#[group(required = true, multiple = false)]
pub struct Which {
    pub file: Option<PathBuf>,
    /// The pipeline's namespace and name, as its header gives them.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub pipeline: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    Text,
    Json,
    Dot,
}

/// `WIRE=PATH` (of `run --drop` and `drop`), both parts non-empty.
pub fn wire_path(spec: &str) -> Option<(&str, &str)> {
    spec.split_once('=').filter(|(wire, path)| !wire.is_empty() && !path.is_empty())
}

/// `--timeout 5m`, `90s`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration like 90s or 5m: {e}"))
}
