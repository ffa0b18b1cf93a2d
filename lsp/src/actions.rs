//! Code actions (the compiler's machine fixes as quick fixes) and inlay
//! hints (what the checker inferred and the text does not say).

use std::collections::HashMap;

use koalja_compiler::syntax::ast::Item;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, InlayHint, InlayHintKind, InlayHintLabel, Range, TextEdit, Uri,
    WorkspaceEdit,
};

use crate::convert;
use crate::document::Document;

fn overlaps(a: Range, b: Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// One quick fix per machine fix of each diagnostic touching `range`; the
/// first fix of a diagnostic is the preferred one.
pub fn code_actions(uri: &Uri, document: &Document, range: Range) -> Vec<CodeActionOrCommand> {
    let mut actions = Vec::new();
    for diagnostic in &document.analysis.diagnostics {
        let lsp_diagnostic = convert::diagnostic(uri, document, diagnostic);
        if !overlaps(lsp_diagnostic.range, range) {
            continue;
        }
        for (index, fix) in diagnostic.fixes.iter().enumerate() {
            let edits = fix
                .edits
                .iter()
                .map(|edit| TextEdit {
                    range: document.lines.range(&document.text, edit.span),
                    new_text: edit.replacement.clone(),
                })
                .collect();
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.title.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diagnostic.clone()]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), edits)])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(index == 0),
                ..CodeAction::default()
            }));
        }
    }
    actions
}

/// After each wire written without a type, its inferred type (`: csv`);
/// after each task's name, its snapshot policy. Only within `range`: the
/// editor asks for the screen it shows, and only the statements on it are
/// looked at (the pipeline's lookups by name are linear, so the whole of a
/// 10,000-task file would take a third of a second per keystroke).
pub fn inlay_hints(document: &Document, range: Range) -> Vec<InlayHint> {
    let shown = document.lines.offsets(&document.text, range);
    let analysis = &document.analysis;
    let pipeline = &analysis.pipeline;
    let mut hints = Vec::new();
    let mut hint = |at: u32, label: String, kind: InlayHintKind| {
        let position = document.lines.position(&document.text, at as usize);
        if range.start <= position && position <= range.end {
            hints.push(InlayHint {
                position,
                label: InlayHintLabel::String(label),
                kind: Some(kind),
                text_edits: None,
                tooltip: None,
                padding_left: Some(kind == InlayHintKind::PARAMETER),
                padding_right: None,
                data: None,
            });
        }
    };
    let wire_type = |name: &str| pipeline.wire(name).map(|wire| wire.ty.to_string());
    for item in &analysis.parsed.file.items {
        let Item::Wiring(wiring) = item else { continue };
        let span = wiring.span.start as usize..wiring.span.end as usize;
        if span.end < shown.start || shown.end < span.start {
            continue;
        }
        for input in &wiring.inputs.items {
            // A merge's type is written (or not) after its last member.
            if let (None, Some(last)) = (&input.ty, input.members.last()) {
                if let Some(ty) = wire_type(&last.wire.text) {
                    let end = last.buffer.as_ref().map_or(last.wire.span, |buffer| buffer.span).end;
                    hint(end, format!(": {ty}"), InlayHintKind::TYPE);
                }
            }
        }
        if let Some(task) = pipeline.task(&wiring.task.text) {
            hint(wiring.task.span.end, task.settings.policy.as_str().to_owned(), InlayHintKind::PARAMETER);
        }
        for output in &wiring.outputs.items {
            if output.ty.is_none() {
                if let Some(ty) = wire_type(&output.wire.text) {
                    hint(output.wire.span.end, format!(": {ty}"), InlayHintKind::TYPE);
                }
            }
        }
    }
    hints
}
