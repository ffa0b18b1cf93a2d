//! Completion: what may be written at the cursor, each with a one-line
//! detail. The context comes from the syntax tree where the statement
//! parsed and from the line's text where it did not (the usual case while
//! typing).

use koalja_compiler::analysis::Analysis;
use koalja_compiler::check::{BUILTIN_TYPES, KEYS};
use koalja_compiler::model::{Launch, PayloadKind, Policy, WireRole};
use koalja_compiler::span::Span;
use koalja_compiler::syntax::ast::{Block, Item};
use tower_lsp_server::ls_types::{CompletionItem, CompletionItemKind};

/// What the cursor may be completed with.
#[derive(Debug, PartialEq, Eq)]
enum Context {
    Wires,
    /// Wire names of one task (inside its `command` list).
    WiresOf(String),
    Types,
    Tasks,
    /// Task names that have a statement but no `task` block yet.
    TasksWithoutBlock,
    Keys,
    Values(&'static str),
    Keywords,
    Nothing,
}

pub fn complete(analysis: &Analysis, offset: usize) -> Vec<CompletionItem> {
    let items = match context(analysis, offset) {
        Context::Wires => wires(analysis, None),
        Context::WiresOf(task) => wires(analysis, Some(&task)),
        Context::Types => types(analysis),
        Context::Tasks => tasks(analysis, false),
        Context::TasksWithoutBlock => tasks(analysis, true),
        Context::Keys => KEYS.iter().map(|(key, takes)| item(key, CompletionItemKind::PROPERTY, takes)).collect(),
        Context::Values("policy") => {
            Policy::ALL.iter().map(|(name, p)| item(name, CompletionItemKind::ENUM_MEMBER, p.meaning())).collect()
        }
        Context::Values("launch") => {
            Launch::ALL.iter().map(|(name, l)| item(name, CompletionItemKind::ENUM_MEMBER, l.meaning())).collect()
        }
        Context::Values(_) => Vec::new(),
        Context::Keywords => [
            ("task", "a task block: `task NAME { image: … }`"),
            ("type", "a type: `type NAME = file \"mime/type\"`"),
            ("defaults", "settings every task block inherits"),
        ]
        .iter()
        .map(|(word, detail)| item(word, CompletionItemKind::KEYWORD, detail))
        .collect(),
        Context::Nothing => Vec::new(),
    };
    let mut items = items;
    items.sort_by(|a, b| a.label.cmp(&b.label));
    items.dedup_by(|a, b| a.label == b.label);
    items
}

fn item(label: &str, kind: CompletionItemKind, detail: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail: Some(detail.to_owned()),
        ..CompletionItem::default()
    }
}

fn context(analysis: &Analysis, offset: usize) -> Context {
    let text = &analysis.text;
    let line_start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line = &text[line_start..offset];
    // Inside a block that the tree knows about?
    for item in &analysis.parsed.file.items {
        let (body, task) = match item {
            Item::Task(block) => (&block.body, Some(block.name.text.to_string())),
            Item::Defaults(block) => (&block.body, None),
            _ => continue,
        };
        let inside = (body.span.start as usize) < offset && (offset < body.span.end as usize || body.broken);
        if inside && !starts_item(line) {
            return in_block(text, body, offset, task);
        }
    }
    if let Some((body, task)) = unclosed_block(text, offset) {
        return in_block(text, &body, offset, task);
    }
    let trimmed = line.trim_start();
    if trimmed.starts_with('(') {
        return in_statement(trimmed);
    }
    if let Some(rest) = trimmed.strip_prefix("task ") {
        if !rest.contains('{') {
            return Context::TasksWithoutBlock;
        }
    }
    if trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
        return Context::Keywords;
    }
    Context::Nothing
}

/// A block the tree lost (the parser gave up on it while it is being
/// typed): the last `task NAME {` or `defaults {` before the cursor whose
/// brace is still open, as an empty broken block, with the task's name.
fn unclosed_block(text: &str, offset: usize) -> Option<(Block, Option<String>)> {
    let before = &text[..offset];
    let item_start = before
        .match_indices('\n')
        .map(|(at, _)| at + 1)
        .chain(std::iter::once(0))
        .filter(|&start| {
            let line = &before[start..];
            line.starts_with("task ") || line.starts_with("defaults")
        })
        .max()?;
    let item = &before[item_start..];
    let brace = item.find('{')?;
    let opened = item.matches('{').count();
    let closed = item.matches('}').count();
    if opened <= closed {
        return None;
    }
    let task = item
        .strip_prefix("task ")
        .map(|rest| rest[..rest.find('{').unwrap_or(rest.len())].trim().to_owned())
        .filter(|name| !name.is_empty());
    let start = (item_start + brace) as u32;
    let body = Block { entries: Vec::new(), broken: true, span: Span::new(start, offset as u32) };
    Some((body, task))
}

