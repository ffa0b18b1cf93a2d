//! The embedded default: a whole pipeline on one machine (`koaljac run`).
//! Every task's agent and the gateway run in this process, each with its own
//! store and its own HTTP server on loopback; links between them are real
//! HTTP, exactly as between pods. Without `watch` the run ends when nothing
//! can fire and nothing runs.
//!
//! State directory layout:
//! ```text
//! DIR/agents/<task>/   a task agent's store, payloads, input cache, runs
//! DIR/gateway/         the gateway's store and dropped payloads
//! DIR/in/<wire>/       files put here are fed (with `watch`)
//! DIR/out/<wire>/      pipeline outputs, one file per AV, named by its id
//! ```

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::agent::server::serve;
use crate::agent::{Agent, AgentError, Progress};
use crate::link::{Link, Peers};
use crate::plan::Plan;
use crate::record::RunRecord;

pub struct Options {
    pub state: PathBuf,
    /// `(wire, path)`: a file, or every file of a directory in name order.
    pub drops: Vec<(String, PathBuf)>,
    pub jobs: usize,
    pub watch: bool,
    /// Report progress on standard error (a live line on a terminal).
    pub progress: bool,
}

pub struct Summary {
    pub succeeded: u64,
    /// Runs that failed during this invocation.
    pub failures: Vec<RunRecord>,
    /// Files fed (new) and skipped (fed before).
    pub fed: usize,
    pub already_fed: usize,
}

struct LocalPeers(BTreeMap<String, String>);

impl Peers for LocalPeers {
    fn base_url(&self, agent: &str) -> Option<String> {
        self.0.get(agent).cloned()
    }

    /// Services listen on their declared port on this machine.
    fn service_address(&self, _agent: &str, port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }
}

/// The state directory of `koaljac run FILE` when none is given: `.koalja/`
/// beside the file (the editor reads the last runs from there too).
pub fn default_state(file: &Path) -> PathBuf {
    file.parent().map_or_else(|| PathBuf::from(".koalja"), |dir| dir.join(".koalja"))
}

/// The agents' directories under a state directory.
pub fn agent_dirs(state: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![state.join("gateway")];
    if let Ok(entries) = std::fs::read_dir(state.join("agents")) {
        let mut tasks: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        tasks.sort();
        dirs.extend(tasks);
    }
    dirs.into_iter().filter(|dir| dir.join("state.db").exists()).collect()
}

