//! `koaljac deploy`, `diff`, `delete` and `status`: the cluster commands'
//! command-line side (the work is in the library's `koaljac::cluster`). Exit
//! status: 0 done (for `diff`: nothing would change), 1 the file has errors,
//! a rollout did not finish in time, or `diff` found changes, 2 the cluster
//! refused or could not be reached (and every usage or I/O error).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use koalja_compiler::check::names::kubernetes_name;
use koalja_compiler::lower::{self, Manifests};
use koaljac::cluster::apply::{self, Action, ApplyOptions, Failure, Step};
use koaljac::cluster::rollout::{self, Rollout, RolloutError};
use koaljac::cluster::{data, remove, status, token, Cluster, ClusterError};

use koalja_agent::files::files_of;
use koalja_agent::provenance::History;

use crate::args::{wire_path, Target, Which};
use crate::commands::build::{build_options, print_build_refusal};
use crate::load::{load_all, Loaded};
use crate::output::{EXIT_INPUT_ERRORS, EXIT_USAGE_OR_IO};

pub struct DeployRequest {
    pub file: PathBuf,
    pub target: Target,
    pub agent_image: Option<String>,
    pub dry_run: bool,
    pub wait: bool,
    pub timeout: Duration,
    pub force_conflicts: bool,
}

/// Connects to the target's cluster and does `work` there; a cluster that
/// cannot be connected to ends the command with its error (exit 2).
fn on_cluster(target: &Target, work: impl AsyncFnOnce(Cluster) -> ExitCode) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_USAGE_OR_IO);
        }
    };
    runtime.block_on(async {
        match Cluster::connect(target.kubeconfig.as_deref(), target.context.as_deref()).await {
            Ok(cluster) => work(cluster).await,
            Err(error) => cluster_failed(error),
        }
    })
}

/// Checks and lowers `file`; prints its diagnostics and `None` when it does
/// not build (nothing is sent to the cluster then). The file comes back
/// too, to trace a refused object to its place in it.
fn lowered(file: &Path, target: &Target, agent_image: Option<String>) -> Result<(Manifests, Loaded), ExitCode> {
    let (loaded, io_failed) = load_all(std::slice::from_ref(&file.to_path_buf()));
    let Some(file) = loaded.into_iter().next().filter(|_| !io_failed) else {
        return Err(ExitCode::from(EXIT_USAGE_OR_IO));
    };
    let options = build_options(agent_image, target.namespace.clone());
    match lower::build(&file.analysis, &options) {
        Ok(manifests) => Ok((manifests, file)),
        Err(diagnostics) => {
            print_build_refusal(&file, diagnostics);
            eprintln!("error: nothing was sent to the cluster");
            Err(ExitCode::from(EXIT_INPUT_ERRORS))
        }
    }
}

/// Where in the file the object `kind name` of `manifests` comes from:
/// "task `count` (lines.kja:3:1, its task block at lines.kja:6:1)", "the
/// pipeline's gateway", or "the pipeline as a whole" for the IR, the
/// accounts and the default-deny policy.
fn source_of(file: &Loaded, manifests: &Manifests, kind: &str, name: &str) -> Option<String> {
    let objects = manifests.objects();
    let object = objects.iter().find(|o| o.kind() == kind && o.name() == name)?;
    let label = object.metadata().labels.as_ref().and_then(|labels| labels.get(lower::TASK));
    let analysis = &file.analysis;
    let at = |offset: u32| {
        let position = analysis.line_index.line_column(&analysis.text, offset);
        format!("{}:{}:{}", file.display, position.line, position.column)
    };
    let task = label.and_then(|label| {
        analysis.pipeline.tasks.iter().find(|task| kubernetes_name(&task.name).as_str() == label.as_str())
    });
    Some(match task {
        Some(task) => match task.block_span {
            Some(block) => {
                format!("task `{}` ({}, its task block at {})", task.name, at(task.span.start), at(block.start))
            }
            None => format!("task `{}` ({})", task.name, at(task.span.start)),
        },
        None if label.is_some_and(|l| l == "gateway") => format!("the pipeline's gateway ({})", file.display),
        None => format!("the pipeline as a whole ({})", file.display),
    })
}

