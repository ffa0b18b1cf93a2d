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
use serde::Serialize;

use crate::ir::contract::Contract;
use crate::ir::{digest::sha256, Edge, Ir, Node};
use crate::model::{Firing, TaskSettings};

/// The pod template annotation holding the digest.
pub const IR_VIEW: &str = "koalja.dev/ir-view";

/// What a task's agent acts on. Typed, without spans: positions in the file
/// change with every edit above them and mean nothing to an agent, and
/// hashing these fields directly keeps `build` fast.
#[derive(Serialize)]
struct TaskView<'a> {
    pipeline: [&'a str; 2],
    name: &'a str,
    kubernetes_name: &'a str,
    settings: &'a TaskSettings,
    contract: &'a Contract,
    inputs: Vec<InputView<'a>>,
}

/// One edge into the task, and the node it comes from.
#[derive(Serialize)]
struct InputView<'a> {
    from: NodeView<'a>,
    wire: &'a str,
    ty: &'a str,
    buffer: Option<&'a str>,
    firing: &'a Option<Firing>,
    merge_group: Option<&'a str>,
    implicit: bool,
}

/// A node as another agent knows it.
#[derive(Serialize)]
enum NodeView<'a> {
    Task { name: &'a str, kubernetes_name: &'a str },
    Input(&'a str),
    Output(&'a str),
    Error,
}

impl<'a> NodeView<'a> {
    fn of(node: &'a Node) -> NodeView<'a> {
        match node {
            Node::Task(task) => NodeView::Task { name: &task.name, kubernetes_name: &task.kubernetes_name },
            Node::Input { wire, .. } => NodeView::Input(wire),
            Node::Output { wire, .. } => NodeView::Output(wire),
            Node::Error { .. } => NodeView::Error,
        }
    }
}

/// What the gateway acts on.
#[derive(Serialize)]
struct GatewayView<'a> {
    pipeline: [&'a str; 2],
    storage: &'a crate::model::StorageSettings,
    /// Every gateway, with its wires: each one routes to the others.
    gateways: &'a [crate::ir::gateways::Gateway],
    /// Which of them this is.
    this: &'a str,
    nodes: Vec<NodeView<'a>>,
    /// Each pipeline output, the node feeding it, and the wire.
    outputs: Vec<(&'a str, NodeView<'a>, &'a str)>,
}

/// The digest of what the agent of the task at `index` reads from the IR.
pub(super) fn task_view(ir: &Ir, index: NodeIndex) -> String {
    let Node::Task(task) = &ir.graph[index] else { return String::new() };
    let mut inputs: Vec<InputView<'_>> = ir
        .graph
        .edges_directed(index, Direction::Incoming)
        .map(|edge| {
            let Edge { wire, ty, buffer, firing, merge_group, implicit, span: _ } = edge.weight();
            InputView {
                from: NodeView::of(&ir.graph[edge.source()]),
                wire,
                ty,
                buffer: buffer.as_deref(),
                firing,
                merge_group: merge_group.as_deref(),
                implicit: *implicit,
            }
        })
        .collect();
    // Graph order follows the file; the view must not.
    inputs.sort_by(|a, b| (a.wire, a.merge_group).cmp(&(b.wire, b.merge_group)));
    digest(&TaskView {
        pipeline: [&ir.namespace, &ir.name],
        name: &task.name,
        kubernetes_name: &task.kubernetes_name,
        settings: &task.settings,
        contract: &task.contract,
        inputs,
    })
}

/// The digest of what a gateway reads from the IR: every node, without
/// the tasks' definitions (a gateway runs no task), which node feeds each
/// pipeline output, and which gateway takes which wire.
pub(super) fn gateway_view(ir: &Ir, gateway: &crate::ir::gateways::Gateway) -> String {
    let outputs = ir
        .graph
        .node_indices()
        .filter(|&index| matches!(ir.graph[index], Node::Output { .. }))
        .flat_map(|index| {
            ir.graph.edges_directed(index, Direction::Incoming).map(move |edge| {
                (ir.graph[index].label(), NodeView::of(&ir.graph[edge.source()]), edge.weight().wire.as_str())
            })
        })
        .collect();
    digest(&GatewayView {
        pipeline: [&ir.namespace, &ir.name],
        storage: &ir.gateway,
        gateways: &ir.gateways,
        this: &gateway.kubernetes_name,
        nodes: ir.graph.node_weights().map(NodeView::of).collect(),
        outputs,
    })
}

fn digest(view: &impl Serialize) -> String {
    // Serialising borrowed strings, numbers and sorted maps cannot fail.
    sha256(&serde_json::to_vec(view).unwrap_or_default())
}
