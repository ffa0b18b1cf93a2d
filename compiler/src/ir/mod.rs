//! The graph IR: the one serialisable contract between the compiler, the
//! language server (graph preview), the runtime and the manifests.
//!
//! Built from a checked `model::Pipeline` (and the syntax tree, for the
//! statements that did not parse). Nodes are tasks, pipeline inputs,
//! pipeline outputs and error nodes; edges are wires from producer to
//! consumer. Serialised as `{"ir_version": 1, …, "nodes": […], "edges": […]}`
//! with nodes and edges in index order, so the JSON is deterministic byte for
//! byte. `ir_version` changes whenever a field changes meaning or goes away.

pub mod contract;
pub mod digest;
pub mod gateways;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use smol_str::SmolStr;

use crate::analysis::Analysis;
use crate::model::{Firing, Pipeline, StorageSettings, TaskSettings, TypeDef, WireRole};
use crate::span::Span;
use crate::syntax::ast::Item;

pub use contract::Contract;

pub const IR_VERSION: u32 = 1;

#[derive(Clone, Debug)]
pub struct Ir {
    pub namespace: String,
    pub name: String,
    pub types: Vec<TypeDef>,
    pub graph: DiGraph<Node, Edge>,
    /// The gateways' retention and volume (from `defaults`).
    pub gateway: StorageSettings,
    /// The main gateway, then one per region that has pipeline inputs or
    /// outputs.
    pub gateways: Vec<gateways::Gateway>,
    /// The file had errors; the graph shows what could be understood.
    pub has_errors: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Node {
    /// Boxed: a task node is large and the other kinds are small.
    Task(Box<TaskNode>),
    /// A pipeline input: files dropped into `wire` enter here.
    Input { wire: SmolStr, span: Span },
    /// A pipeline output: files of `wire` leave here.
    Output { wire: SmolStr, span: Span },
    /// A statement that did not parse.
    Error { message: String, span: Span },
}

impl Node {
    pub fn span(&self) -> Span {
        match self {
            Node::Task(task) => task.span,
            Node::Input { span, .. } | Node::Output { span, .. } | Node::Error { span, .. } => *span,
        }
    }

    /// The text a person sees on the node.
    pub fn label(&self) -> &str {
        match self {
            Node::Task(task) => &task.name,
            Node::Input { wire, .. } | Node::Output { wire, .. } => wire,
            Node::Error { .. } => "error",
        }
    }

