//! One agent: a task's (pull inputs, assemble snapshots, run the code,
//! publish outputs) or the gateway's (take file drops into pipeline inputs,
//! collect pipeline outputs). The same type runs in a pod and, one per task,
//! inside `koaljac run`.
//!
//! Three kinds of tokio task work for an agent: a *puller* per input wire
//! (`pull`: long-polls the producer, downloads payloads, commits cursor +
//! engine + new runs in one transaction), the *runner* (`runner`: executes
//! pending runs, many at once, and commits each one's outputs + record in
//! one transaction, in run order; `service` for long-running tasks), and the
//! HTTP server (`server`) that serves the outbox. `gateway` holds what only
//! the gateway does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{watch, Notify, Semaphore};

use crate::exec::{Drain, Interrupted, Invocation, Outcome};
use crate::files::{content_digest, read_only, remove_any};
use crate::link::{DownloadError, Link, Peers, LONG_POLL};
use crate::plan::{PayloadKind, Plan, TaskPlan};
use crate::record::{now, Av, RunRecord, RunStatus, ServiceUse, SnapshotInput, GATEWAY};
use crate::snapshot::{Engine, Rule};
use crate::store::{Store, StoreError};

mod gateway;
mod pull;
mod retention;
mod runner;
pub mod server;
mod service;

pub use gateway::PipelineHistory;
use runner::{Ran, Slot, Slots};
use service::SERVICE_WAIT;

/// A fault of the agent itself (not of the user's code): the agent binary
/// exits 64 on one.
#[derive(Debug)]
pub struct AgentError(pub String);

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AgentError {}

impl From<StoreError> for AgentError {
    fn from(error: StoreError) -> AgentError {
        AgentError(error.0)
    }
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> AgentError + 'a {
    move |error| AgentError(format!("{what} {}: {error}", path.display()))
}

/// Shared by every agent of one process: the job slots, and the counters a
/// local run watches to tell when nothing can happen any more.
pub struct Progress {
    /// Bumped after every commit that changes what could happen next.
    pub changes: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    /// The failed runs' records, for the summary.
    pub failures: Mutex<Vec<RunRecord>>,
    /// At most this many user processes at once, across agents.
    jobs: Semaphore,
    /// The process's stop (`stop`), which every agent's running code obeys.
    drain: Drain,
}

/// How long running code has to finish after the agent is told to stop,
/// by default: within Kubernetes' default 30 s between a pod's SIGTERM and
/// its SIGKILL, with time left to commit what finished.
pub const DRAIN_GRACE: Duration = Duration::from_secs(20);

impl Progress {
    /// `grace`: how long running code has after `stop` before it is killed.
    pub fn new(jobs: usize, grace: Duration) -> Arc<Progress> {
        Arc::new(Progress {
            changes: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            failures: Mutex::new(Vec::new()),
            jobs: Semaphore::new(jobs.max(1)),
            drain: Drain::new(grace),
        })
    }

    /// Stops every agent of the process, draining: no new run starts,
    /// running code gets SIGTERM and the grace to finish (what finishes is
    /// kept; the rest stays pending for the next start), pullers and sweeps
    /// end between commits. The agents' tasks (`Agent::start`) then end.
    pub fn stop(&self) {
        self.drain.stopping.cancel();
    }

    /// Resolves once `stop` is called.
    fn stopping(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.drain.stopping.cancelled()
    }

    fn is_stopping(&self) -> bool {
        self.drain.stopping.is_cancelled()
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }
}

enum Role {
    /// The task's index in the plan.
    Task(usize),
    /// Pipeline outputs are copied to `out/<wire>/<av id>` here. `scope`
    /// names the one gateway of the plan this agent is (a pod's); `None`
    /// plays every gateway at once (`koaljac run`, on one machine).
    Gateway { out_dir: PathBuf, scope: Option<String> },
}

struct State {
    store: Store,
    /// The snapshot engine (tasks only).
    engine: Option<Engine>,
}