/// A line that begins a new item, so not part of an unclosed block above.
fn starts_item(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.starts_with('(') || trimmed.starts_with("task ") || trimmed.starts_with("type ")
}

/// In a block: a key, or the value of the key before the cursor.
fn in_block(text: &str, body: &Block, offset: usize, task: Option<String>) -> Context {
    // The text of the entry being written: from the end of the previous
    // entry (or the `{`) to the cursor.
    let entry_start = body
        .entries
        .iter()
        .map(|entry| entry.span.end as usize)
        .filter(|&end| end <= offset)
        .chain(std::iter::once(body.span.start as usize + 1))
        .max()
        .unwrap_or(offset);
    let written = text.get(entry_start..offset).unwrap_or_default();
    let written = written.trim_start_matches([',', ' ', '\t', '\r', '\n']);
    // An entry the tree has that covers the cursor: its key counts.
    let covering = body.entries.iter().find(|e| (e.key.span.end as usize) < offset && offset <= e.span.end as usize);
    let (key, value) = match covering {
        Some(entry) => (entry.key.text.as_str(), text.get(entry.key.span.end as usize..offset).unwrap_or_default()),
        None => match written.split_once(':') {
            Some((key, value)) => (key.trim(), value),
            None => return Context::Keys,
        },
    };
    match KEYS.iter().find(|(known, _)| *known == key) {
        Some(("command", _)) if value.contains('[') => match task {
            Some(task) => Context::WiresOf(task),
            None => Context::Wires,
        },
        Some((known @ ("policy" | "launch"), _)) => Context::Values(known),
        _ => Context::Nothing,
    }
}

/// In a one-line wiring statement: inputs, the task name, or outputs.
fn in_statement(line: &str) -> Context {
    let mut depth = 0;
    let mut groups_closed = 0;
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    groups_closed += 1;
                }
            }
            _ => {}
        }
    }
    // The word being typed, then what comes before it.
    let before_word = line.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let after_colon = before_word.trim_end().ends_with(':');
    match (depth > 0, groups_closed) {
        (true, _) if after_colon => Context::Types,
        (true, 0) => Context::Wires,
        (false, 1) => Context::Tasks,
        _ => Context::Nothing,
    }
}

fn wires(analysis: &Analysis, task: Option<&str>) -> Vec<CompletionItem> {
    let pipeline = &analysis.pipeline;
    let task = task.and_then(|name| pipeline.task(name));
    let task_id = task.and_then(|task| pipeline.tasks.iter().position(|t| t.name == task.name));
    pipeline
        .wires
        .iter()
        .filter(|wire| task_id.is_none_or(|id| wire.producer == Some(id) || wire.consumers.contains(&id)))
        .map(|wire| {
            let origin = match (wire.producer.and_then(|id| pipeline.tasks.get(id)), wire.role) {
                (Some(producer), _) => format!("from `{}`", producer.name),
                (None, WireRole::PipelineInput) => "pipeline input".to_owned(),
                (None, _) => "never produced".to_owned(),
            };
            item(&wire.name, CompletionItemKind::VARIABLE, &format!("wire: {}, {origin}", wire.ty))
        })
        .collect()
}

fn types(analysis: &Analysis) -> Vec<CompletionItem> {
    let kind = |kind: PayloadKind| format!("{kind:?}").to_lowercase();
    let builtin = BUILTIN_TYPES.iter().map(|(name, payload, mime)| {
        let detail = format!("built-in type: {}{}", kind(*payload), mime.map(|m| format!(" {m}")).unwrap_or_default());
        item(name, CompletionItemKind::STRUCT, &detail)
    });
    let declared = analysis.pipeline.types.iter().map(|ty| {
        let mime = ty.mime.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
        item(&ty.name, CompletionItemKind::STRUCT, &format!("type: {}{mime}", kind(ty.kind)))
    });
    declared.chain(builtin).collect()
}

fn tasks(analysis: &Analysis, without_block: bool) -> Vec<CompletionItem> {
    let pipeline = &analysis.pipeline;
    let name = |id: &usize| pipeline.wires.get(*id).map_or("?", |wire| wire.name.as_str());
    pipeline
        .tasks
        .iter()
        .filter(|task| !without_block || task.block_span.is_none())
        .map(|task| {
            let inputs: Vec<&str> = task.inputs.iter().flat_map(|input| input.wires.iter().map(name)).collect();
            let outputs: Vec<&str> = task.outputs.iter().map(|output| name(&output.wire)).collect();
            let detail = format!("task: ({}) → ({})", inputs.join(", "), outputs.join(", "));
            item(&task.name, CompletionItemKind::FUNCTION, &detail)
        })
        .collect()
}