pub async fn run(plan: Plan, mut options: Options) -> Result<Summary, AgentError> {
    if let Some(task) = plan.tasks.iter().find(|task| task.launch == crate::plan::Launch::Custom) {
        return Err(AgentError(format!(
            "task `{}` has `launch: custom` (the code asks for snapshots itself); the agent does not offer that API yet",
            task.name
        )));
    }
    // Absolute, because each run's code works in its own run directory.
    std::fs::create_dir_all(&options.state)
        .and_then(|()| options.state.canonicalize())
        .map(|absolute| options.state = absolute)
        .map_err(|e| AgentError(format!("cannot use the state directory {}: {e}", options.state.display())))?;
    let plan = Arc::new(plan);
    let progress = Progress::new(options.jobs, crate::agent::DRAIN_GRACE);
    let gateway = Agent::gateway(
        Arc::clone(&plan),
        options.state.join("gateway"),
        options.state.join("out"),
        Arc::clone(&progress),
    )?;
    let mut agents = vec![Arc::clone(&gateway)];
    for task in &plan.tasks {
        agents.push(Agent::task(
            Arc::clone(&plan),
            &task.name,
            options.state.join("agents").join(&task.name),
            Arc::clone(&progress),
        )?);
    }
    // Every agent listens on its own loopback port before any link starts,
    // to this run's credential alone: another user of the machine can reach
    // loopback too.
    let credential = crate::auth::Credential::random().map_err(AgentError)?;
    let mut servers = tokio::task::JoinSet::new();
    let mut addresses = BTreeMap::new();
    for agent in &agents {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| AgentError(format!("cannot listen on loopback: {e}")))?;
        let address = listener.local_addr().map_err(|e| AgentError(e.to_string()))?;
        addresses.insert(agent.name.clone(), format!("http://{address}"));
        servers.spawn(serve(listener, Arc::clone(agent), credential.clone()));
    }
    // One gateway agent plays every gateway of the plan (a region's too).
    if let Some(gateway) = addresses.get(crate::record::GATEWAY).cloned() {
        for name in plan.gateways.iter().map(|g| g.kubernetes_name.clone()) {
            addresses.entry(name).or_insert_with(|| gateway.clone());
        }
    }
    let peers: Arc<dyn Peers> = Arc::new(LocalPeers(addresses));
    let link = Link::co_located(&credential);
    let mut workers = tokio::task::JoinSet::new();
    for agent in &agents {
        agent.start(&mut workers, Arc::clone(&peers), link.clone());
    }

    let mut summary = Summary { succeeded: 0, failures: Vec::new(), fed: 0, already_fed: 0 };
    let fed = feed_drops(&gateway, &options.drops, &mut summary).await;

    let display = Display::new(options.progress);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| AgentError(format!("cannot watch for SIGTERM: {e}")))?;
    let mut ticks: u64 = 0;
    // An error while feeding still goes through the clean-up below, which
    // stops any service already started. `Ok` names the signal that
    // stopped the run, if one did.
    let result = if let Err(error) = fed {
        Err(error)
    } else {
        loop {
            ticks += 1;
            tokio::select! {
                // Ctrl-C or SIGTERM: stop cleanly (drained, below); every
                // commit so far is kept and the next run continues from it.
                _ = tokio::signal::ctrl_c() => break Ok(Some("Ctrl-C")),
                _ = terminate.recv() => break Ok(Some("SIGTERM")),
                Some(joined) = workers.join_next() => {
                    break match joined {
                        Ok(Err(error)) => Err(error),
                        Ok(Ok(())) => Err(AgentError("an agent stopped".into())),
                        Err(join) => Err(AgentError(format!("an agent stopped: {join}"))),
                    };
                }
                _ = tokio::time::sleep(Duration::from_millis(10)) => {
                    if ticks % 10 == 1 {
                        display.show(&progress);
                    }
                    if options.watch {
                        // Look for new files five times a second.
                        if ticks % 20 == 1 {
                            if let Err(error) = feed_watched(&plan, &gateway, &options.state).await {
                                break Err(error);
                            }
                        }
                    } else if quiet(&agents, &progress) {
                        break Ok(None);
                    }
                }
            }
        }
    };
    display.finish(&progress);
    // Running code (a signal's stop) and services (every stop) get SIGTERM
    // and the grace; a second Ctrl-C kills them at once.
    if let Ok(Some(signal)) = &result {
        let busy: usize = agents.iter().map(|agent| agent.status().busy).sum();
        if busy > 0 {
            eprintln!(
                "{signal}: stopping; running code has {} s to finish (Ctrl-C again kills it)",
                crate::agent::DRAIN_GRACE.as_secs()
            );
        }
    }
    let drained = tokio::select! {
        drained = crate::agent::drain(&progress, &mut workers) => drained,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    workers.abort_all();
    while workers.join_next().await.is_some() {}
    servers.abort_all();
    result?;
    drained?;
    // What retention lets go of since the last sweep, so that the state a
    // run leaves behind is within its `keep` (the sweeps ran concurrently
    // and may trail the last commits). A consumer tells its producer what
    // it took with its next poll, which a run that ends may never send: in
    // one process its committed cursors can be handed over directly.
    for consumer in &agents {
        for (wire, seq) in consumer.status().cursors {
            if let Some(producer) = agents.iter().find(|agent| agent.produces(&wire)) {
                producer.taken(&wire, consumer.consumer_name(&wire), seq)?;
            }
        }
    }
    for agent in agents {
        agent.off_async(|agent| agent.sweep_all()).await?;
    }
    summary.succeeded = progress.succeeded.load(Ordering::SeqCst);
    summary.failures = progress.failures.lock().map(|f| f.clone()).unwrap_or_default();
    Ok(summary)
}

