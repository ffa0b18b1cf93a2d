//! `koaljac describe`: each task's firing contract in words, its inputs and
//! outputs, its command after expansion (placeholder paths such as
//! `<in_images:3>` stand for the files of a run), its image and digest.

use std::fmt::Write;

use crate::ir::{Ir, Node, TaskNode};
use crate::model::{shell_placeholders, Arg, Firing, Run};

/// Placeholders shown before a run is abbreviated with `…`.
const MAX_PATHS_SHOWN: u64 = 6;

/// The description of every task, or only of `only` when given. `None` when
/// `only` names no task.
pub fn describe(ir: &Ir, only: Option<&str>) -> Option<String> {
    let mut out = String::new();
    let mut found = false;
    for index in ir.graph.node_indices() {
        let Node::Task(task) = &ir.graph[index] else { continue };
        if only.is_some_and(|name| name != task.name) {
            continue;
        }
        found = true;
        if !out.is_empty() {
            out.push('\n');
        }
        describe_task(&mut out, ir, index, task);
    }
    found.then_some(out)
}

fn describe_task(out: &mut String, ir: &Ir, index: petgraph::graph::NodeIndex, task: &TaskNode) {
    use petgraph::visit::EdgeRef;
    let _ = writeln!(out, "task {}", task.name);
    let _ = writeln!(out, "  runs:     {}", task.contract.sentence);
    let mut incoming: Vec<_> = ir.graph.edges_directed(index, petgraph::Direction::Incoming).collect();
    incoming.sort_by_key(|edge| edge.weight().span);
    for (i, edge) in incoming.iter().enumerate() {
        let from = match &ir.graph[edge.source()] {
            Node::Input { .. } => "from outside (a pipeline input)".to_owned(),
            Node::Task(producer) if edge.weight().implicit => format!("offered by `{}`", producer.name),
            Node::Task(producer) => format!("from `{}`", producer.name),
            _ => String::new(),
        };
        let merge = edge.weight().merge_group.as_ref().map(|m| format!(", merged into `{m}`")).unwrap_or_default();
        let label = if i == 0 { "inputs:  " } else { "         " };
        let _ = writeln!(out, "  {label} {}: {} {from}{merge}", edge.weight().label(), edge.weight().ty);
    }
    let mut outgoing: Vec<_> = ir.graph.edges_directed(index, petgraph::Direction::Outgoing).collect();
    outgoing.sort_by_key(|edge| (edge.weight().span, edge.target()));
    for (i, edge) in outgoing.iter().enumerate() {
        let to = match &ir.graph[edge.target()] {
            Node::Output { .. } => "to outside (a pipeline output)".to_owned(),
            Node::Task(consumer) if edge.weight().implicit => format!("serves `{}`", consumer.name),
            Node::Task(consumer) => format!("to `{}`", consumer.name),
            _ => String::new(),
        };
        let label = if i == 0 { "outputs: " } else { "         " };
        let _ = writeln!(out, "  {label} {}: {} {to}", edge.weight().wire, edge.weight().ty);
    }
    let mut output_wires: Vec<&str> =
        outgoing.iter().filter(|edge| !edge.weight().implicit).map(|edge| edge.weight().wire.as_str()).collect();
    output_wires.dedup();
    let _ = writeln!(out, "  command:  {}", expanded_run(task, &output_wires));
    let _ =
        writeln!(out, "  image:    {}", task.settings.image.as_deref().unwrap_or("(none: runs on the host locally)"));
    if let Some(port) = task.settings.service_port {
        let _ = writeln!(out, "  service:  listens on port {port}, launch {}", task.settings.launch.as_str());
    }
    let _ = writeln!(out, "  digest:   {}", task.digest);
}

/// The placeholder paths a wire name expands to in this task's command.
fn placeholders(task: &TaskNode, wire: &str) -> Vec<String> {
    if let Some(input) = task.contract.inputs.iter().find(|i| i.name == wire) {
        return match input.firing {
            Firing::Service => vec![format!("<address of {wire}>")],
            _ => {
                let count = input.paths[1];
                let shown = |k: u64| format!("<{wire}:{k}>");
                if count <= MAX_PATHS_SHOWN {
                    (1..=count).map(shown).collect()
                } else {
                    vec![shown(1), shown(2), "…".to_owned(), shown(count)]
                }
            }
        };
    }
    vec![format!("<{wire}>")]
}

fn expanded_run(task: &TaskNode, outputs: &[&str]) -> String {
    match &task.settings.run {
        None => "(none)".to_owned(),
        Some(Run::Command { args, append_wire_paths }) => {
            let mut words: Vec<String> = Vec::new();
            for arg in args {
                match arg {
                    Arg::Literal(text) => words.push(shell_quote(text)),
                    Arg::Wire(name) => words.extend(placeholders(task, name)),
                }
            }
            if *append_wire_paths {
                for input in task.contract.inputs.iter().filter(|i| i.triggers) {
                    words.extend(placeholders(task, &input.name));
                }
                words.extend(outputs.iter().map(|wire| format!("<{wire}>")));
            }
            words.join(" ")
        }
        Some(Run::Shell(script)) => {
            let mut expanded = String::new();
            let mut last = 0;
            for (range, name) in shell_placeholders(script) {
                expanded.push_str(&script[last..range.start]);
                expanded.push_str(&placeholders(task, name).join(" "));
                last = range.end;
            }
            expanded.push_str(&script[last..]);
            format!("/bin/sh -c {}", shell_quote(&expanded))
        }
    }
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '=' | ':' | ',' | '+' | '@'));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
