//! Mermaid flowcharts (render in GitHub, GitLab and most Markdown viewers).
//! Tasks are rounded boxes, inputs and outputs flags, error nodes hexagons
//! in red; service edges dotted; regions are subgraphs.

use std::fmt::Write;

use super::layout::Direction;
use super::{GraphView, NodeKind};

pub fn render(view: &GraphView) -> String {
    render_in(view, Direction::Right)
}

pub fn render_in(view: &GraphView, direction: Direction) -> String {
    let mut out = String::from(match direction {
        Direction::Right => "flowchart LR\n",
        Direction::Down => "flowchart TD\n",
    });
    for node in &view.nodes {
        let label = match (&node.kind, &node.message) {
            (NodeKind::Error, Some(message)) => text(&format!("error: {message}")),
            _ => text(&node.label),
        };
        let _ = match node.kind {
            NodeKind::Task => writeln!(out, "  n{}(\"{label}\")", node.id),
            NodeKind::Input => writeln!(out, "  n{}>\"{label}\"]", node.id),
            NodeKind::Output => writeln!(out, "  n{}[/\"{label}\"/]", node.id),
            NodeKind::Error => writeln!(out, "  n{}{{{{\"{label}\"}}}}", node.id),
        };
    }
    for (index, (region, ids)) in view.regions().iter().enumerate() {
        let _ = writeln!(out, "  subgraph region{index}[\"region {}\"]", text(region));
        for id in ids {
            let _ = writeln!(out, "    n{id}");
        }
        out.push_str("  end\n");
    }
    for edge in &view.edges {
        let arrow = if edge.implicit { "-.->" } else { "-->" };
        let _ = writeln!(out, "  n{} {arrow}|\"{}\"| n{}", edge.from, text(&edge.label), edge.to);
    }
    let failed: Vec<String> = view.nodes.iter().filter(|n| n.has_errors).map(|n| format!("n{}", n.id)).collect();
    if !failed.is_empty() {
        out.push_str("  classDef error fill:#ffebee,stroke:#c62828,color:#b71c1c\n");
        let _ = writeln!(out, "  class {} error", failed.join(","));
    }
    out
}

/// Text inside a quoted Mermaid label: quotes and angle brackets as entities.
fn text(label: &str) -> String {
    label.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;").replace('\n', " ")
}
