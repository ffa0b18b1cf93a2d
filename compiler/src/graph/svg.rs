//! SVG drawn in-process, with no external program: a layered layout in the
//! manner of Sugiyama. Cycles are broken by a depth-first search (the edges
//! it finds going back are drawn as back edges); each node's layer is its
//! longest path from a source; nodes within a layer are ordered by a few
//! sweeps of the barycentre heuristic; layers run left to right. Regions are
//! dashed boxes around their nodes. Integer coordinates and a fixed order of
//! work make the output deterministic.

use std::fmt::Write;

use super::{GraphView, NodeKind};

const NODE_HEIGHT: i64 = 36;
const ROW_GAP: i64 = 48;
const COLUMN_GAP: i64 = 110;
const MARGIN: i64 = 40;
const CHAR_WIDTH: i64 = 7;
const ORDER_SWEEPS: usize = 6;

struct Placed {
    x: i64,
    y: i64,
    width: i64,
}

pub fn render(view: &GraphView) -> String {
    let count = view.nodes.len();
    let forward = forward_edges(view);
    let layer = layers(count, view, &forward);
    let layer_count = layer.iter().copied().max().map_or(0, |m| m + 1);
    let rows = order_within_layers(count, layer_count, &layer, view, &forward);

    // Column widths and positions.
    let width_of = |id: usize| (text_width(&display_label(view, id)) + 28).max(72);
    let mut column_x = Vec::with_capacity(layer_count);
    let mut x = MARGIN;
    for column in &rows {
        column_x.push(x);
        x += column.iter().map(|&id| width_of(id)).max().unwrap_or(72) + COLUMN_GAP;
    }
    let tallest = rows.iter().map(Vec::len).max().unwrap_or(0) as i64;
    let height_of_rows = |n: i64| n * NODE_HEIGHT + (n - 1).max(0) * ROW_GAP;
    let mut placed: Vec<Placed> = (0..count).map(|_| Placed { x: 0, y: 0, width: 0 }).collect();
    for (column, ids) in rows.iter().enumerate() {
        let top = MARGIN + 24 + (height_of_rows(tallest) - height_of_rows(ids.len() as i64)) / 2;
        for (row, &id) in ids.iter().enumerate() {
            placed[id] =
                Placed { x: column_x[column], y: top + row as i64 * (NODE_HEIGHT + ROW_GAP), width: width_of(id) };
        }
    }
    let canvas_width = (x - COLUMN_GAP + MARGIN).max(200);
    let canvas_height = MARGIN * 2 + 24 + height_of_rows(tallest) + 40;

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
        "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" fill=\"#263238\">{}</text>",
        MARGIN - 8,
        escape(&view.name)
    );

    for (region, ids) in view.regions() {
        let left = ids.iter().map(|&id| placed[id].x).min().unwrap_or(0) - 14;
        let right = ids.iter().map(|&id| placed[id].x + placed[id].width).max().unwrap_or(0) + 14;
        let top = ids.iter().map(|&id| placed[id].y).min().unwrap_or(0) - 26;
        let bottom = ids.iter().map(|&id| placed[id].y).max().unwrap_or(0) + NODE_HEIGHT + 12;
        let _ = writeln!(
            out,
            "<g class=\"region\"><rect x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{}\" rx=\"10\" fill=\"#fafafa\" stroke=\"#9e9e9e\" stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#616161\">region {}</text></g>",
            right - left,
            bottom - top,
            left + 8,
            top + 15,
            escape(region)
        );
    }

    for (edge_index, edge) in view.edges.iter().enumerate() {
        let (from, to) = (&placed[edge.from], &placed[edge.to]);
        let (x1, y1) = (from.x + from.width, from.y + NODE_HEIGHT / 2);
        let (x2, y2) = (to.x, to.y + NODE_HEIGHT / 2);
        let path = if forward[edge_index] && x2 > x1 {
            let bend = (x2 - x1) / 2;
            format!("M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}", x1 + bend, x2 - bend)
        } else {
            // A back edge: leave right, loop below both nodes, enter left.
            let below = from.y.max(to.y) + NODE_HEIGHT + ROW_GAP / 2 + 6;
            format!(
                "M {x1} {y1} C {} {y1}, {} {below}, {} {below} S {} {y2}, {x2} {y2}",
                x1 + 40,
                x1 + 40,
                (x1 + x2) / 2,
                x2 - 40
            )
        };
        let dash = if edge.implicit { " stroke-dasharray=\"5 4\"" } else { "" };
        let (label_x, label_y) = if forward[edge_index] && x2 > x1 {
            ((x1 + x2) / 2, (y1 + y2) / 2 - 6)
        } else {
            ((x1 + x2) / 2, from.y.max(to.y) + NODE_HEIGHT + ROW_GAP / 2 + 2)
        };
        let _ = writeln!(
            out,
            "<g class=\"edge{}\" data-from=\"{}\" data-to=\"{}\"><path d=\"{path}\" fill=\"none\" stroke=\"#455a64\" stroke-width=\"1.4\"{dash} marker-end=\"url(#arrow)\"/><text x=\"{label_x}\" y=\"{label_y}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#37474f\" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\">{}</text></g>",
            if edge.implicit { " implicit" } else { "" },
            edge.from,
            edge.to,
            escape(&edge.label)
        );
    }

    for node in &view.nodes {
        let place = &placed[node.id];
        let (x, y, w, h) = (place.x, place.y, place.width, NODE_HEIGHT);
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
            escape(&display_label(view, node.id))
        );
    }
    out.push_str("</svg>\n");
    out
}