pub struct Agent {
    /// The task's name, or `gateway`.
    pub name: String,
    pub plan: Arc<Plan>,
    /// This agent's state directory.
    pub dir: PathBuf,
    role: Role,
    state: Mutex<State>,
    /// The newest outbox position, for long-polls to wait on.
    published: watch::Sender<u64>,
    wake_runner: Notify,
    progress: Arc<Progress>,
    /// Runs assembled and not yet finished.
    busy: AtomicUsize,
    /// Newest outbox position per produced wire.
    heads: Mutex<BTreeMap<String, u64>>,
    /// Last producer position taken per input wire.
    cursors: Mutex<BTreeMap<String, u64>>,
    slots: Mutex<Slots>,
    /// The newest announcement of each service this task calls, by wire.
    services: Mutex<BTreeMap<String, Av>>,
    service_announced: Notify,
    /// Numbers staging files (`staging_path`).
    staged: AtomicU64,
    /// How to reach the other agents, once started (the gateway gathers
    /// the pipeline's provenance from them).
    peers: std::sync::OnceLock<(Arc<dyn Peers>, Link)>,
    last_error: Mutex<Option<Trouble>>,
    /// The newest position each consumer took, by (wire, consumer), as
    /// written to the store: a poll that takes nothing new writes nothing.
    taken: Mutex<BTreeMap<(String, String), u64>>,
    /// Something may have become removable (`retention`).
    sweep_wanted: Notify,
}

/// What `drop_file` did.
pub struct Fed {
    pub av: String,
    /// False when the same content under the same name was fed before.
    pub new: bool,
}

#[derive(Serialize)]
pub struct Status {
    pub agent: String,
    pub busy: usize,
    pub heads: BTreeMap<String, u64>,
    pub cursors: BTreeMap<String, u64>,
    /// The newest trouble the agent worked around (a producer it could not
    /// reach, a payload it refused), if any since it started.
    pub last_error: Option<Trouble>,
    /// The file system of the state directory.
    pub disk: Option<Disk>,
}

/// Something that went wrong and was retried, and when.
#[derive(Clone, Debug, Serialize)]
pub struct Trouble {
    pub at: String,
    pub message: String,
}

#[derive(Serialize)]
pub struct Disk {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// The file system holding `path` (statvfs), or `None` where it cannot be
/// asked.
fn disk_of(path: &Path) -> Option<Disk> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct it is given from a NUL-terminated path.
    let stat = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(name.as_ptr(), &mut stat) == 0).then_some(stat)?
    };
    let block = stat.f_frsize as u64;
    Some(Disk { total_bytes: stat.f_blocks as u64 * block, free_bytes: stat.f_bavail as u64 * block })
}

impl Agent {
    pub fn task(plan: Arc<Plan>, task: &str, dir: PathBuf, progress: Arc<Progress>) -> Result<Arc<Agent>, AgentError> {
        let index = plan
            .tasks
            .iter()
            .position(|t| t.name == task)
            .ok_or_else(|| AgentError(format!("the pipeline has no task `{task}`")))?;
        Agent::open(plan, task.to_owned(), Role::Task(index), dir, progress)
    }

    /// Every gateway of the plan in one agent (a local run).
    pub fn gateway(
        plan: Arc<Plan>,
        dir: PathBuf,
        out_dir: PathBuf,
        progress: Arc<Progress>,
    ) -> Result<Arc<Agent>, AgentError> {
        Agent::open(plan, GATEWAY.to_owned(), Role::Gateway { out_dir, scope: None }, dir, progress)
    }

    /// The plan's gateway of `region` (`None`: the main one), as a pod runs it.
    pub fn gateway_of_region(
        plan: Arc<Plan>,
        region: Option<&str>,
        dir: PathBuf,
        out_dir: PathBuf,
        progress: Arc<Progress>,
    ) -> Result<Arc<Agent>, AgentError> {
        let Some(gateway) = plan.gateways.iter().find(|g| g.region.as_deref() == region) else {
            let regions: Vec<String> = plan.gateways.iter().filter_map(|g| g.region.clone()).collect();
            return Err(AgentError(format!(
                "the pipeline has no gateway in region `{}`; its regional gateways are in {}",
                region.unwrap_or_default(),
                if regions.is_empty() { "no region".to_owned() } else { regions.join(", ") }
            )));
        };
        let name = gateway.kubernetes_name.clone();
        Agent::open(plan, name.clone(), Role::Gateway { out_dir, scope: Some(name) }, dir, progress)
    }

