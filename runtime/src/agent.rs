//! One agent: a task's (pull inputs, assemble snapshots, run the code,
//! publish outputs) or the gateway's (take file drops into pipeline inputs,
//! collect pipeline outputs). The same type runs in a pod and, one per task,
//! inside `koaljac run`.
//!
//! Three kinds of tokio task work for an agent: a *puller* per input wire
//! (long-polls the producer, downloads payloads, commits cursor + engine +
//! new runs in one transaction), the *runner* (executes pending runs one at a
//! time, in order, and commits outputs + the run's record in one
//! transaction), and the HTTP server (`link::router`) that serves the outbox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{watch, Notify, Semaphore};

use crate::exec::{Invocation, Outcome};
use crate::link::{remove_any, Link, Peers, LONG_POLL};
use crate::plan::{PayloadKind, Plan, TaskPlan};
use crate::record::{content_digest, now, Av, RunRecord, RunStatus, ServiceUse, SnapshotInput, GATEWAY};
use crate::snapshot::{Engine, Rule};
use crate::store::{Store, StoreError};

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
}

impl Progress {
    pub fn new(jobs: usize) -> Arc<Progress> {
        Arc::new(Progress {
            changes: AtomicU64::new(0),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            failures: Mutex::new(Vec::new()),
            jobs: Semaphore::new(jobs.max(1)),
        })
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }
}

enum Role {
    /// The task's index in the plan.
    Task(usize),
    /// Pipeline outputs are copied to `out/<wire>/<av id>` here.
    Gateway { out_dir: PathBuf },
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
    /// How to reach the other agents, once started (the gateway gathers
    /// the pipeline's provenance from them).
    peers: std::sync::OnceLock<(Arc<dyn Peers>, Link)>,
}

/// A run's working directory, private to it while it runs.
struct Slot {
    index: usize,
    dir: PathBuf,
}

#[derive(Default)]
struct Slots {
    free: Vec<usize>,
    created: usize,
}

/// How long a run waits for a service it calls to be announced, and a
/// service for its port to accept connections.
const SERVICE_WAIT: Duration = Duration::from_secs(60);
/// Between SIGTERM and SIGKILL when a newer snapshot replaces a process.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The process of a long-running task and its run.
struct Current {
    ran: Ran,
    running: crate::exec::Running,
    /// Announced (a service that is up): no longer counted as busy.
    announced: bool,
}

/// A run whose code has finished, before its outputs are kept.
struct Ran {
    record: RunRecord,
    outputs: Vec<(String, PathBuf)>,
    slot: Slot,
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

