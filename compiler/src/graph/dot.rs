//! Graphviz DOT. Tasks are rounded boxes, pipeline inputs and outputs
//! arrow-shaped, error nodes red octagons; service (implicit) edges dashed;
//! regions are clusters.

use std::fmt::Write;

use super::layout::Direction;
use super::{GraphView, NodeKind};

pub fn render(view: &GraphView) -> String {
    render_in(view, Direction::Right)
}

pub fn render_in(view: &GraphView, direction: Direction) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&view.name));
    let rankdir = match direction {
        Direction::Right => "LR",
        Direction::Down => "TB",
    };
    let _ = writeln!(out, "  rankdir={rankdir};");
    out.push_str("  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (index, (region, ids)) in view.regions().iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{index} {{");
        let _ = writeln!(out, "    label={}; style=dashed; color=\"#7a7a7a\";", quote(&format!("region {region}")));
        for id in ids {
            let _ = writeln!(out, "    n{id};");
        }
        out.push_str("  }\n");
    }
    for node in &view.nodes {
        let attributes = match node.kind {
            NodeKind::Task if node.has_errors => "shape=box, style=\"rounded,bold\", color=\"#c62828\"".to_owned(),
            NodeKind::Task => "shape=box, style=rounded".to_owned(),
            NodeKind::Input => "shape=cds, style=filled, fillcolor=\"#e3f2fd\"".to_owned(),
            NodeKind::Output => "shape=cds, style=filled, fillcolor=\"#e8f5e9\"".to_owned(),
            NodeKind::Error => "shape=octagon, style=filled, fillcolor=\"#ffebee\", color=\"#c62828\"".to_owned(),
        };
        let label = match (&node.kind, &node.message) {
            (NodeKind::Error, Some(message)) => format!("error: {message}"),
            _ => node.label.clone(),
        };
        let _ = writeln!(out, "  n{} [label={}, {attributes}];", node.id, quote(&label));
    }
    for edge in &view.edges {
        let style = if edge.implicit { ", style=dashed" } else { "" };
        let _ = writeln!(out, "  n{} -> n{} [label={}{style}];", edge.from, edge.to, quote(&edge.label));
    }
    out.push_str("}\n");
    out
}

/// A DOT double-quoted string.
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
}
