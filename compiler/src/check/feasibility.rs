//! Phase 10: contracts that can never be met (K0042). Computes an upper
//! bound on how many values each wire can ever carry and reports an input
//! that needs more than that before its task's first run — a `[N/S]` window,
//! an `[N]` batch or an `[M-N]` minimum fed by a wire that can never hold
//! that many (typically from a source task, which runs once).
//!
//! Bounds: a pipeline input is unbounded; a task adds one value to each
//! output per run; a task with no triggering input runs once; otherwise its
//! runs are bounded by its inputs and policy (all-new: the fewest batches
//! any input can supply; swap-new-for-old: one run per value once all have
//! one; sliding-window: one first run plus one per slide). The computation
//! starts from "unbounded" everywhere and tightens, so every step is a sound
//! upper bound; cycles stay unbounded. Dead cycles are K0050's business.

use super::items::Items;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Firing, Pipeline, Policy, WireRole};

/// `None` is unbounded.
type Bound = Option<u64>;

pub(super) fn check(checker: &mut Checker<'_>, items: &Items<'_>, pipeline: &Pipeline) {
    if items.incomplete {
        return;
    }
    let wire_bounds = wire_bounds(pipeline);
    let input_bound =
        |wires: &[usize]| wires.iter().try_fold(0u64, |sum, &w| wire_bounds[w].map(|b| sum.saturating_add(b)));
    for (task_id, task) in pipeline.tasks.iter().enumerate() {
        for input in &task.inputs {
            let needed = match input.firing {
                Firing::Count { min, .. } => min,
                Firing::Window { size, .. } => size,
                Firing::Service => continue,
            };
            let Some(available) = input_bound(&input.wires) else { continue };
            // Zero means the shortfall is upstream, and reported there.
            if available >= needed || available == 0 {
                continue;
            }
            let producers: Vec<String> = input
                .wires
                .iter()
                .filter_map(|&w| pipeline.wires[w].producer)
                .map(|p| format!("`{}`", pipeline.tasks[p].name))
                .collect();
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::InputCanNeverFill,
                    input.span,
                    format!(
                        "`{}` can carry at most {available} value{}, but `{}` needs {needed} before it can run",
                        input.name,
                        if available == 1 { "" } else { "s" },
                        items.wirings[task_id].task.text
                    ),
                )
                .help(format!(
                    "{} can never produce more; take fewer values per run, or feed the input from a pipeline input",
                    if producers.is_empty() { "its producers".to_owned() } else { producers.join(" and ") }
                )),
            );
        }
    }
}

/// The most values each wire can ever carry.
fn wire_bounds(pipeline: &Pipeline) -> Vec<Bound> {
    let mut bounds: Vec<Bound> = vec![None; pipeline.wires.len()];
    // Unproduced wires that are not pipeline inputs carry nothing (an error
    // was reported); pipeline inputs stay unbounded.
    for (id, wire) in pipeline.wires.iter().enumerate() {
        if wire.producer.is_none() && wire.role != WireRole::PipelineInput {
            bounds[id] = Some(0);
        }
    }
    // Each pass can only lower bounds; a chain of k tasks settles in k passes.
    for _ in 0..=pipeline.tasks.len().min(64) {
        let mut changed = false;
        for task in &pipeline.tasks {
            let runs = runs(task, &bounds);
            for output in &task.outputs {
                if bounds[output.wire] != runs && lower(runs, bounds[output.wire]) {
                    bounds[output.wire] = runs;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    bounds
}

/// Is `new` a tighter bound than `old`?
fn lower(new: Bound, old: Bound) -> bool {
    match (new, old) {
        (Some(new), Some(old)) => new < old,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn runs(task: &crate::model::Task, bounds: &[Bound]) -> Bound {
    let triggering: Vec<(Bound, Firing)> = task
        .inputs
        .iter()
        .filter(|input| input.firing != Firing::Service)
        .map(|input| {
            let total = input.wires.iter().try_fold(0u64, |sum, &w| bounds[w].map(|b| sum.saturating_add(b)));
            (total, input.firing)
        })
        .collect();
    if triggering.is_empty() {
        return Some(1);
    }
    match task.settings.policy {
        Policy::AllNew => triggering
            .iter()
            .map(|&(total, firing)| match firing {
                Firing::Count { min, .. } => total.map(|t| t / min.max(1)),
                _ => total,
            })
            // Unbounded (None) loses to any finite bound.
            .min_by_key(|bound| bound.unwrap_or(u64::MAX))
            .flatten(),
        Policy::SwapNewForOld => {
            if triggering.iter().any(|&(total, _)| total == Some(0)) {
                return Some(0);
            }
            let sum = triggering.iter().try_fold(0u64, |sum, &(total, _)| total.map(|t| sum.saturating_add(t)))?;
            Some(sum.saturating_sub(triggering.len() as u64 - 1))
        }
        Policy::SlidingWindow => {
            let mut runs: u64 = 1;
            for &(total, firing) in &triggering {
                let Firing::Window { size, slide } = firing else { continue };
                match total {
                    Some(total) if total < size => return Some(0),
                    Some(total) => runs = runs.saturating_add((total - size) / slide.max(1)),
                    None => return None,
                }
            }
            Some(runs)
        }
    }
}
