//! What name the cursor is on, from the syntax tree (so it works while the
//! file has errors elsewhere).

use koalja_compiler::span::Span;
use koalja_compiler::syntax::ast::{Block, DefaultsBlock, Item, Name, SourceFile, TaskBlock, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Symbol {
    Wire(Name),
    Task(Name),
    Type(Name),
    /// A key in a `task` or `defaults` block.
    Key(Name),
    /// A name given as a key's value (`policy: all-new`): key, then value.
    Option(Name, Name),
}

/// Calls `visit` with every wire, task, type, key and option name written in
/// `item`, in source order, and whether the name is defined there (an
/// output wire, a task block's name, a declared type). The one walk over
/// names: finding, renaming and colouring all go through it.
pub fn item_names(item: &Item, visit: &mut impl FnMut(Symbol, bool)) {
    match item {
        Item::Wiring(wiring) => {
            for input in &wiring.inputs.items {
                for member in &input.members {
                    visit(Symbol::Wire(member.wire.clone()), false);
                }
                if let Some(ty) = &input.ty {
                    visit(Symbol::Type(ty.clone()), false);
                }
            }
            visit(Symbol::Task(wiring.task.clone()), false);
            for output in &wiring.outputs.items {
                visit(Symbol::Wire(output.wire.clone()), true);
                if let Some(ty) = &output.ty {
                    visit(Symbol::Type(ty.clone()), false);
                }
            }
        }
        Item::Task(block) => {
            visit(Symbol::Task(block.name.clone()), true);
            block_names(&block.body, visit);
        }
        Item::Defaults(block) => block_names(&block.body, visit),
        Item::Type(decl) => {
            visit(Symbol::Type(decl.name.clone()), true);
            visit(Symbol::Type(decl.base.clone()), false);
        }
        Item::Header(_) | Item::Error(_) => {}
    }
}

/// Keys, option values (`policy: all-new`), and bare names in lists, which
/// are wires (`command: ["c", in, out]`).
fn block_names(block: &Block, visit: &mut impl FnMut(Symbol, bool)) {
    for entry in &block.entries {
        visit(Symbol::Key(entry.key.clone()), false);
        match &entry.value {
            Value::List { items, .. } => {
                for value in items {
                    if let Value::Name(name) = value {
                        visit(Symbol::Wire(name.clone()), false);
                    }
                }
            }
            Value::Name(value) => visit(Symbol::Option(entry.key.clone(), value.clone()), false),
            _ => {}
        }
    }
}

/// The symbol whose name covers byte `offset` (its end included, so a
/// cursor just after a name finds it).
pub fn symbol_at(file: &SourceFile, offset: usize) -> Option<Symbol> {
    let covers = |span: Span| (span.start as usize) <= offset && offset <= span.end as usize;
    let mut found = None;
    for item in file.items.iter().filter(|item| covers(item.span())) {
        item_names(item, &mut |symbol, _| {
            if found.is_none() && covers(symbol.name().span) {
                found = Some(symbol);
            }
        });
        if found.is_some() {
            break;
        }
    }
    found
}

impl Symbol {
    pub fn name(&self) -> &Name {
        match self {
            Symbol::Wire(name) | Symbol::Task(name) | Symbol::Type(name) | Symbol::Key(name) => name,
            Symbol::Option(_, value) => value,
        }
    }
}

/// Every place the symbol's name is written: for a wire its mentions in
/// statements, bare names in `command` lists and `{wire}` placeholders in
/// strings; for a task its statement and block; for a type its declaration
/// and annotations. Keys and option values have no occurrences to rename.
/// In source order.
pub fn occurrences(text: &str, file: &SourceFile, symbol: &Symbol) -> Vec<Span> {
    if matches!(symbol, Symbol::Key(_) | Symbol::Option(..)) {
        return Vec::new();
    }
    let target = symbol.name().text.as_str();
    let mut spans = Vec::new();
    for item in &file.items {
        item_names(item, &mut |named, _| {
            if std::mem::discriminant(&named) == std::mem::discriminant(symbol) && named.name().text == target {
                spans.push(named.name().span);
            }
        });
        if let (Symbol::Wire(_), Item::Task(TaskBlock { body, .. }) | Item::Defaults(DefaultsBlock { body, .. })) =
            (symbol, item)
        {
            placeholders(text, body, target, &mut spans);
        }
    }
    spans.sort_by_key(|span| span.start);
    spans
}

/// The `{wire}` placeholders in a block's strings.
fn placeholders(text: &str, block: &Block, wire: &str, spans: &mut Vec<Span>) {
    let placeholder = format!("{{{wire}}}");
    let mut visit = |value: &Value| {
        if let Value::Str(string) = value {
            // Search the source, not the unescaped value, so spans are exact.
            let start = string.span.start as usize;
            let Some(source) = text.get(start..string.span.end as usize) else { return };
            for (at, _) in source.match_indices(&placeholder) {
                let name_start = (start + at + 1) as u32;
                spans.push(Span::new(name_start, name_start + wire.len() as u32));
            }
        }
    };
    for entry in &block.entries {
        match &entry.value {
            Value::List { items, .. } => items.iter().for_each(&mut visit),
            value => visit(value),
        }
    }
}
