//! Long-running tasks: services (announced on their implicit outputs) and
//! `launch: restart`, one process at a time from the newest snapshot.

use super::*;

/// How long a run waits for a service it calls to be announced, and a
/// service for its port to accept connections.
pub(super) const SERVICE_WAIT: Duration = Duration::from_secs(60);
/// Between SIGTERM and SIGKILL when a newer snapshot replaces a process.
pub(super) const STOP_GRACE: Duration = Duration::from_secs(5);

/// The process of a long-running task and its run.
pub(super) struct Current {
    pub(super) ran: Ran,
    pub(super) running: crate::exec::Running,
    /// Announced (a service that is up): no longer counted as busy.
    pub(super) announced: bool,
}

impl Agent {
    /// The runner of a long-running task (`service:` or `launch: restart`):
    /// one process at a time, from the newest snapshot; a newer snapshot
    /// stops it and starts anew (older waiting ones are replaced unseen).
    /// A service is announced on its implicit outputs (address and
    /// revision, which is the run number) once its port accepts
    /// connections; it then no longer counts as busy, so a local run can
    /// end while it serves. On the process's stop the process gets
    /// SIGTERM and the drain's grace; its run stays unfinished, so the next
    /// start starts it again.
    pub(super) async fn run_long(self: Arc<Self>, address: Option<String>) -> Result<(), AgentError> {
        let Some(task) = self.task_plan() else { return Ok(()) };
        let mut current: Option<Current> = None;
        while !self.progress.is_stopping() {
            let mut unfinished = self.off_async(|agent| agent.state().store.unfinished_runs()).await?;
            unfinished.retain(|run| current.as_ref().is_none_or(|c| c.ran.record.run != run.run));
            if let Some(newest) = unfinished.pop() {
                self.off_async(move |agent| unfinished.into_iter().try_for_each(|older| agent.replaced(older, None)))
                    .await?;
                if let Some(mut old) = current.take() {
                    let outcome = old.running.stop(STOP_GRACE).await;
                    old.ran.record.apply(outcome);
                    self.off_async(move |agent| agent.replaced(old.ran.record, Some(old.ran.slot))).await?;
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
                        self.off_async(move |agent| agent.keep(done.ran, !done.announced)).await?;
                    }
                }
                _ = self.wake_runner.notified() => {}
                _ = self.progress.stopping() => {}
            }
        }
        if let Some(mut current) = current {
            current.running.stop(self.progress.drain.grace).await;
            self.release_slot(current.ran.slot);
        }
        Ok(())
    }

    /// Starts a long-running run; `None` when it could not start (recorded),
    /// or the process is stopping (not recorded).
    pub(super) async fn start_long(
        self: &Arc<Self>,
        task: &TaskPlan,
        mut record: RunRecord,
        address: Option<&str>,
    ) -> Result<Option<Current>, AgentError> {
        let counted = record.status == RunStatus::Pending;
        let (invocation, slot, unavailable) = self.prepare(task, &mut record).await?;
        if self.progress.is_stopping() {
            self.release_slot(slot);
            return Ok(None);
        }
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
                self.off_async(move |agent| agent.keep(Ran { record, outputs, slot }, counted)).await?;
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
                self.off_async(move |agent| agent.keep(Ran { record, outputs, slot }, counted)).await?;
                return Ok(None);
            }
            // Stopping before it was up: it starts again at the next start.
            _ = self.progress.stopping() => {
                running.stop(self.progress.drain.grace).await;
                self.release_slot(slot);
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
            self.off_async(move |agent| agent.keep(Ran { record, outputs, slot }, counted)).await?;
            return Ok(None);
        }
        record.status = RunStatus::Running;
        let sources: Vec<String> = record.snapshot.iter().flat_map(|input| input.avs.iter().cloned()).collect();
        let ids: Vec<(String, String)> = task
            .outputs
            .iter()
            .filter(|output| output.kind == PayloadKind::Service)
            .map(|output| (Av::output_id(&task.name, record.run, &output.wire), output.wire.clone()))
            .collect();
        // Those announced before a restart stay as they are: the address is the same.
        let unannounced = self
            .off_async(move |agent| {
                let mut unannounced = Vec::new();
                for (id, wire) in ids {
                    if agent.published_av(&id)?.is_none() {
                        unannounced.push((id, wire));
                    }
                }
                Ok::<_, AgentError>(unannounced)
            })
            .await?;
        let mut announcements = Vec::new();
        for (id, wire) in unannounced {
            announcements.push(Av {
                id,
                wire: wire.clone(),
                task: task.name.clone(),
                run: record.run,
                inputs: sources.clone(),
                definition: task.digest.clone(),
                content: String::new(),
                size: 0,
                name: wire,
                created: now(),
                stored: address.to_owned(),
                removed: None,
            });
        }
        let record =
            self.off_async(move |agent| agent.finish(&record, &announcements, counted).map(|()| record)).await?;
        self.progress.changed();
        Ok(Some(Current { ran: Ran { record, outputs, slot }, running, announced: true }))
    }

    /// Records a run that a newer snapshot replaced.
    pub(super) fn replaced(&self, mut record: RunRecord, slot: Option<Slot>) -> Result<(), AgentError> {
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
}
