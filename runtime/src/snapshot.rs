//! The snapshot engine: LANGUAGE.md §3 as a pure state machine. Values go in
//! (`push`), snapshots come out (`fire`); no clock, no I/O, no threads, so
//! every rule is a unit test and the invariants are property tests.
//!
//! A value is a `ValueId`: the consumer's own sequence number of an AV it
//! received, increasing in arrival order. Inputs are the task's *triggering*
//! inputs in wiring order (implicit service inputs never fire a run and are
//! not files, so the agent keeps them out of the engine). A merge is one
//! input: the agent pushes every member's values into the same index, in
//! arrival order. The whole state is serde-serialisable: the agent stores it
//! in the same transaction as the cursor advance that changed it, so a
//! restart continues exactly where the last commit left it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::plan::{Firing, Policy};

pub type ValueId = u64;

/// One input's rule after the policy is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    /// all-new and swap-new-for-old: at least `min`, at most `max` unused values.
    Count { min: u64, max: u64 },
    /// sliding-window: a window of `size` that moves `slide` values at a time.
    Window { size: u64, slide: u64 },
}

impl Rule {
    /// The rule for a triggering input under `policy`; `None` for a service
    /// input. A plain `[N]` (or `x`) under sliding-window is a tumbling
    /// window `[N/N]`, as LANGUAGE.md §3 says.
    pub fn for_input(policy: Policy, firing: Firing) -> Option<Rule> {
        match (policy, firing) {
            (_, Firing::Service) => None,
            (Policy::SlidingWindow, Firing::Count { max, .. }) => Some(Rule::Window { size: max, slide: max }),
            (_, Firing::Count { min, max }) => Some(Rule::Count { min, max }),
            (_, Firing::Window { size, slide }) => Some(Rule::Window { size, slide }),
        }
    }
}

/// What one run sees: for each triggering input, its values oldest first,
/// and whether the input advanced (new values) or was reused as it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub inputs: Vec<Vec<ValueId>>,
    pub advanced: Vec<bool>,
    /// Values that arrived but will never be seen, because a newer one
    /// replaced them first (swap-new-for-old only).
    pub superseded: Vec<ValueId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InputState {
    rule: Rule,
    /// Values that have arrived and were not yet taken, oldest first.
    waiting: VecDeque<ValueId>,
    /// The values the last snapshot saw on this input (the current window
    /// under sliding-window, the newest value under swap-new-for-old).
    current: VecDeque<ValueId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    policy: Policy,
    inputs: Vec<InputState>,
    /// At least one snapshot has fired. A task without triggering inputs (a
    /// source such as `() ticker (tick)`) fires exactly one empty snapshot.
    started: bool,
}

impl Engine {
    pub fn new(policy: Policy, rules: &[Rule]) -> Engine {
        let inputs =
            rules.iter().map(|&rule| InputState { rule, waiting: VecDeque::new(), current: VecDeque::new() }).collect();
        Engine { policy, inputs, started: false }
    }

    /// Whether a saved engine belongs to the same task definition as a
    /// fresh one (same policy and rules), so its state can be resumed.
    pub fn same_shape(&self, other: &Engine) -> bool {
        self.policy == other.policy
            && self.inputs.len() == other.inputs.len()
            && self.inputs.iter().zip(&other.inputs).all(|(a, b)| a.rule == b.rule)
    }