    fn open(
        plan: Arc<Plan>,
        name: String,
        role: Role,
        dir: PathBuf,
        progress: Arc<Progress>,
    ) -> Result<Arc<Agent>, AgentError> {
        for sub in ["payloads", "cache", "runs", "staging"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(io_error("cannot create the state directory", &path))?;
        }
        // Downloads a crash interrupted: never committed, so fetched again.
        crate::link::remove_partials(&dir.join("cache"));
        if let Role::Gateway { out_dir, .. } = &role {
            for wire in &plan.pipeline_outputs {
                crate::link::remove_partials(&out_dir.join(wire));
            }
        }
        let store = Store::open(&dir.join("state.db"))?;
        let engine = match &role {
            Role::Task(index) => {
                let task = &plan.tasks[*index];
                let rules: Vec<Rule> =
                    task.inputs.iter().filter_map(|input| Rule::for_input(task.policy, input.firing)).collect();
                let fresh = Engine::new(task.policy, &rules);
                match store.engine()? {
                    Some(saved) if saved.same_shape(&fresh) => Some(saved),
                    Some(_) => {
                        return Err(AgentError(format!(
                            "the state in {} was made for a different definition of task `{}` (its inputs or policy changed); use a new state directory",
                            dir.display(),
                            task.name
                        )))
                    }
                    None => Some(fresh),
                }
            }
            Role::Gateway { .. } => None,
        };
        let produced: Vec<String> = match &role {
            Role::Task(index) => plan.tasks[*index].outputs.iter().map(|o| o.wire.clone()).collect(),
            Role::Gateway { scope, .. } => gateway_wires(&plan, scope.as_deref(), |g| &g.inputs),
        };
        let mut heads = BTreeMap::new();
        for wire in produced {
            heads.insert(wire.clone(), store.head(&wire)?);
        }
        let mut cursors = BTreeMap::new();
        let agent_inputs = input_wires(&plan, &role);
        for (wire, _) in &agent_inputs {
            cursors.insert(wire.clone(), store.cursor(wire)?);
        }
        let busy = store.pending_runs(0)?.len();
        let mut services = BTreeMap::new();
        for (av, _) in store.received_all()? {
            if plan.kind(&av.wire) == PayloadKind::Service {
                services.insert(av.wire.clone(), av);
            }
        }
        let newest = heads.values().copied().max().unwrap_or(0);
        Ok(Arc::new(Agent {
            name,
            plan,
            dir,
            role,
            state: Mutex::new(State { store, engine }),
            published: watch::channel(newest).0,
            wake_runner: Notify::new(),
            progress,
            busy: AtomicUsize::new(busy),
            heads: Mutex::new(heads),
            cursors: Mutex::new(cursors),
            slots: Mutex::new(Slots::default()),
            services: Mutex::new(services),
            service_announced: Notify::new(),
            staged: AtomicU64::new(0),
            peers: std::sync::OnceLock::new(),
            last_error: Mutex::new(None),
            taken: Mutex::new(BTreeMap::new()),
            sweep_wanted: Notify::new(),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the database half
        // written (transactions roll back), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn task_plan(&self) -> Option<&TaskPlan> {
        match self.role {
            Role::Task(index) => self.plan.tasks.get(index),
            Role::Gateway { .. } => None,
        }
    }

    /// The name this agent takes `wire` under, as the plan knows its
    /// consumers: a task's own, or the gateway of the wire (one agent plays
    /// every gateway in a local run).
    pub(crate) fn consumer_name<'a>(&'a self, wire: &str) -> &'a str {
        match self.role {
            Role::Task(_) => &self.name,
            Role::Gateway { .. } => self.plan.gateway_of(wire).map_or(&self.name, |g| g.kubernetes_name.as_str()),
        }
    }

    /// Whether `av` may be served to `consumer` (an agent's name, if the
    /// request gave one): an AV of a wire that is not `export` stays in its
    /// region (LANGUAGE.md §4). The checker refuses a pipeline that would
    /// send one across; this refuses a peer that asks anyway.
    pub fn may_serve(&self, av: &Av, consumer: Option<&str>) -> Result<(), String> {
        let home = self.plan.region_of_wire(&av.wire);
        if self.plan.exported.contains(&av.wire) || home.is_none() {
            return Ok(());
        }
        let there = consumer.and_then(|consumer| self.plan.region_of_agent(consumer));
        if there == home {
            return Ok(());
        }
        let asker = match (consumer, there) {
            (Some(consumer), Some(region)) => format!("`{consumer}`, in region `{region}`"),
            (Some(consumer), None) => format!("`{consumer}`, which has no region"),
            (None, _) => "a peer that did not say which agent it is".to_owned(),
        };
        Err(format!(
            "{} is of wire `{}`, whose type is not `export`: it stays in region `{}` and is not served to {asker}",
            av.id,
            av.wire,
            home.unwrap_or_default()
        ))
    }

    pub fn produces(&self, wire: &str) -> bool {
        self.heads.lock().map(|heads| heads.contains_key(wire)).unwrap_or(false)
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.published.subscribe()
    }

    pub fn outbox_after(&self, wire: &str, after: u64, limit: usize) -> Result<Vec<(u64, Av)>, StoreError> {
        self.state().store.outbox_after(wire, after, limit)
    }

    pub fn published_av(&self, id: &str) -> Result<Option<Av>, StoreError> {
        self.state().store.published_av(id)
    }

    /// At most `limit` runs after run number `after`, oldest first.
    pub fn runs(&self, after: u64, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.state().store.runs_page(after, limit)
    }

    pub fn status(&self) -> Status {
        Status {
            agent: self.name.clone(),
            busy: self.busy.load(Ordering::SeqCst),
            heads: self.heads.lock().map(|h| h.clone()).unwrap_or_default(),
            cursors: self.cursors.lock().map(|c| c.clone()).unwrap_or_default(),
            last_error: self.last_error.lock().ok().and_then(|last| last.clone()),
            disk: disk_of(&self.dir),
        }
    }

    /// Trouble the agent works around (and retries): logged (a JSON line
    /// on stderr in a pod) when it is new, not on every retry of the same,
    /// and kept as `/v1/status`'s `last_error`.
    pub(crate) fn trouble(&self, message: String) {
        let Ok(mut last) = self.last_error.lock() else { return };
        if last.as_ref().is_some_and(|last| last.message == message) {
            return;
        }
        tracing::warn!(agent = %self.name, "{message}");
        *last = Some(Trouble { at: now(), message });
    }

    /// Runs `work` on the agent off the async threads: SQLite calls,
    /// hashing, copies, renames and deletions block, and a slow disk must
    /// not hold up the pullers, the runner and the requests that share
    /// those threads.
    pub(crate) async fn off_async<T, E>(
        self: &Arc<Self>,
        work: impl FnOnce(&Agent) -> Result<T, E> + Send + 'static,
    ) -> Result<T, AgentError>
    where
        T: Send + 'static,
        E: Into<AgentError> + Send + 'static,
    {
        let agent = Arc::clone(self);
        match tokio::task::spawn_blocking(move || work(&agent)).await {
            Ok(result) => result.map_err(Into::into),
            Err(join) => Err(AgentError(format!("work of agent `{}` stopped: {join}", self.name))),
        }
    }

    /// `work` until the process stops; dropped there, which is safe for
    /// work that commits in transactions (pullers, sweeps).
    fn until_stopped(
        &self,
        work: impl std::future::Future<Output = Result<(), AgentError>> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<(), AgentError>> + Send + 'static {
        let progress = Arc::clone(&self.progress);
        async move {
            tokio::select! {
                done = work => done,
                _ = progress.stopping() => Ok(()),
            }
        }
    }

    /// Starts the pullers, the runner and the retention sweep in `set`.
    /// They run until `Progress::stop` (then each ends with `Ok`, the
    /// runner once drained), or until a fault of the agent, which the set
    /// reports. Aborting them instead kills running code at once.
    pub fn start(
        self: &Arc<Self>,
        set: &mut tokio::task::JoinSet<Result<(), AgentError>>,
        peers: Arc<dyn Peers>,
        link: Link,
    ) {
        let _ = self.peers.set((Arc::clone(&peers), link.clone()));
        for (wire, index) in input_wires(&self.plan, &self.role) {
            let producer = self.plan.producer_name(&wire).to_owned();
            let agent = Arc::clone(self);
            let (peers, link) = (Arc::clone(&peers), link.clone());
            set.spawn(self.until_stopped(async move { agent.pull(wire, index, producer, peers, link).await }));
        }
        if let Err(error) = self.fire_ready() {
            set.spawn(async move { Err(error) });
            return;
        }
        if self.retention() != crate::plan::Keep::All {
            let agent = Arc::clone(self);
            set.spawn(self.until_stopped(async move { agent.sweep_forever().await }));
        }
        match self.task_plan() {
            Some(task) if task.is_long_running() => {
                let agent = Arc::clone(self);
                let address = task.service_port.map(|port| peers.service_address(&self.name, port));
                set.spawn(async move { agent.run_long(address).await });
            }
            Some(_) => {
                let agent = Arc::clone(self);
                set.spawn(async move { agent.run_pending().await });
            }
            None => {}
        }
    }
}

/// After the grace, how long committing what finished may take before the
/// agents' tasks are aborted.
const DRAIN_MARGIN: Duration = Duration::from_secs(5);

/// Stops the process's agents (`Progress::stop`) and waits for their tasks
/// in `set` to end, at most the grace and a margin (then they are aborted:
/// what is left is only uncommitted, to be repeated). The first fault of
/// an agent on the way, if any.
pub async fn drain(
    progress: &Progress,
    set: &mut tokio::task::JoinSet<Result<(), AgentError>>,
) -> Result<(), AgentError> {
    progress.stop();
    let limit = progress.drain.grace + DRAIN_MARGIN;
    let mut fault = Ok(());
    let ended = tokio::time::timeout(limit, async {
        while let Some(joined) = set.join_next().await {
            let result = joined.unwrap_or_else(|join| Err(AgentError(format!("an agent stopped: {join}"))));
            if fault.is_ok() {
                fault = result;
            }
        }
    })
    .await;
    if ended.is_err() {
        tracing::warn!("the agents did not stop within {} s; aborted", limit.as_secs());
        set.abort_all();
        while set.join_next().await.is_some() {}
    }
    fault
}

/// The wires an agent pulls, with the input index the store records:
/// a task's input wires (merge members each, services too), or the
/// gateway's pipeline outputs.
fn input_wires(plan: &Plan, role: &Role) -> Vec<(String, usize)> {
    match role {
        Role::Task(index) => plan.tasks[*index]
            .inputs
            .iter()
            .enumerate()
            .flat_map(|(position, input)| input.wires.iter().map(move |wire| (wire.clone(), position)))
            .collect(),
        Role::Gateway { scope, .. } => {
            gateway_wires(plan, scope.as_deref(), |g| &g.outputs).into_iter().enumerate().map(|(i, w)| (w, i)).collect()
        }
    }
}

/// The wires `of` each gateway in `scope` (every gateway for `None`).
fn gateway_wires(
    plan: &Plan,
    scope: Option<&str>,
    of: impl Fn(&crate::plan::GatewayPlan) -> &Vec<String>,
) -> Vec<String> {
    plan.gateways
        .iter()
        .filter(|g| scope.is_none_or(|name| g.kubernetes_name == name))
        .flat_map(|g| of(g).iter().cloned())
        .collect()
}
