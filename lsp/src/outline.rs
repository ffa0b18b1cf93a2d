//! The document's outline (symbols, for the editor's outline view and
//! workspace search) and its folding ranges. From the syntax tree, so both
//! work while the file has errors.

use koalja_compiler::span::Span;
use koalja_compiler::syntax::ast::{Block, DefaultsBlock, Item, TaskBlock};
use tower_lsp_server::ls_types::{DocumentSymbol, FoldingRange, FoldingRangeKind, SymbolKind};

use crate::document::Document;

#[allow(deprecated)] // `deprecated` is a required field of the type
fn symbol(
    document: &Document,
    name: &str,
    detail: Option<String>,
    kind: SymbolKind,
    span: Span,
    selection: Span,
) -> DocumentSymbol {
    DocumentSymbol {
        name: name.to_owned(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: document.lines.range(&document.text, span),
        selection_range: document.lines.range(&document.text, selection),
        children: None,
    }
}

/// One symbol per item, in source order: the pipeline header, each task's
/// statement (its inputs and outputs in the detail), each `task` block and
/// `defaults` with their keys as children, each type.
pub fn document_symbols(document: &Document) -> Vec<DocumentSymbol> {
    let keys = |block: &Block| {
        block
            .entries
            .iter()
            .map(|entry| symbol(document, &entry.key.text, None, SymbolKind::PROPERTY, entry.span, entry.key.span))
            .collect::<Vec<_>>()
    };
    document
        .analysis
        .parsed
        .file
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Header(header) => {
                let name = match &header.namespace {
                    Some(namespace) => format!("{}/{}", namespace.text, header.name.text),
                    None => header.name.text.to_string(),
                };
                Some(symbol(
                    document,
                    &name,
                    Some("pipeline".to_owned()),
                    SymbolKind::MODULE,
                    header.span,
                    header.name.span,
                ))
            }
            Item::Wiring(wiring) => {
                let wires = |names: Vec<&str>| names.join(", ");
                let inputs =
                    wires(wiring.inputs.items.iter().flat_map(|i| &i.members).map(|m| m.wire.text.as_str()).collect());
                let outputs = wires(wiring.outputs.items.iter().map(|o| o.wire.text.as_str()).collect());
                let detail = format!("({inputs}) → ({outputs})");
                Some(symbol(
                    document,
                    &wiring.task.text,
                    Some(detail),
                    SymbolKind::FUNCTION,
                    wiring.span,
                    wiring.task.span,
                ))
            }
            Item::Task(block) => Some(DocumentSymbol {
                children: Some(keys(&block.body)),
                ..symbol(
                    document,
                    &format!("task {}", block.name.text),
                    None,
                    SymbolKind::OBJECT,
                    block.span,
                    block.name.span,
                )
            }),
            Item::Defaults(block) => Some(DocumentSymbol {
                children: Some(keys(&block.body)),
                ..symbol(document, "defaults", None, SymbolKind::NAMESPACE, block.span, block.keyword)
            }),
            Item::Type(decl) => Some(symbol(
                document,
                &decl.name.text,
                Some(format!("= {}", decl.base.text)),
                SymbolKind::STRUCT,
                decl.span,
                decl.name.span,
            )),
            Item::Error(_) => None,
        })
        .collect()
}

/// Blocks that span lines, and runs of two or more comment lines.
pub fn folding_ranges(document: &Document) -> Vec<FoldingRange> {
    let line = |offset: u32| document.lines.position(&document.text, offset as usize).line;
    // Lines `start..=end` as a fold, when that is more than one line.
    let fold = |start: u32, end: u32, kind: Option<FoldingRangeKind>| {
        (end > start).then_some(FoldingRange { start_line: start, end_line: end, kind, ..FoldingRange::default() })
    };
    let mut ranges: Vec<FoldingRange> = document
        .analysis
        .parsed
        .file
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Task(TaskBlock { body, .. }) | Item::Defaults(DefaultsBlock { body, .. }) => {
                fold(line(body.span.start), line(body.span.end), None)
            }
            _ => None,
        })
        .collect();
    // Runs of comments on consecutive lines.
    let mut run: Option<(u32, u32)> = None;
    for comment in &document.analysis.parsed.comments {
        let at = line(comment.start);
        run = match run {
            Some((start, end)) if at == end + 1 => Some((start, at)),
            Some((start, end)) => {
                ranges.extend(fold(start, end, Some(FoldingRangeKind::Comment)));
                Some((at, at))
            }
            None => Some((at, at)),
        };
    }
    if let Some((start, end)) = run {
        ranges.extend(fold(start, end, Some(FoldingRangeKind::Comment)));
    }
    ranges.sort_by_key(|range| range.start_line);
    ranges
}
