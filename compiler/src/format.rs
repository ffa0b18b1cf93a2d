//! The one formatter, shared by `koaljac fmt` and the language server.
//!
//! Layout: items in source order; a blank line kept where the source had one
//! (runs collapse to one) and always around `task`/`defaults` blocks; in a run
//! of consecutive wiring statements the task-name and output columns are
//! aligned, as are the names in a run of `type` declarations; a block has one
//! `key: value` per line with values aligned; lists and maps on one line with
//! `, ` between elements; strings exactly as written (escapes kept).
//!
//! Comments are never dropped. A comment after an item or entry on the same
//! line stays there; a comment on its own line stays before the item or entry
//! that follows it; a comment inside a statement or value that the layout
//! puts on one line moves to its own line just before that statement or entry.
//!
//! A file with syntax errors is not formatted (`None`): the parser skipped
//! part of it, and printing the tree would lose that text.

use crate::analysis::Analysis;
use crate::span::Span;
use crate::syntax::ast::*;

pub const INDENT: &str = "  ";

/// The formatted text, or `None` when the file has syntax errors.
pub fn format(analysis: &Analysis) -> Option<String> {
    if analysis.has_syntax_errors {
        return None;
    }
    let formatter = Formatter { text: &analysis.text, comments: &analysis.parsed.comments };
    Some(formatter.file(&analysis.parsed.file.items))
}

struct Formatter<'a> {
    text: &'a str,
    comments: &'a [Span],
}

/// A comment on its own line, and whether a blank line came before it.
struct OwnLineComment {
    span: Span,
    blank_before: bool,
}

/// One item with the comments that belong to it.
struct Chunk<'a> {
    item: Option<&'a Item>,
    leading: Vec<OwnLineComment>,
    blank_before_item: bool,
    /// Comments inside the item that the layout cannot keep in place.
    inner: Vec<Span>,
    trailing: Option<Span>,
}

