//! `koaljac graph`: the designed map of a pipeline, drawn from the IR.
//! `view` is the one renderer-neutral form (also what the language server's
//! graph preview will send); `dot`, `mermaid` and `json` write it out.
//! Drawn even for a file with errors: statements that did not parse are
//! error nodes, tasks with errors are marked.

pub mod dot;
pub mod json;
pub mod layout;
pub mod mermaid;
pub mod svg;

use serde::Serialize;

use crate::ir::{Ir, Node};
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    Task,
    Input,
    Output,
    Error,
}

#[derive(Clone, Debug, Serialize)]
pub struct ViewNode {
    pub id: usize,
    pub kind: NodeKind,
    pub label: String,
    /// An error diagnostic points into this node's statement.
    pub has_errors: bool,
    pub region: Option<String>,
    /// The node's statement (for tasks) or the wire's first mention.
    pub span: Span,
    /// For error nodes, what went wrong.
    pub message: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ViewEdge {
    pub from: usize,
    pub to: usize,
    pub wire: String,
    /// `wire[buffer]`.
    pub label: String,
    pub implicit: bool,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub struct GraphView {
    pub name: String,
    pub nodes: Vec<ViewNode>,
    pub edges: Vec<ViewEdge>,
}

impl GraphView {
    pub fn from_ir(ir: &Ir) -> GraphView {
        let nodes = ir
            .graph
            .node_indices()
            .map(|index| {
                let node = &ir.graph[index];
                let (kind, has_errors, message) = match node {
                    Node::Task(task) => (NodeKind::Task, task.has_errors, None),
                    Node::Input { .. } => (NodeKind::Input, false, None),
                    Node::Output { .. } => (NodeKind::Output, false, None),
                    Node::Error { message, .. } => (NodeKind::Error, true, Some(message.clone())),
                };
                ViewNode {
                    id: index.index(),
                    kind,
                    label: node.label().to_owned(),
                    has_errors,
                    region: node.region().map(str::to_owned),
                    span: node.span(),
                    message,
                }
            })
            .collect();
        let edges = ir
            .graph
            .edge_indices()
            .filter_map(|index| {
                let (from, to) = ir.graph.edge_endpoints(index)?;
                let edge = &ir.graph[index];
                Some(ViewEdge {
                    from: from.index(),
                    to: to.index(),
                    wire: edge.wire.to_string(),
                    label: edge.label(),
                    implicit: edge.implicit,
                    span: edge.span,
                })
            })
            .collect();
        let name = if ir.namespace == "default" { ir.name.clone() } else { format!("{}/{}", ir.namespace, ir.name) };
        let mut view = GraphView { name, nodes, edges };
        view.place_inputs_and_outputs_in_regions();
        view
    }

    /// A pipeline input belongs to the region of the tasks that consume it,
    /// an output to its producer's (LANGUAGE.md §4): drawn inside it when
    /// all its tasks agree.
    fn place_inputs_and_outputs_in_regions(&mut self) {
        for index in 0..self.nodes.len() {
            if !matches!(self.nodes[index].kind, NodeKind::Input | NodeKind::Output) {
                continue;
            }
            let id = self.nodes[index].id;
            let neighbours: Vec<Option<&str>> = self
                .edges
                .iter()
                .filter_map(|edge| match (edge.from == id, edge.to == id) {
                    (true, _) => Some(edge.to),
                    (_, true) => Some(edge.from),
                    _ => None,
                })
                .map(|other| self.nodes[other].region.as_deref())
                .collect();
            let region = match neighbours.split_first() {
                Some((first, rest)) if rest.iter().all(|r| r == first) => first.map(str::to_owned),
                _ => None,
            };
            self.nodes[index].region = region;
        }
    }

    /// The regions in first-appearance order, each with its node ids.
    pub fn regions(&self) -> Vec<(&str, Vec<usize>)> {
        let mut regions: Vec<(&str, Vec<usize>)> = Vec::new();
        for node in &self.nodes {
            let Some(region) = node.region.as_deref() else { continue };
            match regions.iter_mut().find(|(name, _)| *name == region) {
                Some((_, ids)) => ids.push(node.id),
                None => regions.push((region, vec![node.id])),
            }
        }
        regions
    }
}
