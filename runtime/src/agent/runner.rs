//! Running a task's code for each pending run, many at once, finished in
//! run order; each run in a private working slot; outputs kept as AVs.

use super::*;

/// A run's working directory, private to it while it runs.
pub(super) struct Slot {
    pub(super) index: usize,
    pub(super) dir: PathBuf,
}

#[derive(Default)]
pub(super) struct Slots {
    pub(super) free: Vec<usize>,
    pub(super) created: usize,
}

/// A run whose code has finished, before its outputs are kept.
pub(super) struct Ran {
    pub(super) record: RunRecord,
    pub(super) outputs: Vec<(String, PathBuf)>,
    pub(super) slot: Slot,
}

impl Agent {
    /// Executes pending runs until the process stops: up to the job limit
    /// at once (the shared semaphore, FIFO, so earlier runs start first),
    /// each finished in run order, so a task's outputs keep the order of
    /// its snapshots. On the stop it drains: the runs in flight are told to
    /// stop, and those that finish before the first one cut short are kept;
    /// the rest stay pending and run again at the next start (keeping a
    /// later run alone would publish out of order).
    pub(super) async fn run_pending(self: Arc<Self>) -> Result<(), AgentError> {
        use futures_util::stream::{FuturesOrdered, StreamExt};
        let mut in_flight = FuturesOrdered::new();
        let mut last_started = 0;
        // A run cut short by the drain: none after it is kept.
        let mut cut_short = false;
        while !self.progress.is_stopping() {
            for record in self.off_async(move |agent| agent.state().store.pending_runs(last_started)).await? {
                last_started = record.run;
                in_flight.push_back(self.run_code(record));
            }
            tokio::select! {
                Some(ended) = in_flight.next() => match ended? {
                    Ok(ran) => self.off_async(|agent| agent.keep(ran, true)).await?,
                    // Only once stopping, which ends this loop.
                    Err(Interrupted) => cut_short = true,
                },
                _ = self.wake_runner.notified() => {}
                _ = self.progress.stopping() => {}
            }
        }
        while let Some(ended) = in_flight.next().await {
            match ended? {
                Ok(ran) if !cut_short => self.off_async(|agent| agent.keep(ran, true)).await?,
                Ok(ran) => self.release_slot(ran.slot),
                Err(Interrupted) => cut_short = true,
            }
        }
        Ok(())
    }

    /// Everything a run needs before its code starts: a private working
    /// slot, its inputs' paths, its outputs' paths, and the services it
    /// calls (waiting for each to be announced). `Err` is a fault of the
    /// agent; the third value, when set, says why the run cannot start.
    pub(super) async fn prepare<'a>(
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
    pub(super) async fn service(&self, wire: &str) -> Option<Av> {
        let deadline = tokio::time::Instant::now() + SERVICE_WAIT;
        loop {
            let announced = self.service_announced.notified();
            if let Some(av) = self.services.lock().ok().and_then(|services| services.get(wire).cloned()) {
                return Some(av);
            }
            tokio::select! {
                waited = tokio::time::timeout_at(deadline, announced) => if waited.is_err() { return None },
                // Stopping: the run will not start, whatever it gets.
                _ = self.progress.stopping() => return None,
            }
        }
    }

    /// Runs the code of one pending run to its end (the run, succeeded or
    /// failed), or until the drain cuts it short (it stays pending).
    pub(super) async fn run_code(&self, mut record: RunRecord) -> Result<Result<Ran, Interrupted>, AgentError> {
        let Some(task) = self.task_plan() else { return Err(AgentError("only tasks run code".into())) };
        // The job slot first: every pending run's future is polled at once,
        // and a working directory is taken only by a run about to start.
        let _job = self.progress.jobs.acquire().await.map_err(|_| AgentError("job slots closed".into()))?;
        if self.progress.is_stopping() {
            return Ok(Err(Interrupted));
        }
        let (invocation, slot, unavailable) = self.prepare(task, &mut record).await?;
        if unavailable.is_some() && self.progress.is_stopping() {
            // A service the drain stopped waiting for: not the run's fault.
            self.release_slot(slot);
            return Ok(Err(Interrupted));
        }
        let outcome = match unavailable {
            Some(reason) => Outcome::failed(None, reason),
            None => {
                record.started = Some(now());
                match invocation.run(&self.progress.drain).await {
                    Ok(outcome) => outcome,
                    Err(Interrupted) => {
                        self.release_slot(slot);
                        return Ok(Err(Interrupted));
                    }
                }
            }
        };
        record.apply(outcome);
        Ok(Ok(Ran { record, outputs: invocation.outputs, slot }))
    }

    /// Keeps a finished run: its outputs become AVs, published with the
    /// run's record in one transaction; then its slot is free again.
    pub(super) fn keep(&self, ran: Ran, counted: bool) -> Result<(), AgentError> {
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
                    removed: None,
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
    pub(super) fn take_slot(&self) -> Result<Slot, AgentError> {
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

    pub(super) fn release_slot(&self, slot: Slot) {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).free.push(slot.index);
    }

    /// One transaction: the outputs published and the run's record. A run
    /// that was `counted` as busy stops counting.
    pub(super) fn finish(&self, record: &RunRecord, avs: &[Av], counted: bool) -> Result<(), AgentError> {
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
        // Outputs to keep, and inputs this run no longer holds.
        self.sweep_wanted.notify_one();
        // Order matters for `quiet`: heads first, then busy.
        if counted {
            self.busy.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }

    /// After a commit: the new heads, and long-polls woken.
    pub(super) fn announce(&self, published: &[(String, u64)]) {
        let Some(newest) = published.iter().map(|(_, seq)| *seq).max() else { return };
        if let Ok(mut heads) = self.heads.lock() {
            for (wire, seq) in published {
                heads.insert(wire.clone(), *seq);
            }
        }
        self.published.send_replace(newest);
    }
}
