//! Which pods a deploy restarts. An agent reads the IR once, when it starts,
//! and the IR reaches it in a ConfigMap; changing the ConfigMap alone would
//! leave every agent on the old pipeline. So each pod template carries, as
//! the annotation `IR_VIEW`, a digest of the part of the IR its agent acts
//! on: a task's own definition and contract and where its inputs come from;
//! for the gateway, the pipeline's tasks, inputs and outputs. A change to
//! that part changes the template and rolls the pods; a change elsewhere,
//! or to layout and comments (spans are left out), restarts nothing.

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde_json::{json, Value};

use crate::ir::{digest::sha256, Ir, Node};

/// The pod template annotation holding the digest.
pub const IR_VIEW: &str = "koalja.dev/ir-view";

/// The digest of what the agent of the task at `index` reads from the IR.
pub(super) fn task_view(ir: &Ir, index: NodeIndex) -> String {
    let mut inputs: Vec<Value> = ir
        .graph
        .edges_directed(index, Direction::Incoming)
        .map(|edge| json!({ "from": node_view(&ir.graph[edge.source()]), "edge": edge.weight() }))
        .collect();
    inputs.sort_by_key(Value::to_string);
    digest(json!({ "pipeline": [&ir.namespace, &ir.name], "task": &ir.graph[index], "inputs": inputs }))
}

/// The digest of what the gateway reads from the IR: every node, without
/// the tasks' definitions (the gateway runs no task), and which node feeds
/// each pipeline output.
pub(super) fn gateway_view(ir: &Ir) -> String {
    let nodes: Vec<Value> = ir.graph.node_weights().map(node_view).collect();
    let outputs: Vec<Value> = ir
        .graph
        .node_indices()
        .filter(|&index| matches!(ir.graph[index], Node::Output { .. }))
        .flat_map(|index| {
            ir.graph.edges_directed(index, Direction::Incoming).map(move |edge| {
                json!({ "output": ir.graph[index].label(), "from": ir.graph[edge.source()].label(), "wire": edge.weight().wire })
            })
        })
        .collect();
    digest(json!({ "pipeline": [&ir.namespace, &ir.name], "nodes": nodes, "outputs": outputs }))
}

/// A node as another agent knows it: its kind, name and Kubernetes name.
fn node_view(node: &Node) -> Value {
    match node {
        Node::Task(task) => json!({ "task": task.name, "kubernetes_name": task.kubernetes_name }),
        Node::Input { wire, .. } => json!({ "input": wire }),
        Node::Output { wire, .. } => json!({ "output": wire }),
        Node::Error { .. } => json!("error"),
    }
}

/// `sha256:` of the canonical JSON of `value` without positions.
fn digest(mut value: Value) -> String {
    strip_positions(&mut value);
    sha256(value.to_string().as_bytes())
}

/// Positions in the file change with every edit above them; they mean
/// nothing to an agent.
fn strip_positions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !matches!(key.as_str(), "span" | "block_span" | "has_errors"));
            map.values_mut().for_each(strip_positions);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_positions),
        _ => {}
    }
}