    /// Every value a later snapshot may still take: those waiting, and the
    /// ones the last snapshot saw that a window or swap reuses. Retention
    /// never removes the payload of one of these.
    pub fn held(&self) -> impl Iterator<Item = ValueId> + '_ {
        self.inputs.iter().flat_map(|input| input.waiting.iter().chain(&input.current).copied())
    }

    pub fn input_count(&self) -> usize {
        self.inputs.len()
    }

    /// A value arrived on triggering input `input` (out of range is ignored:
    /// the agent maps wires to inputs from the same plan).
    pub fn push(&mut self, input: usize, value: ValueId) {
        if let Some(state) = self.inputs.get_mut(input) {
            state.waiting.push_back(value);
        }
    }

    /// The next snapshot, if one can fire now. Call until `None`: all-new
    /// and sliding-window may have several ready after a burst of values.
    pub fn fire(&mut self) -> Option<Snapshot> {
        if self.inputs.is_empty() {
            return (!std::mem::replace(&mut self.started, true)).then(|| Snapshot {
                inputs: Vec::new(),
                advanced: Vec::new(),
                superseded: Vec::new(),
            });
        }
        let snapshot = match self.policy {
            Policy::AllNew => self.next_all_new(),
            Policy::SwapNewForOld => self.next_swap(),
            Policy::SlidingWindow => self.next_window(),
        }?;
        self.started = true;
        Some(snapshot)
    }

    /// Every triggering input has its minimum of unused values; take up to
    /// the maximum of each, oldest first; they are never used again.
    fn next_all_new(&mut self) -> Option<Snapshot> {
        let ready = self.inputs.iter().all(|input| input.waiting.len() as u64 >= input.rule.min_count());
        if !ready {
            return None;
        }
        let inputs: Vec<Vec<ValueId>> = self
            .inputs
            .iter_mut()
            .map(|input| {
                let take = (input.rule.max_count() as usize).min(input.waiting.len());
                input.waiting.drain(..take).collect()
            })
            .collect();
        let advanced = vec![true; inputs.len()];
        Some(Snapshot { inputs, advanced, superseded: Vec::new() })
    }

    /// Once every input has had a value, any new value fires a snapshot of
    /// the newest value of every input. Values that arrived together count
    /// once: the newest wins, the ones before it are superseded (make-like).
    fn next_swap(&mut self) -> Option<Snapshot> {
        let any_new = self.inputs.iter().any(|input| !input.waiting.is_empty());
        let all_seen = self.inputs.iter().all(|input| !input.waiting.is_empty() || !input.current.is_empty());
        if !any_new || !all_seen {
            return None;
        }
        let mut superseded = Vec::new();
        let mut advanced = Vec::with_capacity(self.inputs.len());
        for input in &mut self.inputs {
            let newest = input.waiting.pop_back();
            superseded.extend(input.waiting.drain(..));
            if let Some(value) = newest {
                input.current.clear();
                input.current.push_back(value);
            }
            advanced.push(newest.is_some());
        }
        let inputs = self.inputs.iter().map(|input| input.current.iter().copied().collect()).collect();
        Some(Snapshot { inputs, advanced, superseded })
    }

    /// The first snapshot fires when every input has a full window. After
    /// that an input can advance when `slide` new values wait; a snapshot
    /// fires when at least one can, each that can moves by exactly `slide`,
    /// and the others are reused as they are.
    fn next_window(&mut self) -> Option<Snapshot> {
        let mut advanced = Vec::with_capacity(self.inputs.len());
        if !self.started {
            if !self.inputs.iter().all(|input| input.waiting.len() as u64 >= input.rule.max_count()) {
                return None;
            }
            for input in &mut self.inputs {
                let size = input.rule.max_count() as usize;
                input.current.extend(input.waiting.drain(..size));
                advanced.push(true);
            }
        } else {
            for input in &mut self.inputs {
                let slide = input.rule.window_slide() as usize;
                let can_advance = input.waiting.len() >= slide;
                if can_advance {
                    input.current.drain(..slide.min(input.current.len()));
                    input.current.extend(input.waiting.drain(..slide));
                }
                advanced.push(can_advance);
            }
            if !advanced.contains(&true) {
                return None;
            }
        }
        let inputs = self.inputs.iter().map(|input| input.current.iter().copied().collect()).collect();
        Some(Snapshot { inputs, advanced, superseded: Vec::new() })
    }

    /// Values that arrived and no snapshot has taken yet, per input.
    pub fn waiting(&self) -> Vec<Vec<ValueId>> {
        self.inputs.iter().map(|input| input.waiting.iter().copied().collect()).collect()
    }
}

impl Rule {
    fn min_count(self) -> u64 {
        match self {
            Rule::Count { min, .. } => min,
            Rule::Window { size, .. } => size,
        }
    }

    /// The most values per snapshot: also the window size under
    /// sliding-window (a plain `[N]` there is a window of N).
    fn max_count(self) -> u64 {
        match self {
            Rule::Count { max, .. } => max,
            Rule::Window { size, .. } => size,
        }
    }

    fn window_slide(self) -> u64 {
        match self {
            Rule::Count { max, .. } => max,
            Rule::Window { slide, .. } => slide.max(1),
        }
    }
}

#[cfg(test)]
mod tests;
