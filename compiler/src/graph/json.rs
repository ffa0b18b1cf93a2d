//! The graph as JSON: `{ "name", "nodes": [{ "id", "kind", "label",
//! "has_errors", "region", "span", "range", "message" }], "edges": [{ "from",
//! "to", "wire", "label", "implicit", "span", "range" }] }`. `span` is a byte
//! range; `range` gives 1-based lines and columns (in characters) so a tool
//! can jump to the statement.

use serde::Serialize;
use serde_json::json;

use super::GraphView;
use crate::analysis::Analysis;
use crate::span::Span;

pub fn render(view: &GraphView, analysis: &Analysis) -> String {
    let range = |span: Span| {
        let start = analysis.line_index.line_column(&analysis.text, span.start);
        let end = analysis.line_index.line_column(&analysis.text, span.end);
        json!({ "start": { "line": start.line, "column": start.column }, "end": { "line": end.line, "column": end.column } })
    };
    #[derive(Serialize)]
    struct WithRange<'a, T> {
        #[serde(flatten)]
        item: &'a T,
        range: serde_json::Value,
    }
    let nodes: Vec<_> = view.nodes.iter().map(|node| WithRange { item: node, range: range(node.span) }).collect();
    let edges: Vec<_> = view.edges.iter().map(|edge| WithRange { item: edge, range: range(edge.span) }).collect();
    let document = json!({ "name": view.name, "nodes": nodes, "edges": edges });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
