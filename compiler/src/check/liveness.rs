//! Phase 9: cycles that can never fire (K0050, a warning). A task can fire
//! once each of its triggering inputs can ever hold a value; a wire can hold
//! one when it is a pipeline input or its producer can fire; a merge when any
//! member can. The least fixpoint of that, found with a worklist in linear
//! time, leaves the tasks that can never fire. Each cycle among those is
//! reported once: nothing from outside can ever start it (a feedback loop
//! needs a seed from a pipeline input).

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use super::items::Items;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Firing, Pipeline, WireRole};

pub(super) fn check(checker: &mut Checker<'_>, items: &Items<'_>, pipeline: &Pipeline) {
    if items.incomplete {
        return;
    }
    let live_tasks = tasks_that_can_fire(pipeline);
    // The dependency graph among tasks that can never fire.
    let mut graph: DiGraphMap<usize, ()> = DiGraphMap::new();
    for (task_id, task) in pipeline.tasks.iter().enumerate() {
        if live_tasks[task_id] {
            continue;
        }
        graph.add_node(task_id);
        for input in task.inputs.iter().filter(|i| i.firing != Firing::Service) {
            for &wire in &input.wires {
                if let Some(producer) = pipeline.wires[wire].producer {
                    if !live_tasks[producer] {
                        graph.add_edge(producer, task_id, ());
                    }
                }
            }
        }
    }
    let mut cycles: Vec<Vec<usize>> = tarjan_scc(&graph)
        .into_iter()
        .filter(|component| component.len() > 1 || graph.contains_edge(component[0], component[0]))
        .map(|mut component| {
            component.sort_unstable();
            component
        })
        .collect();
    cycles.sort();
    for cycle in cycles {
        let first = cycle[0];
        let names: Vec<String> = cycle.iter().map(|&t| format!("`{}`", pipeline.tasks[t].name)).collect();
        let message = if cycle.len() == 1 {
            format!("task {} feeds itself and nothing else can start it, so it can never fire", names[0])
        } else {
            format!("tasks {} form a cycle that can never fire", names.join(", "))
        };
        let mut diagnostic = Diagnostic::new(Code::DeadCycle, items.wirings[first].task.span, message);
        for &task in &cycle[1..] {
            diagnostic = diagnostic.label(items.wirings[task].task.span, "part of the cycle");
        }
        checker.diagnostics.push(diagnostic.help(
            "each task in the cycle waits for another; seed the loop from outside, e.g. merge a pipeline input into one of its inputs: `(x + in_seed)`",
        ));
    }
}

/// Which tasks can ever fire (the least fixpoint described above).
pub fn tasks_that_can_fire(pipeline: &Pipeline) -> Vec<bool> {
    let task_count = pipeline.tasks.len();
    // For each task, how many triggering inputs cannot hold a value yet.
    let mut waiting: Vec<usize> = vec![0; task_count];
    // Whether each input can hold a value, all tasks' inputs in one vector.
    let mut input_live: Vec<bool> = Vec::new();
    // For each wire, the (task, index into input_live) pairs it triggers.
    let mut triggers: Vec<Vec<(usize, usize)>> = vec![Vec::new(); pipeline.wires.len()];
    for (task_id, task) in pipeline.tasks.iter().enumerate() {
        for input in &task.inputs {
            let input_index = input_live.len();
            input_live.push(input.firing == Firing::Service);
            if input.firing == Firing::Service {
                continue;
            }
            waiting[task_id] += 1;
            for &wire in &input.wires {
                triggers[wire].push((task_id, input_index));
            }
        }
    }
    let mut live_tasks = vec![false; task_count];
    let mut live_wires = vec![false; pipeline.wires.len()];
    let mut wire_queue: Vec<usize> = Vec::new();
    for (wire_id, wire) in pipeline.wires.iter().enumerate() {
        if wire.role == WireRole::PipelineInput {
            live_wires[wire_id] = true;
            wire_queue.push(wire_id);
        }
    }
    let fire = |task_id: usize, live_tasks: &mut Vec<bool>, live_wires: &mut Vec<bool>, queue: &mut Vec<usize>| {
        live_tasks[task_id] = true;
        for output in &pipeline.tasks[task_id].outputs {
            if !live_wires[output.wire] {
                live_wires[output.wire] = true;
                queue.push(output.wire);
            }
        }
    };
    // Tasks with no triggering input (sources) can always fire.
    for (task_id, _) in waiting.iter().enumerate().filter(|(_, &count)| count == 0) {
        fire(task_id, &mut live_tasks, &mut live_wires, &mut wire_queue);
    }
    while let Some(wire) = wire_queue.pop() {
        for &(task_id, input_index) in &triggers[wire] {
            if input_live[input_index] {
                continue;
            }
            input_live[input_index] = true;
            waiting[task_id] -= 1;
            if waiting[task_id] == 0 && !live_tasks[task_id] {
                fire(task_id, &mut live_tasks, &mut live_wires, &mut wire_queue);
            }
        }
    }
    live_tasks
}
