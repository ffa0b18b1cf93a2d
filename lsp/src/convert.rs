//! The compiler's diagnostics and graph in the protocol's terms.

use koalja_compiler::diagnostic::{Diagnostic, Severity};
use koalja_compiler::graph::layout::{self, Direction, Layout};
use koalja_compiler::graph::{GraphView, NodeKind};
use serde::Serialize;
use tower_lsp_server::ls_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Uri,
};

use crate::document::Document;

/// A diagnostic as `koaljac check` reports it: same code, span, message and
/// labels (as related information); the help line follows the message.
pub fn diagnostic(uri: &Uri, document: &Document, diagnostic: &Diagnostic) -> lsp::Diagnostic {
    let range = |span| document.lines.range(&document.text, span);
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    lsp::Diagnostic {
        range: range(diagnostic.span),
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.as_str().to_owned())),
        source: Some("koalja".to_owned()),
        message,
        related_information: (!diagnostic.labels.is_empty()).then(|| {
            diagnostic
                .labels
                .iter()
                .map(|label| DiagnosticRelatedInformation {
                    location: Location { uri: uri.clone(), range: range(label.span) },
                    message: label.message.clone(),
                })
                .collect()
        }),
        ..lsp::Diagnostic::default()
    }
}

/// The answer to `koalja/graph` (lsp/README.md).
#[derive(Debug, Serialize)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Where to draw them: the layout `koaljac graph --format svg` draws,
    /// so the panel and the file show one picture.
    pub layout: Layout,
}

#[derive(Debug, Serialize)]
pub struct GraphNode {
    pub id: usize,
    pub kind: NodeKind,
    pub label: String,
    pub range: Range,
    pub region: Option<String>,
    /// An error diagnostic points into this node's statement.
    #[serde(rename = "hasErrors")]
    pub has_errors: bool,
    /// For error nodes, what went wrong.
    pub message: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub wire: String,
    pub label: String,
    pub implicit: bool,
    pub range: Range,
}

pub fn graph(document: &Document, direction: Direction) -> Graph {
    let view = GraphView::from_ir(document.ir());
    let range = |span| document.lines.range(&document.text, span);
    let layout = layout::layout(&view, direction);
    Graph {
        layout,
        nodes: view
            .nodes
            .into_iter()
            .map(|node| GraphNode {
                id: node.id,
                kind: node.kind,
                label: node.label,
                range: range(node.span),
                region: node.region,
                has_errors: node.has_errors,
                message: node.message,
            })
            .collect(),
        edges: view
            .edges
            .into_iter()
            .map(|edge| GraphEdge {
                from: edge.from,
                to: edge.to,
                wire: edge.wire,
                label: edge.label,
                implicit: edge.implicit,
                range: range(edge.span),
            })
            .collect(),
    }
}
