//! An agent's inputs: long-polling each producer, downloading payloads, and
//! committing what arrived with the snapshots it made fire.

use super::*;

/// A payload refused this many times in a row stops the agent (exit 64, the
/// reason on stderr) rather than waiting on it for ever.
const MISMATCHES_BEFORE_FAULT: u32 = 3;

/// The longest wait between polls a producer refuses (a 4xx answer).
const REFUSED_RETRY: Duration = Duration::from_secs(30);

impl Agent {
    pub(super) async fn pull(
        self: Arc<Self>,
        wire: String,
        index: usize,
        producer: String,
        peers: Arc<dyn Peers>,
        link: Link,
    ) -> Result<(), AgentError> {
        let kind = self.plan.kind(&wire);
        let mut backoff = Duration::from_millis(50);
        // Refusals of one AV's payload in a row (its bytes were not its digest's).
        let mut refused: Option<(String, u32)> = None;
        loop {
            let after = self.cursors.lock().map(|c| c.get(&wire).copied().unwrap_or(0)).unwrap_or(0);
            let base = peers
                .base_url(&producer)
                .ok_or_else(|| AgentError(format!("no address for `{producer}`, the producer of `{wire}`")))?;
            let entries = match link.poll(&base, &wire, after, LONG_POLL, Some(self.consumer_name(&wire))).await {
                Ok(entries) => entries,
                Err(error) => {
                    // The producer is not up yet or restarting: try again
                    // soon. A refusal (401, 404: another token, another IR
                    // mid-rollout) is reported and tried again slowly.
                    let limit = if error.is_refusal() { REFUSED_RETRY } else { Duration::from_secs(2) };
                    if error.is_refusal() || backoff >= Duration::from_secs(2) {
                        self.trouble(format!("cannot take `{wire}` from `{producer}`: {error}"));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(limit);
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
                match link.download(&base, &entry.av, kind, &target, self.consumer_name(&wire)).await {
                    Ok(()) => refused = None,
                    Err(DownloadError::Link(error)) => {
                        // Commit what arrived; the rest comes on the next poll.
                        self.trouble(format!("cannot download {} from `{producer}`: {error}", entry.av.id));
                        break;
                    }
                    Err(error @ DownloadError::Mismatch { .. }) => {
                        self.trouble(error.to_string());
                        // Fetched again on the next poll; a producer that keeps
                        // serving other bytes than it recorded is a fault.
                        let times = match &refused {
                            Some((id, times)) if *id == entry.av.id => times + 1,
                            _ => 1,
                        };
                        if times >= MISMATCHES_BEFORE_FAULT {
                            return Err(AgentError(format!("{error}, {times} times from `{producer}`")));
                        }
                        refused = Some((entry.av.id.clone(), times));
                        break;
                    }
                }
                received.push((entry.seq, entry.av, target));
            }
            if received.is_empty() {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
            backoff = Duration::from_millis(50);
            let taken = wire.clone();
            self.off_async(move |agent| agent.receive(&taken, index, received)).await?;
        }
    }

    pub(super) fn payload_target(&self, av: &Av) -> PathBuf {
        match &self.role {
            Role::Task(_) => self.dir.join("cache").join(av.file_name()),
            // `av.wire` is the wire this agent asked for (checked in `pull`).
            Role::Gateway { out_dir, .. } => out_dir.join(&av.wire).join(av.file_name()),
        }
    }

    /// One transaction: the received AVs, the cursor past them, the engine
    /// after them and every snapshot that fired, as pending runs.
    pub(super) fn receive(
        &self,
        wire: &str,
        index: usize,
        received: Vec<(u64, Av, PathBuf)>,
    ) -> Result<(), AgentError> {
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
        self.sweep_wanted.notify_one();
        if new_runs > 0 {
            self.wake_runner.notify_one();
        }
        Ok(())
    }

    /// Assembles what can fire before any value arrives: a task without
    /// triggering inputs (a source, or a service such as `() server (api
    /// implicit)`) fires its one empty snapshot here, once in its life.
    pub(super) fn fire_ready(&self) -> Result<(), AgentError> {
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
    pub(super) fn fire_all(&self, engine: &mut Engine, tx: &crate::store::Tx<'_>) -> Result<usize, AgentError> {
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
    pub(super) fn engine_input(&self, wire: &str) -> Option<usize> {
        let task = self.task_plan()?;
        task.inputs.iter().filter(|input| !input.is_service()).position(|input| input.wires.iter().any(|w| w == wire))
    }

    pub(super) fn assembled(
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
}