fn cluster_failed(error: ClusterError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(error.exit_code() as u8)
}

fn print_step(step: &Step) {
    println!("  {:<11} {} {}", step.action.as_str(), step.kind, step.name);
}

/// A failed apply, prune or delete: the error, the object it came from in
/// the file (when the file is known), and what was and was not done.
fn print_failure(failure: &Failure, from: Option<(&Loaded, &Manifests)>) -> ExitCode {
    eprintln!("error: {}", failure.error);
    let source = from.zip(failure.refused.as_ref()).and_then(|((file, manifests), (kind, name))| {
        source_of(file, manifests, kind, name).map(|source| (kind, name, source))
    });
    if let Some((kind, name, source)) = source {
        eprintln!("  --> {kind} {name} is made for {source}");
    }
    // Every step done, unchanged ones too: those were applied (as no-ops).
    let done: Vec<String> =
        failure.done.iter().map(|s| format!("{} {} ({})", s.kind, s.name, s.action.as_str())).collect();
    eprintln!("done before the error ({}): {}", done.len(), list_or_none(&done));
    eprintln!("not applied ({}): {}", failure.not_applied.len(), list_or_none(&failure.not_applied));
    ExitCode::from(failure.error.exit_code() as u8)
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// "3 create, 9 unchanged, 1 prune".
fn summary(steps: &[Step]) -> String {
    let mut counts: Vec<(Action, usize)> = Vec::new();
    for step in steps {
        match counts.iter_mut().find(|(action, _)| *action == step.action) {
            Some((_, count)) => *count += 1,
            None => counts.push((step.action, 1)),
        }
    }
    counts.iter().map(|(action, count)| format!("{count} {}", action.as_str())).collect::<Vec<_>>().join(", ")
}

pub fn deploy(request: DeployRequest) -> ExitCode {
    let (manifests, file) = match lowered(&request.file, &request.target, request.agent_image.clone()) {
        Ok(lowered) => lowered,
        Err(code) => return code,
    };
    on_cluster(&request.target, async |cluster| {
        let verb = if request.dry_run { "plan for" } else { "deploying" };
        println!(
            "{verb} {}/{} on {} ({} objects)",
            manifests.namespace(),
            manifests.pipeline(),
            cluster.name,
            manifests.len()
        );
        let options = ApplyOptions { dry_run: request.dry_run, force_conflicts: request.force_conflicts };
        let steps = match apply::deploy(&cluster, &manifests, options, &mut print_step).await {
            Ok(steps) => steps,
            Err(failure) => return print_failure(&failure, Some((&file, &manifests))),
        };
        if request.dry_run {
            println!("dry run, nothing changed: {}", summary(&steps));
            return ExitCode::SUCCESS;
        }
        println!("applied: {}", summary(&steps));
        if !request.wait {
            return ExitCode::SUCCESS;
        }
        let workloads = apply::workloads(&steps);
        wait_for_rollout(&cluster, manifests.namespace(), manifests.pipeline(), &workloads, request.timeout).await
    })
}

async fn wait_for_rollout(
    cluster: &Cluster,
    namespace: &str,
    pipeline: &str,
    workloads: &[(String, String)],
    timeout: Duration,
) -> ExitCode {
    println!("waiting up to {} for {} workloads", humantime::format_duration(timeout), workloads.len());
    let mut display = Progress::new(workloads);
    let result = rollout::wait(cluster, namespace, pipeline, workloads, timeout, Duration::from_secs(2), &mut |seen| {
        display.show(seen)
    })
    .await;
    display.finish();
    match result {
        Ok(_) => {
            println!("ready: {} workloads", workloads.len());
            ExitCode::SUCCESS
        }
        Err(RolloutError::TimedOut { waited, not_ready }) => {
            eprintln!("error: not ready after {}:", humantime::format_duration(Duration::from_secs(waited.as_secs())));
            for rollout in &not_ready {
                eprintln!(
                    "  {} {}: {}/{} ready, {} updated",
                    rollout.kind, rollout.name, rollout.ready, rollout.desired, rollout.updated
                );
            }
            eprintln!("the objects are applied; `koaljac status` shows how the tasks are doing");
            ExitCode::from(EXIT_INPUT_ERRORS)
        }
        Err(RolloutError::Cluster(error)) => cluster_failed(error),
    }
}

/// Rollout progress: a bar per workload on a terminal, a line per change
/// otherwise (logs and CI keep every state they saw).
struct Progress {
    bars: Option<(indicatif::MultiProgress, Vec<indicatif::ProgressBar>)>,
    last: Vec<Option<Rollout>>,
}

impl Progress {
    fn new(workloads: &[(String, String)]) -> Progress {
        let bars = std::io::stdout().is_terminal().then(|| {
            let multi = indicatif::MultiProgress::new();
            let style = indicatif::ProgressStyle::with_template("  {spinner} {pos}/{len} ready  {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            let bars = workloads
                .iter()
                .map(|(kind, name)| {
                    let bar = multi.add(indicatif::ProgressBar::new(1).with_style(style.clone()));
                    bar.set_message(format!("{kind} {name}"));
                    bar
                })
                .collect();
            (multi, bars)
        });
        Progress { bars, last: vec![None; workloads.len()] }
    }

    fn show(&mut self, seen: &[Rollout]) {
        for (index, rollout) in seen.iter().enumerate() {
            match &self.bars {
                Some((_, bars)) => {
                    if let Some(bar) = bars.get(index) {
                        bar.set_length(rollout.desired.max(0) as u64);
                        bar.set_position(rollout.ready.max(0) as u64);
                        bar.tick();
                    }
                }
                None => {
                    if self.last.get(index).and_then(Option::as_ref) != Some(rollout) {
                        let state = if rollout.is_done() { "ready" } else { "rolling out" };
                        println!(
                            "  {} {}: {}/{} ready ({state})",
                            rollout.kind, rollout.name, rollout.ready, rollout.desired
                        );
                    }
                }
            }
            if let Some(last) = self.last.get_mut(index) {
                *last = Some(rollout.clone());
            }
        }
    }

    fn finish(&self) {
        if let Some((_, bars)) = &self.bars {
            bars.iter().for_each(indicatif::ProgressBar::finish);
        }
    }
}

pub fn diff(file: &Path, target: &Target, agent_image: Option<String>) -> ExitCode {
    let (manifests, file) = match lowered(file, target, agent_image) {
        Ok(lowered) => lowered,
        Err(code) => return code,
    };
    on_cluster(target, async |cluster| {
        let options = ApplyOptions { dry_run: true, force_conflicts: false };
        let steps = match apply::deploy(&cluster, &manifests, options, &mut |_| {}).await {
            Ok(steps) => steps,
            Err(failure) => return print_failure(&failure, Some((&file, &manifests))),
        };
        // The file's objects; the link token only when deploy would make it
        // (it is in no file, and never changes once made).
        let steps: Vec<Step> =
            steps.into_iter().filter(|s| !(s.kind == token::KIND && s.action == Action::Unchanged)).collect();
        let changing: Vec<&Step> = steps.iter().filter(|s| s.action.changes_cluster()).collect();
        for step in &changing {
            let sign = match step.action {
                Action::Create => '+',
                Action::Prune | Action::Delete => '-',
                _ => '~',
            };
            println!("{sign} {} {}/{}", step.kind, manifests.namespace(), step.name);
            for change in &step.changes {
                let show = |value: &Option<serde_json::Value>| {
                    value.as_ref().map_or("(absent)".to_owned(), ToString::to_string)
                };
                println!("    {}: {} → {}", change.path, show(&change.before), show(&change.after));
            }
        }
        if changing.is_empty() {
            println!("no changes: {} objects up to date", steps.len());
            ExitCode::SUCCESS
        } else {
            println!("{} of {} objects would change", changing.len(), steps.len());
            ExitCode::from(1)
        }
    })
}

/// The namespace and Kubernetes name of the pipeline a command names.
fn which_pipeline(which: &Which, target: &Target) -> Result<(String, String), ExitCode> {
    if let Some(file) = &which.file {
        let (manifests, _) = lowered(file, target, None)?;
        return Ok((manifests.namespace().to_owned(), manifests.pipeline().to_owned()));
    }
    let named = which.pipeline.as_deref().unwrap_or_default();
    let Some((namespace, name)) = named.split_once('/').filter(|(n, p)| !n.is_empty() && !p.is_empty()) else {
        eprintln!("error: --pipeline takes NAMESPACE/NAME, as the file's header gives them; got `{named}`");
        return Err(ExitCode::from(EXIT_USAGE_OR_IO));
    };
    let namespace = target.namespace.clone().unwrap_or_else(|| namespace.to_owned());
    Ok((kubernetes_name(&namespace).to_string(), kubernetes_name(name).to_string()))
}

/// A deployed pipeline's provenance for `log` and `trace`, as its gateway
/// gathers it; agents that did not answer are named on stderr (their runs
/// and artifacts are missing from what follows).
pub fn deployed_history(pipeline: &str, target: &Target) -> Result<History, ExitCode> {
    let which = Which { file: None, pipeline: Some(pipeline.to_owned()) };
    let (namespace, pipeline) = which_pipeline(&which, target)?;
    let mut found = None;
    let code = on_cluster(target, async |cluster| {
        let history = match data::Gateway::connect(&cluster, &namespace, &pipeline).await {
            Ok(gateway) => gateway.history().await,
            Err(error) => Err(error),
        };
        match history {
            Ok(history) => {
                for why in &history.unreachable {
                    eprintln!("warning: not in this history: {why}");
                }
                found = Some(History::from_records(history.avs, history.runs));
                ExitCode::SUCCESS
            }
            Err(error) => cluster_failed(error),
        }
    });
    found.ok_or(code)
}

/// `koaljac drop`: every `WIRE=PATH` (a file, or a directory's files in
/// name order) into the deployed pipeline's gateway, a file at a time.
/// Exit 0 when every file was taken (fed, or fed before), 2 otherwise.
pub fn drop(pipeline: Option<String>, mut args: Vec<String>, target: &Target) -> ExitCode {
    // Without --pipeline the first argument is the file.
    let file = if pipeline.is_none() { Some(PathBuf::from(args.remove(0))) } else { None };
    let which = Which { file, pipeline };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for spec in &args {
        let Some((wire, path)) = wire_path(spec) else {
            eprintln!("error: `{spec}` is not WIRE=PATH");
            return ExitCode::from(EXIT_USAGE_OR_IO);
        };
        match files_of(Path::new(path)) {
            Ok(found) => files.extend(found.into_iter().map(|file| (wire.to_owned(), file))),
            Err(error) => {
                eprintln!("error: cannot read {path}: {error}");
                return ExitCode::from(EXIT_USAGE_OR_IO);
            }
        }
    }
    if files.is_empty() {
        eprintln!("error: nothing to drop: give at least one WIRE=PATH");
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    let (namespace, pipeline) = match which_pipeline(&which, target) {
        Ok(found) => found,
        Err(code) => return code,
    };
    on_cluster(target, async |cluster| {
        let gateway = match data::Gateway::connect(&cluster, &namespace, &pipeline).await {
            Ok(gateway) => gateway,
            Err(error) => return cluster_failed(error),
        };
        let mut routes: std::collections::BTreeMap<&str, data::Gateway> = Default::default();
        for (wire, path) in &files {
            if !routes.contains_key(wire.as_str()) {
                match gateway.for_wire(wire).await {
                    Ok(regional) => routes.insert(wire, regional),
                    Err(error) => return cluster_failed(error),
                };
            }
            let gateway = &routes[wire.as_str()];
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let size = std::fs::metadata(path).map_or(0, |m| m.len());
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(size);
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar.set_message(format!("{wire}/{name}"));
                bar
            });
            let mut progress = |sent: u64| {
                if let Some(bar) = &bar {
                    bar.set_position(sent);
                }
            };
            let dropped = gateway.drop_file(wire, &name, path, &mut progress).await;
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            match dropped {
                Ok(dropped) => {
                    let fresh = if dropped.new { "" } else { " (dropped before: not fed again)" };
                    println!("{wire}/{name} -> {}{fresh}", dropped.av);
                }
                Err(error) => return cluster_failed(error),
            }
        }
        ExitCode::SUCCESS
    })
}

/// `koaljac fetch`: the pipeline's collected outputs (of `WIRE`s, or all)
/// into `DIR/<wire>/`, each checked against its digest; those already there
/// are left alone. Exit 0 when every output is there, 2 otherwise. With
/// `follow`, a pass every second until SIGINT or SIGTERM (exit 0); a pass
/// that fails (a gateway restarting) is reported and tried again.
pub fn fetch(pipeline: Option<String>, mut args: Vec<String>, into: &Path, follow: bool, target: &Target) -> ExitCode {
    let file = match (&pipeline, args.is_empty()) {
        (None, true) => {
            eprintln!("error: fetch takes the pipeline's file, or --pipeline NAMESPACE/NAME");
            return ExitCode::from(EXIT_USAGE_OR_IO);
        }
        (None, false) => Some(PathBuf::from(args.remove(0))),
        (Some(_), _) => None,
    };
    let which = Which { file, pipeline };
    let (namespace, pipeline) = match which_pipeline(&which, target) {
        Ok(found) => found,
        Err(code) => return code,
    };
    on_cluster(target, async |cluster| {
        let gateway = match data::Gateway::connect(&cluster, &namespace, &pipeline).await {
            Ok(gateway) => gateway,
            Err(error) => return cluster_failed(error),
        };
        let (mut new, mut present, mut removed) = (0, 0, 0);
        let mut seen = std::collections::BTreeSet::new();
        let mut stop = match Stop::on_signals() {
            Ok(stop) => stop,
            Err(error) => {
                eprintln!("error: cannot watch for signals: {error}");
                return ExitCode::from(EXIT_USAGE_OR_IO);
            }
        };
        loop {
            // One pass: every output not fetched yet (by this command, or
            // already in DIR with its digest).
            let pass = async {
                // Each gateway collects its region's outputs.
                let mut outputs = Vec::new();
                let gateways = gateway.gateways().await?;
                let only = gateways.len() == 1;
                for gateway in gateways.into_iter().filter(|g| only || !g.outputs.is_empty()) {
                    let collected = gateway.outputs().await?;
                    outputs.extend(collected.into_iter().map(|output| (gateway.clone(), output)));
                }
                for (gateway, output) in outputs.iter().filter(|(_, o)| args.is_empty() || args.contains(&o.wire)) {
                    if seen.contains(&output.id) {
                        continue;
                    }
                    if output.removed.is_some() {
                        // Retention let go of it before it was fetched; its
                        // record stays (`koaljac trace`).
                        removed += 1;
                        seen.insert(output.id.clone());
                        continue;
                    }
                    match gateway.fetch(output, into).await? {
                        data::Fetched::New(path) => {
                            new += 1;
                            println!("{}", path.display());
                        }
                        data::Fetched::Present(_) => present += 1,
                    }
                    seen.insert(output.id.clone());
                }
                Ok::<(), ClusterError>(())
            };
            match pass.await {
                Ok(()) => {}
                Err(error) if !follow => return cluster_failed(error),
                // Following: a gateway that restarts is waited for.
                Err(error) => eprintln!("warning: {error}; trying again"),
            }
            if !follow || stop.wait(FOLLOW_INTERVAL).await {
                break;
            }
        }
        if removed > 0 {
            println!("fetched {new}, {present} already here, {removed} removed by retention before they were fetched");
        } else {
            println!("fetched {new}, {present} already here");
        }
        ExitCode::SUCCESS
    })
}

/// How often `fetch --follow` asks the gateway for new outputs.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// SIGINT or SIGTERM, which end `fetch --follow` cleanly (exit 0).
struct Stop {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Stop {
    fn on_signals() -> std::io::Result<Stop> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Stop { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    /// Waits `interval`; true when a signal came first.
    async fn wait(&mut self, interval: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(interval) => false,
            _ = self.interrupt.recv() => true,
            _ = self.terminate.recv() => true,
        }
    }
}

pub fn delete(which: &Which, target: &Target, delete_data: bool, wait: bool, timeout: Duration) -> ExitCode {
    let (namespace, pipeline) = match which_pipeline(which, target) {
        Ok(found) => found,
        Err(code) => return code,
    };
    on_cluster(target, async |cluster| {
        println!("deleting {namespace}/{pipeline} on {}", cluster.name);
        let steps = match remove::delete(&cluster, &namespace, &pipeline, delete_data, &mut print_step).await {
            Ok(steps) => steps,
            Err(failure) => return print_failure(&failure, None),
        };
        if steps.is_empty() {
            println!("nothing of {namespace}/{pipeline} was found");
            return ExitCode::SUCCESS;
        }
        println!("{}", summary(&steps));
        if steps.iter().any(|s| s.action == Action::KeepData) {
            println!("the claims hold the pipeline's data and were kept; `--delete-data` deletes them too");
        }
        if wait {
            match remove::wait_gone(&cluster, &namespace, &pipeline, delete_data, timeout, Duration::from_secs(2)).await
            {
                Ok(left) if left.is_empty() => println!("gone"),
                Ok(left) => {
                    eprintln!("error: still there after {}: {}", humantime::format_duration(timeout), left.join(", "));
                    return ExitCode::from(EXIT_INPUT_ERRORS);
                }
                Err(error) => return cluster_failed(error),
            }
        }
        ExitCode::SUCCESS
    })
}

/// "restarted 2 times, last exit 64 (Error): cannot open …; now CrashLoopBackOff"
fn pod_trouble(trouble: &status::PodTrouble) -> String {
    let mut words = Vec::new();
    if trouble.restarts > 0 {
        let times = if trouble.restarts == 1 { "time" } else { "times" };
        let mut restarted = format!("restarted {} {times}", trouble.restarts);
        if let Some(exit) = &trouble.last_exit {
            restarted += &format!(", last exit {}", exit.code);
            if !exit.reason.is_empty() {
                restarted += &format!(" ({})", exit.reason);
            }
            if let Some(why) = &exit.why {
                restarted += &format!(": {why}");
            }
        }
        words.push(restarted);
    }
    if let Some(waiting) = &trouble.waiting {
        words.push(format!("now {waiting}"));
    }
    words.join("; ")
}

pub fn status(which: &Which, target: &Target) -> ExitCode {
    let (namespace, pipeline) = match which_pipeline(which, target) {
        Ok(found) => found,
        Err(code) => return code,
    };
    on_cluster(target, async |cluster| {
        let report = match status::status(&cluster, &namespace, &pipeline).await {
            Ok(report) => report,
            Err(error) => return cluster_failed(error),
        };
        if report.workloads.is_empty() {
            println!("{namespace}/{pipeline} is not deployed on {}", cluster.name);
            return ExitCode::from(EXIT_INPUT_ERRORS);
        }
        println!("{namespace}/{pipeline} on {}", cluster.name);
        println!("  {:<24} {:<8} {:>6} {:>7}  last run", "task", "ready", "runs", "failed");
        for workload in &report.workloads {
            let rollout = &workload.rollout;
            let ready = format!("{}/{}", rollout.ready, rollout.desired);
            let runs = report.runs.as_ref().ok().and_then(|runs| runs.get(&workload.task));
            let (count, failed, last) = match runs {
                Some(runs) => (
                    runs.runs.to_string(),
                    runs.failed.to_string(),
                    runs.last.as_ref().map_or(String::new(), |(run, status)| format!("#{run} {status}")),
                ),
                None => ("-".to_owned(), "-".to_owned(), String::new()),
            };
            println!("  {:<24} {ready:<8} {count:>6} {failed:>7}  {last}", workload.task);
            if workload.pods.is_trouble() {
                println!("  {:<24} {}", "", pod_trouble(&workload.pods));
            }
            if let Some((run, tail)) = runs.and_then(|r| r.last_failure.as_ref()) {
                let line = tail.lines().last().unwrap_or_default();
                println!("  {:<24} last failure #{run}: {line}", "");
            }
        }
        match &report.runs {
            Err(why) => println!("runs unknown: {why}"),
            Ok(_) if !report.unreachable.is_empty() => {
                println!("the gateway could not reach: {}", report.unreachable.join(", "));
            }
            Ok(_) => {}
        }
        ExitCode::SUCCESS
    })
}