/// Nothing runs, nothing is assembled, and every link has taken everything
/// its producer published: nothing can happen any more. Read between two
/// reads of the change counter, so a commit in between is never missed.
fn quiet(agents: &[Arc<Agent>], progress: &Progress) -> bool {
    let before = progress.changes.load(Ordering::SeqCst);
    let statuses: Vec<_> = agents.iter().map(|agent| agent.status()).collect();
    let idle = statuses.iter().all(|status| status.busy == 0);
    let heads: BTreeMap<&str, u64> =
        statuses.iter().flat_map(|s| s.heads.iter().map(|(wire, head)| (wire.as_str(), *head))).collect();
    let caught_up = statuses.iter().all(|status| {
        status.cursors.iter().all(|(wire, cursor)| heads.get(wire.as_str()).is_none_or(|head| cursor >= head))
    });
    idle && caught_up && progress.changes.load(Ordering::SeqCst) == before
}

/// `--drop`: each file, or a directory's files in name order, in small
/// batches (one commit each, and the first runs start while later files
/// are still being copied in).
async fn feed_drops(
    gateway: &Arc<Agent>,
    drops: &[(String, PathBuf)],
    summary: &mut Summary,
) -> Result<(), AgentError> {
    for (wire, path) in drops {
        let files: Vec<(String, PathBuf)> = files_of(path)?.into_iter().map(|file| (file_name(&file), file)).collect();
        for batch in files.chunks(DROP_BATCH) {
            for fed in gateway.drop_files(wire, batch.to_vec()).await? {
                if fed.new {
                    summary.fed += 1;
                } else {
                    summary.already_fed += 1;
                }
            }
        }
    }
    Ok(())
}

/// Files fed per transaction by `--drop`.
const DROP_BATCH: usize = 8;

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `files::files_of`, its error an agent's.
fn files_of(path: &Path) -> Result<Vec<PathBuf>, AgentError> {
    crate::files::files_of(path).map_err(|e| AgentError(format!("cannot read {}: {e}", path.display())))
}

/// `--watch`: files put into `DIR/in/<wire>/` are fed, then removed (a
/// crash in between feeds nothing twice: drops are keyed by content).
async fn feed_watched(plan: &Plan, gateway: &Arc<Agent>, state: &Path) -> Result<(), AgentError> {
    for wire in &plan.pipeline_inputs {
        let dir = state.join("in").join(wire);
        if std::fs::create_dir_all(&dir).is_err() {
            continue;
        }
        // Dot names are still being written by an editor or a copy tool.
        let files: Vec<(String, PathBuf)> = files_of(&dir)?
            .into_iter()
            .map(|file| (file_name(&file), file))
            .filter(|(name, _)| !name.starts_with('.'))
            .collect();
        if files.is_empty() {
            continue;
        }
        gateway.drop_files(wire, files.clone()).await?;
        for (_, file) in files {
            let _ = std::fs::remove_file(&file);
        }
    }
    Ok(())
}

/// Progress on standard error: one line redrawn in place on a terminal,
/// nothing otherwise (the summary is printed at the end either way).
struct Display {
    live: bool,
}

impl Display {
    fn new(enabled: bool) -> Display {
        Display { live: enabled && std::io::stderr().is_terminal() }
    }

    fn show(&self, progress: &Progress) {
        if self.live {
            eprint!(
                "\r\x1b[2Kruns: {} succeeded, {} failed",
                progress.succeeded.load(Ordering::SeqCst),
                progress.failed.load(Ordering::SeqCst)
            );
        }
    }

    fn finish(&self, progress: &Progress) {
        if self.live {
            self.show(progress);
            eprintln!();
        }
    }
}