fn display_label(view: &GraphView, id: usize) -> String {
    let node = &view.nodes[id];
    match node.kind {
        NodeKind::Error => "error".to_owned(),
        _ => node.label.clone(),
    }
}

fn text_width(text: &str) -> i64 {
    text.chars().count() as i64 * CHAR_WIDTH
}

/// Which edges go forward (not back along a cycle): a depth-first search
/// from every node in id order marks edges into a node still on its stack.
fn forward_edges(view: &GraphView) -> Vec<bool> {
    let count = view.nodes.len();
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, edge) in view.edges.iter().enumerate() {
        outgoing[edge.from].push(index);
    }
    let mut forward = vec![true; view.edges.len()];
    // 0 unvisited, 1 on the stack, 2 done.
    let mut state = vec![0u8; count];
    for root in 0..count {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&edge) = outgoing[node].get(*next) {
                *next += 1;
                let target = view.edges[edge].to;
                match state[target] {
                    0 => {
                        state[target] = 1;
                        stack.push((target, 0));
                    }
                    1 => forward[edge] = false,
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    forward
}

/// Longest path from a source over forward edges, in topological order.
fn layers(count: usize, view: &GraphView, forward: &[bool]) -> Vec<usize> {
    let mut indegree = vec![0usize; count];
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, edge) in view.edges.iter().enumerate() {
        if forward[index] && edge.from != edge.to {
            indegree[edge.to] += 1;
            outgoing[edge.from].push(edge.to);
        }
    }
    let mut layer = vec![0usize; count];
    let mut ready: std::collections::VecDeque<usize> = (0..count).filter(|&n| indegree[n] == 0).collect();
    while let Some(node) = ready.pop_front() {
        for &next in &outgoing[node] {
            layer[next] = layer[next].max(layer[node] + 1);
            indegree[next] -= 1;
            if indegree[next] == 0 {
                ready.push_back(next);
            }
        }
    }
    layer
}

/// Rows of each layer, ordered to reduce crossings: nodes start in id
/// order, then each sweep sorts a layer by the mean row of its neighbours
/// in the layer before (downward sweeps) or after (upward sweeps).
fn order_within_layers(
    count: usize,
    layer_count: usize,
    layer: &[usize],
    view: &GraphView,
    forward: &[bool],
) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layer_count];
    for node in 0..count {
        rows[layer[node]].push(node);
    }
    // Each node's neighbours along forward edges, either direction.
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, edge) in view.edges.iter().enumerate() {
        if forward[index] && edge.from != edge.to {
            neighbours[edge.from].push(edge.to);
            neighbours[edge.to].push(edge.from);
        }
    }
    let mut position = vec![0f64; count];
    let reposition = |rows: &Vec<Vec<usize>>, position: &mut Vec<f64>| {
        for row in rows {
            for (index, &node) in row.iter().enumerate() {
                position[node] = index as f64;
            }
        }
    };
    reposition(&rows, &mut position);
    for sweep in 0..ORDER_SWEEPS {
        let downward = sweep % 2 == 0;
        let order: Vec<usize> =
            if downward { (1..layer_count).collect() } else { (0..layer_count.saturating_sub(1)).rev().collect() };
        for current in order {
            let neighbour_layer = if downward { current - 1 } else { current + 1 };
            let mut keyed: Vec<(f64, usize)> = rows[current]
                .iter()
                .map(|&node| {
                    let near: Vec<f64> = neighbours[node]
                        .iter()
                        .filter(|&&other| layer[other] == neighbour_layer)
                        .map(|&other| position[other])
                        .collect();
                    let key =
                        if near.is_empty() { position[node] } else { near.iter().sum::<f64>() / near.len() as f64 };
                    (key, node)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            rows[current] = keyed.into_iter().map(|(_, node)| node).collect();
            reposition(&rows, &mut position);
        }
    }
    rows
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
