//! Retention (`keep:`): removing the payloads an agent no longer needs, so a
//! pipeline that streams for weeks stays within its volume. An agent applies
//! its own `keep` (a task's, or for the gateway the pipeline's `defaults`) to
//! every payload it stores:
//! - what it published (its outputs; the gateway's drops), only once every
//!   consumer of the wire has taken it: a consumer that asks for what comes
//!   after position N has committed everything up to N (`taken`);
//! - its copies of its inputs (the gateway's collected outputs), never one
//!   the snapshot engine still holds (waiting, or in a window) or an
//!   unfinished run names.
//!
//! Only the bytes go: the AV and run records stay, marked `removed`, so
//! `trace` can still tell the story. A sweep deletes a batch of files first
//! and then marks them in one transaction: after a crash between the two,
//! the unmarked rows are found again by the next sweep (deleting a missing
//! file is a no-op), and nobody asks for them meanwhile (each consumer has
//! taken them, and no run of this agent needs them).

use std::collections::BTreeSet;

use super::*;
use crate::plan::Keep;

/// Most payloads one sweep removes before it lets the agent's other work
/// at the store: a sweep after a long pause goes on in the next one.
const SWEEP_BATCH: usize = 512;

/// Sweeps are at least this far apart: one after every commit would cost
/// more than the payloads it removes.
const SWEEP_GAP: Duration = Duration::from_millis(200);

/// A `keep: "7d"` payload ages without any commit: look again this often.
const SWEEP_PERIOD: Duration = Duration::from_secs(30);

impl Agent {
    /// This agent's retention: its task's `keep`, or the gateway's.
    pub(super) fn retention(&self) -> Keep {
        self.task_plan().map_or(self.plan.gateway_keep, |task| task.keep)
    }

    /// Consumer `consumer` asked for `wire` after outbox position `after`,
    /// so it has taken everything up to it. A name that does not consume
    /// the wire (a person's `koaljac log`) takes nothing.
    pub fn taken(&self, wire: &str, consumer: &str, after: u64) -> Result<(), StoreError> {
        if after == 0 || !self.plan.consumers(wire).contains(&consumer) {
            return Ok(());
        }
        let key = (wire.to_owned(), consumer.to_owned());
        {
            let known = self.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if known.get(&key).is_some_and(|&seq| seq >= after) {
                return Ok(());
            }
        }
        {
            let mut state = self.state();
            let tx = state.store.transaction()?;
            tx.set_taken(wire, consumer, after)?;
            tx.commit()?;
        }
        self.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key, after);
        self.sweep_wanted.notify_one();
        Ok(())
    }

    /// Sweeps until aborted: soon after a change that may have made a
    /// payload removable, and every `SWEEP_PERIOD` for age-based retention.
    pub(super) async fn sweep_forever(self: Arc<Self>) -> Result<(), AgentError> {
        if self.retention() == Keep::All {
            return Ok(());
        }
        loop {
            let removed = self.off_async(|agent| agent.sweep()).await?;
            if removed == SWEEP_BATCH {
                // More to remove: go on after a breath.
                tokio::time::sleep(SWEEP_GAP).await;
                continue;
            }
            let _ = tokio::time::timeout(SWEEP_PERIOD, self.sweep_wanted.notified()).await;
            tokio::time::sleep(SWEEP_GAP).await;
        }
    }

    /// One sweep (blocking: SQLite and file deletions): removes up to
    /// `SWEEP_BATCH` payloads beyond this agent's `keep`; returns how many.
    pub fn sweep(&self) -> Result<usize, AgentError> {
        let keep = self.retention();
        if keep == Keep::All {
            return Ok(0);
        }
        let (published, received) = {
            let state = self.state();
            let store = &state.store;
            let mut published = Vec::new();
            for wire in self.published_wires() {
                let consumers = self.plan.consumers(&wire);
                let taken = store.taken(&wire)?;
                // A wire nobody consumes is taken as soon as it is published.
                let taken_by_all = consumers
                    .iter()
                    .map(|consumer| taken.get(*consumer).copied().unwrap_or(0))
                    .min()
                    .unwrap_or(u64::MAX);
                let room = SWEEP_BATCH - published.len();
                published.extend(store.removable_published(&wire, taken_by_all, keep, room)?);
                if published.len() >= SWEEP_BATCH {
                    break;
                }
            }
            let held = self.held(store, state.engine.as_ref())?;
            let mut received = Vec::new();
            for wire in self.received_wires() {
                let room = SWEEP_BATCH.saturating_sub(published.len() + received.len());
                if room == 0 {
                    break;
                }
                // Held payloads are few (windows, waiting values): asking
                // for that many more keeps a batch full.
                let found = store.removable_received(&wire, keep, room + held.len())?;
                received.extend(found.into_iter().filter(|r| !held.contains(&r.id)).take(room));
            }
            (published, received)
        };
        if published.is_empty() && received.is_empty() {
            return Ok(0);
        }
        for removable in published.iter().chain(&received) {
            remove_any(Path::new(&removable.path));
        }
        let ids = |list: &[crate::store::Removable]| list.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        {
            let mut state = self.state();
            let tx = state.store.transaction()?;
            tx.mark_removed(&ids(&published), &ids(&received), &now())?;
            tx.commit()?;
        }
        Ok(published.len() + received.len())
    }

    /// Sweeps until nothing more is removable (blocking).
    pub fn sweep_all(&self) -> Result<(), AgentError> {
        while self.sweep()? == SWEEP_BATCH {}
        Ok(())
    }

    /// The AV ids of received payloads still needed: held by the engine,
    /// or named by a run that has not finished.
    fn held(&self, store: &Store, engine: Option<&Engine>) -> Result<BTreeSet<String>, AgentError> {
        let mut held = BTreeSet::new();
        if let Some(engine) = engine {
            for value in engine.held() {
                if let Some(id) = store.value_id(value)? {
                    held.insert(id);
                }
            }
        }
        for run in store.unfinished_runs()? {
            held.extend(run.snapshot.into_iter().flat_map(|input| input.avs));
        }
        Ok(held)
    }

    /// The wires whose payloads this agent publishes (a service's
    /// announcements are addresses, not files).
    fn published_wires(&self) -> Vec<String> {
        let Ok(heads) = self.heads.lock() else { return Vec::new() };
        heads.keys().filter(|wire| self.plan.kind(wire) != PayloadKind::Service).cloned().collect()
    }

    /// The wires whose payloads this agent keeps copies of.
    fn received_wires(&self) -> Vec<String> {
        input_wires(&self.plan, &self.role)
            .into_iter()
            .map(|(wire, _)| wire)
            .filter(|wire| self.plan.kind(wire) != PayloadKind::Service)
            .collect()
    }
}
