//! SVG drawn in-process, with no external program, from the project's one
//! layout (`layout.rs`, the same the editor's graph panel draws). Regions
//! are dashed boxes around their nodes; service (implicit) edges dashed.

use std::fmt::Write;

use super::layout::{self, display_label, Direction};
use super::{GraphView, NodeKind};

pub fn render(view: &GraphView) -> String {
    render_in(view, Direction::Right)
}

pub fn render_in(view: &GraphView, direction: Direction) -> String {
    let drawn = layout::layout(view, direction);
    let (canvas_width, canvas_height) = (drawn.width, drawn.height);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{canvas_width}\" height=\"{canvas_height}\" viewBox=\"0 0 {canvas_width} {canvas_height}\" font-family=\"Helvetica, Arial, sans-serif\">"
    );
    let _ = writeln!(out, "<title>{}</title>", escape(&view.name));
    out.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#455a64\"/></marker></defs>\n");
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" fill=\"#263238\">{}</text>",
        layout::MARGIN,
        layout::MARGIN - 8,
        escape(&view.name)
    );

    for region in &drawn.regions {
        let r = region.rect;
        let _ = writeln!(
            out,
            "<g class=\"region\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"10\" fill=\"#fafafa\" stroke=\"#9e9e9e\" stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#616161\">region {}</text></g>",
            r.x,
            r.y,
            r.width,
            r.height,
            r.x + 8,
            r.y + 15,
            escape(&region.name)
        );
    }

    for (edge, route) in view.edges.iter().zip(&drawn.edges) {
        let dash = if edge.implicit { " stroke-dasharray=\"5 4\"" } else { "" };
        let label = match route.label {
            Some(place) => format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"{}\" fill=\"#37474f\" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\">{}</text>",
                place.x,
                place.y,
                place.anchor,
                escape(&edge.label)
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "<g class=\"edge{}\" data-from=\"{}\" data-to=\"{}\"><title>{}</title><path d=\"{}\" fill=\"none\" stroke=\"#455a64\" stroke-width=\"1.4\"{dash} marker-end=\"url(#arrow)\"/>{label}</g>",
            if edge.implicit { " implicit" } else { "" },
            edge.from,
            edge.to,
            escape(&edge.label),
            route.path,
        );
    }

    for node in &view.nodes {
        let place = drawn.nodes[node.id];
        let (x, y, w, h) = (place.x, place.y, place.width, place.height);
        let (fill, stroke) = match (node.kind, node.has_errors) {
            (NodeKind::Error, _) | (_, true) => ("#ffebee", "#c62828"),
            (NodeKind::Input, _) => ("#e3f2fd", "#1565c0"),
            (NodeKind::Output, _) => ("#e8f5e9", "#2e7d32"),
            (NodeKind::Task, _) => ("#ffffff", "#37474f"),
        };
        let shape = match node.kind {
            NodeKind::Task => format!("<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>"),
            NodeKind::Input | NodeKind::Output => {
                let tip = 12;
                format!(
                    "<polygon points=\"{x},{y} {},{y} {},{} {},{} {x},{}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>",
                    x + w - tip,
                    x + w,
                    y + h / 2,
                    x + w - tip,
                    y + h,
                    y + h
                )
            }
            NodeKind::Error => {
                let c = 9;
                format!(
                    "<polygon points=\"{},{y} {},{y} {},{} {},{} {},{} {},{} {x},{} {x},{}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"2\"/>",
                    x + c, x + w - c, x + w, y + c, x + w, y + h - c, x + w - c, y + h, x + c, y + h, y + h - c, y + c
                )
            }
        };
        let kind = match node.kind {
            NodeKind::Task => "task",
            NodeKind::Input => "input",
            NodeKind::Output => "output",
            NodeKind::Error => "error",
        };
        let tooltip = node.message.as_deref().unwrap_or(&node.label);
        let _ = writeln!(
            out,
            "<g class=\"node {kind}\" data-id=\"{}\" data-start=\"{}\" data-end=\"{}\"><title>{}</title>{shape}<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#212121\">{}</text></g>",
            node.id,
            node.span.start,
            node.span.end,
            escape(tooltip),
            x + w / 2,
            y + h / 2 + 4,
            escape(display_label(view, node.id))
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