    pub fn gateway(
        plan: Arc<Plan>,
        dir: PathBuf,
        out_dir: PathBuf,
        progress: Arc<Progress>,
    ) -> Result<Arc<Agent>, AgentError> {
        Agent::open(plan, GATEWAY.to_owned(), Role::Gateway { out_dir }, dir, progress)
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
            Role::Gateway { .. } => plan.pipeline_inputs.clone(),
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
            peers: std::sync::OnceLock::new(),
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

    /// What this agent received with where it keeps it: for the gateway,
    /// the pipeline's outputs.
    pub fn collected(&self) -> Result<Vec<(Av, String)>, StoreError> {
        self.state().store.received_all()
    }

    /// Every task's runs, asked of each agent over the link protocol (the
    /// gateway's view of the pipeline's provenance); an agent that does not
    /// answer is named in the error list instead.
    pub async fn pipeline_runs(&self) -> (Vec<RunRecord>, Vec<String>) {
        let Some((peers, link)) = self.peers.get() else { return (Vec::new(), vec!["not started".to_owned()]) };
        let mut runs = Vec::new();
        let mut unreachable = Vec::new();
        for task in &self.plan.tasks {
            match peers.base_url(&task.name) {
                Some(base) => match link.runs(&base, 0).await {
                    Ok(mut task_runs) => runs.append(&mut task_runs),
                    Err(error) => unreachable.push(format!("{}: {error}", task.name)),
                },
                None => unreachable.push(format!("{}: no address", task.name)),
            }
        }
        (runs, unreachable)
    }

    pub fn runs(&self, after: u64) -> Result<Vec<RunRecord>, StoreError> {
        self.state().store.runs(after)
    }

    pub fn status(&self) -> Status {
        Status {
            agent: self.name.clone(),
            busy: self.busy.load(Ordering::SeqCst),
            heads: self.heads.lock().map(|h| h.clone()).unwrap_or_default(),
            cursors: self.cursors.lock().map(|c| c.clone()).unwrap_or_default(),
        }
    }

    /// Starts the pullers and the runner in `set`. They run until aborted,
    /// or until a fault of the agent, which the set reports. Abort and
    /// drain the set to stop: a long-running task's processes are killed
    /// when its runner is dropped.
    pub fn start(
        self: &Arc<Self>,
        set: &mut tokio::task::JoinSet<Result<(), AgentError>>,
        peers: Arc<dyn Peers>,
        link: Link,
    ) {
        let _ = self.peers.set((Arc::clone(&peers), link.clone()));
        for (wire, index) in input_wires(&self.plan, &self.role) {
            let producer = self.plan.producer(&wire).map_or_else(|| GATEWAY.to_owned(), |task| task.name.clone());
            let agent = Arc::clone(self);
            let (peers, link) = (Arc::clone(&peers), link.clone());
            set.spawn(async move { agent.pull(wire, index, producer, peers, link).await });
        }
        if let Err(error) = self.fire_ready() {
            set.spawn(async move { Err(error) });
            return;
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

    async fn pull(
        self: Arc<Self>,
        wire: String,
        index: usize,
        producer: String,
        peers: Arc<dyn Peers>,
        link: Link,
    ) -> Result<(), AgentError> {
        let kind = self.plan.kind(&wire);
        let mut backoff = Duration::from_millis(50);
        loop {
            let after = self.cursors.lock().map(|c| c.get(&wire).copied().unwrap_or(0)).unwrap_or(0);
            let base = peers
                .base_url(&producer)
                .ok_or_else(|| AgentError(format!("no address for `{producer}`, the producer of `{wire}`")))?;
            let entries = match link.poll(&base, &wire, after, LONG_POLL).await {
                Ok(entries) => entries,
                Err(_) => {
                    // The producer is not up yet or restarting: try again.
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            let mut received = Vec::with_capacity(entries.len());
            for entry in entries {
                if entry.av.wire != wire {
                    return Err(AgentError(format!(
                        "`{producer}` answered a request for `{wire}` with an AV of `{}`",
                        entry.av.wire
                    )));
                }
                if kind == PayloadKind::Service {
                    // A service's announcement: its address is the payload.
                    received.push((entry.seq, entry.av, PathBuf::new()));
                    continue;
                }
                let target = self.payload_target(&entry.av);
                if let Err(_error) = link.download(&base, &entry.av, kind, &target).await {
                    break; // Commit what arrived; the rest comes on the next poll.
                }
                received.push((entry.seq, entry.av, target));
            }
            if received.is_empty() {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
            backoff = Duration::from_millis(50);
            self.receive(&wire, index, received)?;
        }
    }

    fn payload_target(&self, av: &Av) -> PathBuf {
        match &self.role {
            Role::Task(_) => self.dir.join("cache").join(av.file_name()),
            // `av.wire` is the wire this agent asked for (checked in `pull`).
            Role::Gateway { out_dir } => out_dir.join(&av.wire).join(av.file_name()),
        }
    }

    /// One transaction: the received AVs, the cursor past them, the engine
    /// after them and every snapshot that fired, as pending runs.
    fn receive(&self, wire: &str, index: usize, received: Vec<(u64, Av, PathBuf)>) -> Result<(), AgentError> {
        let Some((last_seq, _, _)) = received.last() else { return Ok(()) };
        let last_seq = *last_seq;
        let mut new_runs = 0;
        {
            let mut state = self.state();
            let State { store, engine } = &mut *state;
            let mut staged = engine.clone();
            let tx = store.transaction()?;
            // A task's input index counts triggering inputs; the gateway
            // keeps its pipeline outputs as inputs too (no engine).
            let engine_input = self.engine_input(wire);
            for (_, av, path) in &received {
                let value = tx.receive(index, av, &path.to_string_lossy())?;
                if let (Some(engine), Some(input)) = (staged.as_mut(), engine_input) {
                    engine.push(input, value);
                }
            }
            tx.set_cursor(wire, last_seq)?;
            if let Some(engine) = staged.as_mut() {
                new_runs = self.fire_all(engine, &tx)?;
                tx.save_engine(engine)?;
            }
            tx.commit()?;
            *engine = staged;
        }
        if self.plan.kind(wire) == PayloadKind::Service {
            if let (Some((_, av, _)), Ok(mut services)) = (received.last(), self.services.lock()) {
                services.insert(wire.to_owned(), av.clone());
            }
            self.service_announced.notify_waiters();
        }
        // Order matters for `quiet`: busy first, then the cursor.
        self.busy.fetch_add(new_runs, Ordering::SeqCst);
        if let Ok(mut cursors) = self.cursors.lock() {
            cursors.insert(wire.to_owned(), last_seq);
        }
        self.progress.changed();
        if new_runs > 0 {
            self.wake_runner.notify_one();
        }
        Ok(())
    }

    /// Assembles what can fire before any value arrives: a task without
    /// triggering inputs (a source, or a service such as `() server (api
    /// implicit)`) fires its one empty snapshot here, once in its life.
    fn fire_ready(&self) -> Result<(), AgentError> {
        let new_runs;
        {
            let mut state = self.state();
            let State { store, engine } = &mut *state;
            let mut staged = engine.clone();
            let Some(engine_state) = staged.as_mut() else { return Ok(()) };
            let tx = store.transaction()?;
            new_runs = self.fire_all(engine_state, &tx)?;
            if new_runs == 0 {
                return Ok(());
            }
            tx.save_engine(engine_state)?;
            tx.commit()?;
            *engine = staged;
        }
        self.busy.fetch_add(new_runs, Ordering::SeqCst);
        self.progress.changed();
        self.wake_runner.notify_one();
        Ok(())
    }

    /// Every snapshot the engine can fire now, as pending runs in `tx`.
    fn fire_all(&self, engine: &mut Engine, tx: &crate::store::Tx<'_>) -> Result<usize, AgentError> {
        let Some(task) = self.task_plan() else { return Ok(0) };
        let mut run = tx.next_run_number()?;
        let mut fired = 0;
        while let Some(snapshot) = engine.fire() {
            tx.put_run(&self.assembled(task, run, &snapshot, tx)?)?;
            run += 1;
            fired += 1;
        }
        Ok(fired)
    }

    /// The engine input that `wire` feeds: the position of its input among
    /// the triggering ones (a merge's members share one).
    fn engine_input(&self, wire: &str) -> Option<usize> {
        let task = self.task_plan()?;
        task.inputs.iter().filter(|input| !input.is_service()).position(|input| input.wires.iter().any(|w| w == wire))
    }

    fn assembled(
        &self,
        task: &TaskPlan,
        run: u64,
        snapshot: &crate::snapshot::Snapshot,
        tx: &crate::store::Tx<'_>,
    ) -> Result<RunRecord, AgentError> {
        let triggering = task.inputs.iter().filter(|input| !input.is_service());
        let mut inputs = Vec::new();
        for ((input, values), advanced) in triggering.zip(&snapshot.inputs).zip(&snapshot.advanced) {
            let avs = values.iter().map(|&value| tx.value_id(value)).collect::<Result<Vec<_>, _>>()?;
            inputs.push(SnapshotInput { input: input.name.clone(), avs, advanced: *advanced });
        }
        let superseded = snapshot.superseded.iter().map(|&value| tx.value_id(value)).collect::<Result<Vec<_>, _>>()?;
        Ok(RunRecord {
            task: task.name.clone(),
            run,
            status: RunStatus::Pending,
            snapshot: inputs,
            superseded,
            services: Vec::new(),
            definition: task.digest.clone(),
            outputs: Vec::new(),
            missing_outputs: Vec::new(),
            attempts: 0,
            exit_status: None,
            stdout_tail: None,
            stderr_tail: None,
            assembled: now(),
            started: None,
            finished: None,
        })
    }

    /// Executes pending runs, forever: up to the job limit at once (the
    /// shared semaphore, FIFO, so earlier runs start first), each finished
    /// in run order, so a task's outputs keep the order of its snapshots.
    async fn run_pending(self: Arc<Self>) -> Result<(), AgentError> {
        use futures_util::stream::{FuturesOrdered, StreamExt};
        let mut in_flight = FuturesOrdered::new();
        let mut last_started = 0;
        loop {
            for record in self.state().store.pending_runs(last_started)? {
                last_started = record.run;
                in_flight.push_back(self.run_code(record));
            }
            tokio::select! {
                Some(ran) = in_flight.next() => self.keep(ran?, true)?,
                _ = self.wake_runner.notified() => {}
            }
        }
    }

    /// Runs the code of one pending run in a free working slot.
    /// Everything a run needs before its code starts: a private working
    /// slot, its inputs' paths, its outputs' paths, and the services it
    /// calls (waiting for each to be announced; `Err` in the outer result
    /// is a fault of the agent, in the inner one why the run cannot start).
    async fn prepare<'a>(
        &self,
        task: &'a TaskPlan,
        record: &mut RunRecord,
    ) -> Result<(Invocation<'a>, Slot, Option<String>), AgentError> {
        let slot = self.take_slot()?;
        let mut inputs = Vec::new();
        {
            let state = self.state();
            for input in &record.snapshot {
                let mut paths = Vec::new();
                for id in &input.avs {
                    let (_, path) = state.store.received(id)?.ok_or_else(|| {
                        AgentError(format!("run {} names AV `{id}`, which was never received", record.run))
                    })?;
                    paths.push(PathBuf::from(path));
                }
                inputs.push((input.input.clone(), paths));
            }
        }
        let mut unavailable = None;
        let mut services = Vec::new();
        record.services.clear();
        for input in task.inputs.iter().filter(|input| input.is_service()) {
            match self.service(&input.name).await {
                Some(av) => {
                    services.push((input.name.clone(), av.stored.clone()));
                    record.services.push(ServiceUse {
                        input: input.name.clone(),
                        av: av.id.clone(),
                        task: av.task.clone(),
                        revision: av.run,
                        address: av.stored.clone(),
                    });
                }
                None => unavailable = Some(format!("the service `{}` was never announced", input.name)),
            }
        }
        let outputs: Vec<(String, PathBuf)> = task
            .outputs
            .iter()
            .filter(|output| output.kind != PayloadKind::Service)
            .map(|output| (output.wire.clone(), slot.dir.join(&output.wire)))
            .collect();
        for output in task.outputs.iter().filter(|output| output.kind == PayloadKind::Dir) {
            let path = slot.dir.join(&output.wire);
            std::fs::create_dir_all(&path).map_err(io_error("cannot create the output directory", &path))?;
        }
        let env = vec![
            ("KOALJA_NAMESPACE".to_owned(), self.plan.namespace.clone()),
            ("KOALJA_PIPELINE".to_owned(), self.plan.name.clone()),
            ("KOALJA_TASK".to_owned(), task.name.clone()),
            ("KOALJA_RUN".to_owned(), record.run.to_string()),
        ];
        let invocation = Invocation { task, inputs, services, outputs, env, dir: slot.dir.clone() };
        Ok((invocation, slot, unavailable))
    }

    /// The newest announcement of the service behind `wire`, waiting up to
    /// `SERVICE_WAIT` for a first one.
    async fn service(&self, wire: &str) -> Option<Av> {
        let deadline = tokio::time::Instant::now() + SERVICE_WAIT;
        loop {
            let announced = self.service_announced.notified();
            if let Some(av) = self.services.lock().ok().and_then(|services| services.get(wire).cloned()) {
                return Some(av);
            }
            if tokio::time::timeout_at(deadline, announced).await.is_err() {
                return None;
            }
        }
    }

    /// Runs the code of one pending run to its end.
    async fn run_code(&self, mut record: RunRecord) -> Result<Ran, AgentError> {
        let Some(task) = self.task_plan() else { return Err(AgentError("only tasks run code".into())) };
        let (invocation, slot, unavailable) = self.prepare(task, &mut record).await?;
        let outcome = match unavailable {
            Some(reason) => Outcome::failed(None, reason),
            None => {
                let _job = self.progress.jobs.acquire().await.map_err(|_| AgentError("job slots closed".into()))?;
                record.started = Some(now());
                invocation.run().await
            }
        };
        record.apply(outcome);
        Ok(Ran { record, outputs: invocation.outputs, slot })
    }

    /// The runner of a long-running task (`service:` or `launch: restart`):
    /// one process at a time, from the newest snapshot; a newer snapshot
    /// stops it and starts anew (older waiting ones are replaced unseen).
    /// A service is announced on its implicit outputs (address and
    /// revision, which is the run number) once its port accepts
    /// connections; it then no longer counts as busy, so a local run can
    /// end while it serves.
    async fn run_long(self: Arc<Self>, address: Option<String>) -> Result<(), AgentError> {
        let Some(task) = self.task_plan() else { return Ok(()) };
        let mut current: Option<Current> = None;
        loop {
            let mut unfinished = self.state().store.unfinished_runs()?;
            unfinished.retain(|run| current.as_ref().is_none_or(|c| c.ran.record.run != run.run));
            if let Some(newest) = unfinished.pop() {
                for older in unfinished {
                    self.replaced(older, None)?;
                }
                if let Some(mut old) = current.take() {
                    let outcome = old.running.stop(STOP_GRACE).await;
                    old.ran.record.apply(outcome);
                    self.replaced(old.ran.record, Some(old.ran.slot))?;
                }
                current = self.start_long(task, newest, address.as_deref()).await?;
            }
            let exited = async {
                match current.as_mut() {
                    Some(current) => current.running.exited().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                outcome = exited => {
                    if let Some(mut done) = current.take() {
                        done.ran.record.apply(outcome);
                        self.keep(done.ran, !done.announced)?;
                    }
                }
                _ = self.wake_runner.notified() => {}
            }
        }
    }

    /// Starts a long-running run; `None` when it could not start (recorded).
    async fn start_long(
        &self,
        task: &TaskPlan,
        mut record: RunRecord,
        address: Option<&str>,
    ) -> Result<Option<Current>, AgentError> {
        let counted = record.status == RunStatus::Pending;
        let (invocation, slot, unavailable) = self.prepare(task, &mut record).await?;
        record.started = Some(now());
        let started = match unavailable {
            Some(reason) => Err(Outcome::failed(None, reason)),
            None => invocation.start(),
        };
        let outputs = invocation.outputs;
        let mut running = match started {
            Ok(running) => running,
            Err(outcome) => {
                record.apply(outcome);
                self.keep(Ran { record, outputs, slot }, counted)?;
                return Ok(None);
            }
        };
        let (Some(address), Some(port)) = (address, task.service_port) else {
            return Ok(Some(Current { ran: Ran { record, outputs, slot }, running, announced: !counted }));
        };
        // Announce only once the port answers; a service that exits first
        // is a failed run.
        let ready = async {
            loop {
                if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let up = tokio::select! {
            up = tokio::time::timeout(SERVICE_WAIT, ready) => up.is_ok(),
            outcome = running.exited() => {
                record.apply(outcome);
                self.keep(Ran { record, outputs, slot }, counted)?;
                return Ok(None);
            }
        };
        if !up {
            let mut outcome = running.stop(Duration::ZERO).await;
            outcome.stderr_tail = Some(format!(
                "the service did not accept connections on port {port} within {} s\n{}",
                SERVICE_WAIT.as_secs(),
                outcome.stderr_tail.unwrap_or_default()
            ));
            record.apply(Outcome { succeeded: false, ..outcome });
            self.keep(Ran { record, outputs, slot }, counted)?;
            return Ok(None);
        }
        record.status = RunStatus::Running;
        let sources: Vec<String> = record.snapshot.iter().flat_map(|input| input.avs.iter().cloned()).collect();
        let mut announcements = Vec::new();
        for output in task.outputs.iter().filter(|output| output.kind == PayloadKind::Service) {
            let id = Av::output_id(&task.name, record.run, &output.wire);
            if self.published_av(&id)?.is_some() {
                continue; // Announced before a restart; the address is the same.
            }
            announcements.push(Av {
                id,
                wire: output.wire.clone(),
                task: task.name.clone(),
                run: record.run,
                inputs: sources.clone(),
                definition: task.digest.clone(),
                content: String::new(),
                size: 0,
                name: output.wire.clone(),
                created: now(),
                stored: address.to_owned(),
            });
        }
        self.finish(&record, &announcements, counted)?;
        self.progress.changed();
        Ok(Some(Current { ran: Ran { record, outputs, slot }, running, announced: true }))
    }

    /// Records a run that a newer snapshot replaced.
    fn replaced(&self, mut record: RunRecord, slot: Option<Slot>) -> Result<(), AgentError> {
        let counted = record.status == RunStatus::Pending;
        record.status = RunStatus::Replaced;
        record.finished = Some(now());
        self.finish(&record, &[], counted)?;
        if let Some(slot) = slot {
            self.release_slot(slot);
        }
        self.progress.changed();
        Ok(())
    }

    /// Keeps a finished run: its outputs become AVs, published with the
    /// run's record in one transaction; then its slot is free again.
    fn keep(&self, ran: Ran, counted: bool) -> Result<(), AgentError> {
        let Some(task) = self.task_plan() else { return Ok(()) };
        let Ran { mut record, outputs, slot } = ran;
        let mut avs = Vec::new();
        if record.status == RunStatus::Succeeded {
            let sources: Vec<String> = record.snapshot.iter().flat_map(|input| input.avs.iter().cloned()).collect();
            for (wire, written) in &outputs {
                if !written.exists() {
                    record.missing_outputs.push(wire.clone());
                    continue;
                }
                let id = Av::output_id(&task.name, record.run, wire);
                let stored = self.dir.join("payloads").join(&id);
                remove_any(&stored);
                std::fs::rename(written, &stored).map_err(io_error("cannot keep the output", written))?;
                read_only(&stored);
                let (content, size) = content_digest(&stored).map_err(io_error("cannot read the output", &stored))?;
                avs.push(Av {
                    id: id.clone(),
                    wire: wire.clone(),
                    task: task.name.clone(),
                    run: record.run,
                    inputs: sources.clone(),
                    definition: task.digest.clone(),
                    content,
                    size,
                    name: wire.clone(),
                    created: now(),
                    stored: stored.to_string_lossy().into_owned(),
                });
                record.outputs.push(id);
            }
        }
        self.finish(&record, &avs, counted)?;
        self.release_slot(slot);
        if record.status == RunStatus::Succeeded {
            self.progress.succeeded.fetch_add(1, Ordering::SeqCst);
        } else {
            self.progress.failed.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut failures) = self.progress.failures.lock() {
                failures.push(record);
            }
        }
        self.progress.changed();
        Ok(())
    }

    /// A private working directory for one run: `runs/<pid>/<k>/`, emptied
    /// of what the last run there left. Per process, because after a crash
    /// the killed agent's children may still be writing into theirs; reused,
    /// because a new directory per run costs an inode allocation, which
    /// showed as the largest cost of small runs.
    fn take_slot(&self) -> Result<Slot, AgentError> {
        let index = {
            let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match slots.free.pop() {
                Some(index) => index,
                None => {
                    slots.created += 1;
                    slots.created
                }
            }
        };
        let dir = self.dir.join("runs").join(std::process::id().to_string()).join(index.to_string());
        if dir.exists() {
            let entries = std::fs::read_dir(&dir).map_err(io_error("cannot read the run directory", &dir))?;
            for entry in entries.flatten() {
                remove_any(&entry.path());
            }
        } else {
            std::fs::create_dir_all(&dir).map_err(io_error("cannot create the run directory", &dir))?;
        }
        Ok(Slot { index, dir })
    }

    fn release_slot(&self, slot: Slot) {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).free.push(slot.index);
    }

    /// One transaction: the outputs published and the run's record. A run
    /// that was `counted` as busy stops counting.
    fn finish(&self, record: &RunRecord, avs: &[Av], counted: bool) -> Result<(), AgentError> {
        let mut published = Vec::new();
        {
            let mut state = self.state();
            let tx = state.store.transaction()?;
            for av in avs {
                published.push((av.wire.clone(), tx.publish(av)?));
            }
            tx.put_run(record)?;
            tx.commit()?;
        }
        self.announce(&published);
        // Order matters for `quiet`: heads first, then busy.
        if counted {
            self.busy.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// After a commit: the new heads, and long-polls woken.
    fn announce(&self, published: &[(String, u64)]) {
        let Some(newest) = published.iter().map(|(_, seq)| *seq).max() else { return };
        if let Ok(mut heads) = self.heads.lock() {
            for (wire, seq) in published {
                heads.insert(wire.clone(), *seq);
            }
        }
        self.published.send_replace(newest);
    }

    /// Feeds a file into pipeline input `wire` (gateway only). Feeding the
    /// same content under the same name into the same wire again is a
    /// no-op, so re-running a command with the same `--drop` never feeds a
    /// file twice.
    pub async fn drop_file(&self, wire: &str, name: &str, source: &Path) -> Result<Fed, AgentError> {
        if !matches!(self.role, Role::Gateway { .. }) {
            return Err(AgentError("only the gateway takes file drops".into()));
        }
        if !self.plan.pipeline_inputs.iter().any(|input| input == wire) {
            return Err(AgentError(format!(
                "`{wire}` is not a pipeline input; the inputs are {}",
                self.plan.pipeline_inputs.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        let name = crate::record::safe_file_name(name)
            .ok_or_else(|| AgentError(format!("`{name}` cannot be used as a file name")))?;
        let source_owned = source.to_path_buf();
        let (content, size) = tokio::task::spawn_blocking(move || content_digest(&source_owned))
            .await
            .map_err(|e| AgentError(e.to_string()))?
            .map_err(io_error("cannot read", source))?;
        let key = format!("drop:{wire}:{name}:{content}");
        if let Some(id) = self.state().store.meta(&key)? {
            return Ok(Fed { av: id, new: false });
        }
        // Copy under a temporary name first; the rename and the commit
        // happen under the lock, so drop numbers are dense and unique.
        let staged = self.dir.join("staging").join(content.trim_start_matches("sha256:"));
        std::fs::copy(source, &staged).map_err(io_error("cannot copy", source))?;
        let (id, seq) = {
            let mut state = self.state();
            let tx = state.store.transaction()?;
            let number = tx.meta("drops")?.and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) + 1;
            let id = format!("{GATEWAY}.{number}.{wire}");
            let mut av = Av {
                id: id.clone(),
                wire: wire.to_owned(),
                task: GATEWAY.to_owned(),
                run: number,
                inputs: Vec::new(),
                definition: String::new(),
                content,
                size,
                name,
                created: now(),
                stored: String::new(),
            };
            let stored = self.dir.join("payloads").join(av.file_name());
            remove_any(&stored);
            std::fs::rename(&staged, &stored).map_err(io_error("cannot keep", &staged))?;
            read_only(&stored);
            av.stored = stored.to_string_lossy().into_owned();
            let seq = tx.publish(&av)?;
            tx.set_meta(&key, &id)?;
            tx.set_meta("drops", &number.to_string())?;
            tx.commit()?;
            (id, seq)
        };
        self.announce(&[(wire.to_owned(), seq)]);
        self.progress.changed();
        Ok(Fed { av: id, new: true })
    }
}

/// A kept payload file is never written again; read-only, so a consumer's
/// code cannot change it in place through a hard-linked cache entry.
fn read_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if path.is_file() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444));
    }
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
        Role::Gateway { .. } => plan.pipeline_outputs.iter().cloned().enumerate().map(|(i, wire)| (wire, i)).collect(),
    }
}