    pub fn region(&self) -> Option<&str> {
        match self {
            Node::Task(task) => task.settings.region.as_deref(),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct TaskNode {
    pub name: SmolStr,
    /// The name as Kubernetes objects carry it (`check::names::kubernetes_name`);
    /// the agent reaches a task's agent at Service `<pipeline>-<task>` in these names.
    pub kubernetes_name: SmolStr,
    #[serde(flatten)]
    pub settings: TaskSettings,
    /// `sha256:` of the image, the run and the environment; equal for two
    /// definitions that differ only in layout or comments.
    pub digest: String,
    pub contract: Contract,
    /// A diagnostic (error) points into this task's statement or block.
    pub has_errors: bool,
    pub span: Span,
    pub block_span: Option<Span>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    pub wire: SmolStr,
    #[serde(rename = "type")]
    pub ty: SmolStr,
    /// The buffer as written on the consuming input (`[10/2]`), if any.
    pub buffer: Option<String>,
    /// The consumer's firing rule for this wire (`None` into an output node).
    pub firing: Option<Firing>,
    /// For a member of a merge, the name of the merged stream (its first member).
    pub merge_group: Option<SmolStr>,
    pub implicit: bool,
    /// The wire's name at the consumer (or, into an output node, the producer).
    pub span: Span,
}

impl Edge {
    /// `wire[buffer]`, as edges are labelled in drawings.
    pub fn label(&self) -> String {
        match &self.buffer {
            Some(buffer) => format!("{}{buffer}", self.wire),
            None => self.wire.to_string(),
        }
    }
}

impl Ir {
    pub fn from_analysis(analysis: &Analysis) -> Ir {
        let pipeline = &analysis.pipeline;
        let mut graph: DiGraph<Node, Edge> = DiGraph::new();
        let error_spans: Vec<Span> = analysis.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.span).collect();
        let task_nodes: Vec<NodeIndex> = pipeline
            .tasks
            .iter()
            .map(|task| {
                let within = |span: Span| error_spans.iter().any(|e| span.start <= e.start && e.end <= span.end);
                let has_errors = within(task.span) || task.block_span.is_some_and(within);
                graph.add_node(Node::Task(Box::new(TaskNode {
                    name: task.name.clone(),
                    kubernetes_name: crate::check::names::kubernetes_name(&task.name),
                    settings: task.settings.clone(),
                    digest: digest::definition_digest(&task.settings),
                    contract: contract::contract(pipeline, task),
                    has_errors,
                    span: task.span,
                    block_span: task.block_span,
                })))
            })
            .collect();
        add_wire_edges(pipeline, &task_nodes, &mut graph);
        for item in &analysis.parsed.file.items {
            if let Item::Error(span) = item {
                let message = analysis
                    .diagnostics
                    .iter()
                    .find(|d| span.contains(d.span.start) || d.span.start == span.start)
                    .map_or_else(|| "this statement does not parse".to_owned(), |d| d.message.clone());
                graph.add_node(Node::Error { message, span: *span });
            }
        }
        Ir {
            namespace: pipeline.namespace.clone(),
            name: pipeline.name.clone(),
            types: pipeline.types.clone(),
            graph,
            gateway: pipeline.gateway.clone(),
            gateways: gateways::gateways(pipeline),
            has_errors: analysis.error_count() > 0,
        }
    }

    /// The node of the pipeline's task `id`. Tasks are added first and in
    /// the pipeline's order, so task `id` is node `id`: no search.
    pub fn task(&self, id: crate::model::TaskId) -> Option<&TaskNode> {
        match self.graph.node_weight(NodeIndex::new(id))? {
            Node::Task(task) => Some(task),
            _ => None,
        }
    }

    /// The IR as pretty JSON, ending in a newline; deterministic.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// One edge per (producer, consumer) of each wire; pipeline inputs and
/// outputs get their own nodes, added in wire order.
fn add_wire_edges(pipeline: &Pipeline, tasks: &[NodeIndex], graph: &mut DiGraph<Node, Edge>) {
    for (wire_id, wire) in pipeline.wires.iter().enumerate() {
        let source = match (wire.producer, wire.role) {
            (Some(producer), _) => Some(tasks[producer]),
            (None, WireRole::PipelineInput) => {
                Some(graph.add_node(Node::Input { wire: wire.name.clone(), span: wire.span }))
            }
            (None, _) => None, // Unproduced and not an input: an error already reported.
        };
        let Some(source) = source else { continue };
        for &consumer in &wire.consumers {
            let task = &pipeline.tasks[consumer];
            for input in task.inputs.iter().filter(|input| input.wires.contains(&wire_id)) {
                let position = input.wires.iter().position(|&w| w == wire_id).unwrap_or(0);
                let member_span = input.wire_spans.get(position).copied().unwrap_or(input.span);
                graph.add_edge(
                    source,
                    tasks[consumer],
                    Edge {
                        wire: wire.name.clone(),
                        ty: wire.ty.clone(),
                        buffer: input.buffer.map(crate::format::buffer_text),
                        firing: Some(input.firing),
                        merge_group: (input.wires.len() > 1).then(|| input.name.clone()),
                        implicit: input.firing == Firing::Service,
                        span: member_span,
                    },
                );
            }
        }
        if wire.role == WireRole::PipelineOutput {
            let sink = graph.add_node(Node::Output { wire: wire.name.clone(), span: wire.span });
            let span = wire
                .producer
                .and_then(|p| pipeline.tasks[p].outputs.iter().find(|o| o.wire == wire_id))
                .map_or(wire.span, |o| o.span);
            graph.add_edge(
                source,
                sink,
                Edge {
                    wire: wire.name.clone(),
                    ty: wire.ty.clone(),
                    buffer: None,
                    firing: None,
                    merge_group: None,
                    implicit: false,
                    span,
                },
            );
        }
    }
}

impl Serialize for Ir {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct NodeEntry<'a> {
            id: usize,
            #[serde(flatten)]
            node: &'a Node,
        }
        #[derive(Serialize)]
        struct EdgeEntry<'a> {
            from: usize,
            to: usize,
            #[serde(flatten)]
            edge: &'a Edge,
        }
        let nodes: Vec<NodeEntry<'_>> =
            self.graph.node_indices().map(|id| NodeEntry { id: id.index(), node: &self.graph[id] }).collect();
        let edges: Vec<EdgeEntry<'_>> = self
            .graph
            .edge_indices()
            .filter_map(|id| {
                let (from, to) = self.graph.edge_endpoints(id)?;
                Some(EdgeEntry { from: from.index(), to: to.index(), edge: &self.graph[id] })
            })
            .collect();
        let mut state = serializer.serialize_struct("Ir", 10)?;
        state.serialize_field("ir_version", &IR_VERSION)?;
        state.serialize_field("namespace", &self.namespace)?;
        state.serialize_field("name", &self.name)?;
        state.serialize_field("kubernetes_name", &crate::check::names::kubernetes_name(&self.name))?;
        state.serialize_field("has_errors", &self.has_errors)?;
        state.serialize_field("types", &self.types)?;
        state.serialize_field("gateway", &self.gateway)?;
        state.serialize_field("gateways", &self.gateways)?;
        state.serialize_field("nodes", &nodes)?;
        state.serialize_field("edges", &edges)?;
        state.end()
    }
}