impl<'a> Formatter<'a> {
    fn slice(&self, span: Span) -> &'a str {
        &self.text[span.range()]
    }

    fn comment(&self, span: Span) -> &'a str {
        self.slice(span).trim_end()
    }

    fn newlines_between(&self, from: u32, to: u32) -> usize {
        if from >= to {
            return 0;
        }
        self.text[from as usize..to as usize].bytes().filter(|&b| b == b'\n').count()
    }

    /// Comments whose start lies in `span`.
    fn comments_in(&self, span: Span) -> &'a [Span] {
        let first = self.comments.partition_point(|c| c.start < span.start);
        let last = self.comments.partition_point(|c| c.start < span.end);
        &self.comments[first..last]
    }

    fn chunks(&self, items: &'a [Item]) -> Vec<Chunk<'a>> {
        let mut chunks: Vec<Chunk<'a>> = Vec::new();
        let mut pending: Vec<OwnLineComment> = Vec::new();
        let mut previous_end: Option<u32> = None;
        let mut comment_index = 0;
        let mut next_item = 0;
        loop {
            let comment = self.comments.get(comment_index).copied();
            let item = items.get(next_item);
            let take_comment = match (comment, item) {
                (Some(c), Some(i)) => c.start < i.span().start,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if take_comment {
                let span = comment.expect("checked above");
                comment_index += 1;
                let newlines = previous_end.map_or(usize::MAX, |end| self.newlines_between(end, span.start));
                if newlines == 0 && pending.is_empty() {
                    if let Some(chunk) = chunks.last_mut() {
                        if chunk.trailing.is_none() {
                            chunk.trailing = Some(span);
                            previous_end = Some(span.end);
                            continue;
                        }
                    }
                }
                pending.push(OwnLineComment { span, blank_before: newlines != usize::MAX && newlines >= 2 });
                previous_end = Some(span.end);
                continue;
            }
            let Some(item) = item else { break };
            next_item += 1;
            let span = item.span();
            let newlines = previous_end.map_or(0, |end| self.newlines_between(end, span.start));
            let inner: Vec<Span> = self.comments_in(span).to_vec();
            comment_index += inner.len();
            chunks.push(Chunk {
                item: Some(item),
                leading: std::mem::take(&mut pending),
                blank_before_item: newlines >= 2,
                inner,
                trailing: None,
            });
            previous_end = Some(span.end);
        }
        if !pending.is_empty() {
            chunks.push(Chunk {
                item: None,
                leading: pending,
                blank_before_item: false,
                inner: Vec::new(),
                trailing: None,
            });
        }
        chunks
    }

    fn file(&self, items: &'a [Item]) -> String {
        let chunks = self.chunks(items);
        let mut out = String::new();
        let mut index = 0;
        while index < chunks.len() {
            // A run of wiring statements (or of type declarations) with no
            // blank line between them is aligned as one group.
            let kind = chunks[index].item.map(group_kind);
            let mut end = index + 1;
            if kind.is_some_and(|k| k != GroupKind::Alone) {
                while end < chunks.len()
                    && chunks[end].item.map(group_kind) == kind
                    && !chunks[end].blank_before_item
                    && !chunks[end].leading.iter().any(|c| c.blank_before)
                {
                    end += 1;
                }
            }
            let group = &chunks[index..end];
            let widths = self.group_widths(group);
            for (offset, chunk) in group.iter().enumerate() {
                let first_in_file = index + offset == 0;
                let previous_is_block = index + offset > 0 && chunks[index + offset - 1].item.is_some_and(is_block);
                let this_is_block = chunk.item.is_some_and(is_block);
                let mut blank = !first_in_file && (previous_is_block || (this_is_block && offset == 0));
                for comment in &chunk.leading {
                    if !first_in_file && (blank || comment.blank_before) && !out.is_empty() {
                        out.push('\n');
                    }
                    blank = false;
                    out.push_str(self.comment(comment.span));
                    out.push('\n');
                }
                let Some(item) = chunk.item else { continue };
                if !out.is_empty() && (blank || chunk.blank_before_item) {
                    out.push('\n');
                }
                for &inner in &chunk.inner {
                    if !self.stays_in_block(item, inner) {
                        out.push_str(self.comment(inner));
                        out.push('\n');
                    }
                }
                self.item(&mut out, item, &widths, &chunk.inner);
                if let Some(trailing) = chunk.trailing {
                    out.push(' ');
                    out.push_str(self.comment(trailing));
                }
                out.push('\n');
            }
            index = end;
        }
        out
    }

    fn group_widths(&self, group: &[Chunk<'_>]) -> Widths {
        let mut widths = Widths::default();
        for chunk in group {
            match chunk.item {
                Some(Item::Wiring(wiring)) => {
                    widths.inputs = widths.inputs.max(width(&self.port_list_inputs(&wiring.inputs)));
                    widths.task = widths.task.max(width(&wiring.task.text));
                }
                Some(Item::Type(decl)) => widths.type_name = widths.type_name.max(width(&decl.name.text)),
                _ => {}
            }
        }
        widths
    }

    /// Comments inside a block are placed among its entries; others move out.
    fn stays_in_block(&self, item: &Item, comment: Span) -> bool {
        let body = match item {
            Item::Task(task) => &task.body,
            Item::Defaults(defaults) => &defaults.body,
            _ => return false,
        };
        body.span.contains(comment.start)
    }

    fn item(&self, out: &mut String, item: &Item, widths: &Widths, inner: &[Span]) {
        match item {
            Item::Header(header) => {
                out.push('[');
                if let Some(namespace) = &header.namespace {
                    out.push_str(&namespace.text);
                    out.push('/');
                }
                out.push_str(&header.name.text);
                out.push(']');
            }
            Item::Wiring(wiring) => {
                let inputs = self.port_list_inputs(&wiring.inputs);
                pad_into(out, &inputs, widths.inputs);
                out.push_str("  ");
                pad_into(out, &wiring.task.text, widths.task);
                out.push_str("  ");
                out.push_str(&self.port_list_outputs(&wiring.outputs));
                trim_trailing_spaces(out);
            }
            Item::Type(decl) => {
                out.push_str("type ");
                pad_into(out, &decl.name.text, widths.type_name);
                out.push_str(" = ");
                out.push_str(&decl.base.text);
                if let Some(mime) = &decl.mime {
                    out.push(' ');
                    out.push_str(self.slice(mime.span));
                }
                if decl.export.is_some() {
                    out.push_str(" export");
                }
            }
            Item::Task(task) => {
                out.push_str("task ");
                out.push_str(&task.name.text);
                out.push(' ');
                self.block(out, &task.body, inner);
            }
            Item::Defaults(defaults) => {
                out.push_str("defaults ");
                self.block(out, &defaults.body, inner);
            }
            Item::Error(span) => out.push_str(self.slice(*span)),
        }
    }

    fn block(&self, out: &mut String, block: &Block, inner: &[Span]) {
        let comments: Vec<Span> = inner.iter().copied().filter(|c| block.span.contains(c.start)).collect();
        if block.entries.is_empty() && comments.is_empty() {
            out.push_str("{}");
            return;
        }
        out.push('{');
        let key_width = block.entries.iter().map(|e| width(&e.key.text) + 1).max().unwrap_or(0);
        let mut comment_index = 0;
        // A comment on the opening line stays there.
        if let Some(&first) = comments.first() {
            let before_entries = block.entries.first().is_none_or(|e| first.start < e.span.start);
            if before_entries && self.newlines_between(block.span.start, first.start) == 0 {
                out.push(' ');
                out.push_str(self.comment(first));
                comment_index = 1;
            }
        }
        out.push('\n');
        let after_brace = block.span.start + 1;
        let mut previous_end = after_brace;
        // A blank line in the source between entries (or comments) is kept,
        // but never right after the opening brace.
        let blank_before = |previous_end: u32, next_start: u32| {
            previous_end > after_brace && self.newlines_between(previous_end, next_start) >= 2
        };
        for entry in &block.entries {
            while comment_index < comments.len() && comments[comment_index].start < entry.span.start {
                let comment = comments[comment_index];
                if blank_before(previous_end, comment.start) {
                    out.push('\n');
                }
                out.push_str(INDENT);
                out.push_str(self.comment(comment));
                out.push('\n');
                previous_end = comment.end;
                comment_index += 1;
            }
            if blank_before(previous_end, entry.span.start) {
                out.push('\n');
            }
            // Comments inside the entry's value go on their own lines first.
            while comment_index < comments.len() && comments[comment_index].start < entry.span.end {
                out.push_str(INDENT);
                out.push_str(self.comment(comments[comment_index]));
                out.push('\n');
                comment_index += 1;
            }
            out.push_str(INDENT);
            let key = format!("{}:", entry.key.text);
            pad_into(out, &key, key_width);
            out.push(' ');
            out.push_str(&self.value(&entry.value));
            previous_end = entry.span.end;
            if comment_index < comments.len()
                && self.newlines_between(entry.span.end, comments[comment_index].start) == 0
            {
                out.push(' ');
                out.push_str(self.comment(comments[comment_index]));
                previous_end = comments[comment_index].end;
                comment_index += 1;
            }
            out.push('\n');
        }
        for &comment in &comments[comment_index..] {
            out.push_str(INDENT);
            out.push_str(self.comment(comment));
            out.push('\n');
        }
        out.push('}');
    }

    fn value(&self, value: &Value) -> String {
        match value {
            Value::Str(string) => self.slice(string.span).to_owned(),
            Value::Int { value, .. } => value.to_string(),
            Value::Name(name) => name.text.to_string(),
            Value::List { items, .. } => {
                let items: Vec<String> = items.iter().map(|item| self.value(item)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Map { entries, .. } if entries.is_empty() => "{}".to_owned(),
            Value::Map { entries, .. } => {
                let entries: Vec<String> =
                    entries.iter().map(|entry| format!("{}: {}", entry.key.text, self.value(&entry.value))).collect();
                format!("{{ {} }}", entries.join(", "))
            }
            Value::Error(span) => self.slice(*span).to_owned(),
        }
    }

    fn port_list_inputs(&self, list: &PortList<Input>) -> String {
        let items: Vec<String> = list.items.iter().map(input_text).collect();
        format!("({})", items.join(", "))
    }

    fn port_list_outputs(&self, list: &PortList<Output>) -> String {
        let items: Vec<String> = list
            .items
            .iter()
            .map(|output| {
                let mut text = output.wire.text.to_string();
                if output.implicit.is_some() {
                    text.push_str(" implicit");
                }
                if let Some(ty) = &output.ty {
                    text.push_str(": ");
                    text.push_str(&ty.text);
                }
                text
            })
            .collect();
        format!("({})", items.join(", "))
    }
}

fn input_text(input: &Input) -> String {
    let members: Vec<String> = input
        .members
        .iter()
        .map(|member| {
            let mut text = member.wire.text.to_string();
            if let Some(buffer) = &member.buffer {
                text.push_str(&buffer_text(buffer.form));
            }
            text
        })
        .collect();
    let mut text = members.join(" + ");
    if input.implicit.is_some() {
        text.push_str(" implicit");
    }
    if let Some(ty) = &input.ty {
        text.push_str(": ");
        text.push_str(&ty.text);
    }
    text
}

pub fn buffer_text(form: BufferForm) -> String {
    match form {
        BufferForm::Count(n) => format!("[{n}]"),
        BufferForm::Range(min, max) => format!("[{min}-{max}]"),
        BufferForm::Window(size, slide) => format!("[{size}/{slide}]"),
    }
}

#[derive(Default)]
struct Widths {
    inputs: usize,
    task: usize,
    type_name: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GroupKind {
    Wiring,
    Type,
    Alone,
}

fn group_kind(item: &Item) -> GroupKind {
    match item {
        Item::Wiring(_) => GroupKind::Wiring,
        Item::Type(_) => GroupKind::Type,
        _ => GroupKind::Alone,
    }
}

fn is_block(item: &Item) -> bool {
    matches!(item, Item::Task(_) | Item::Defaults(_))
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn pad_into(out: &mut String, text: &str, width_to: usize) {
    out.push_str(text);
    for _ in width(text)..width_to {
        out.push(' ');
    }
}

fn trim_trailing_spaces(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
}
