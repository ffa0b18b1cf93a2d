//! What name the cursor is on, from the syntax tree (so it works while the
//! file has errors elsewhere).

use koalja_compiler::span::Span;
use koalja_compiler::syntax::ast::{Block, Item, Name, SourceFile, Value};

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

/// The symbol whose name covers byte `offset` (its end included, so a
/// cursor just after a name finds it).
pub fn symbol_at(file: &SourceFile, offset: usize) -> Option<Symbol> {
    let covers = |span: Span| (span.start as usize) <= offset && offset <= span.end as usize;
    let hit = |name: &Name, make: fn(Name) -> Symbol| covers(name.span).then(|| make(name.clone()));
    for item in &file.items {
        if !covers(item.span()) {
            continue;
        }
        let found = match item {
            Item::Wiring(wiring) => wiring
                .inputs
                .items
                .iter()
                .find_map(|input| {
                    input
                        .members
                        .iter()
                        .find_map(|member| hit(&member.wire, Symbol::Wire))
                        .or_else(|| input.ty.as_ref().and_then(|ty| hit(ty, Symbol::Type)))
                })
                .or_else(|| hit(&wiring.task, Symbol::Task))
                .or_else(|| {
                    wiring.outputs.items.iter().find_map(|output| {
                        hit(&output.wire, Symbol::Wire)
                            .or_else(|| output.ty.as_ref().and_then(|ty| hit(ty, Symbol::Type)))
                    })
                }),
            Item::Task(block) => hit(&block.name, Symbol::Task).or_else(|| in_block(&block.body, &hit)),
            Item::Defaults(block) => in_block(&block.body, &hit),
            Item::Type(decl) => hit(&decl.name, Symbol::Type),
            Item::Header(_) | Item::Error(_) => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Keys, option values, and bare names in `command` lists (wire references).
fn in_block(block: &Block, hit: &impl Fn(&Name, fn(Name) -> Symbol) -> Option<Symbol>) -> Option<Symbol> {
    block.entries.iter().find_map(|entry| {
        hit(&entry.key, Symbol::Key).or_else(|| match &entry.value {
            Value::List { items, .. } => items.iter().find_map(|value| match value {
                Value::Name(name) => hit(name, Symbol::Wire),
                _ => None,
            }),
            Value::Name(value) => hit(value, Symbol::Key).map(|_| Symbol::Option(entry.key.clone(), value.clone())),
            _ => None,
        })
    })
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
/// and annotations. Keys have no occurrences to rename. In source order.
pub fn occurrences(text: &str, file: &SourceFile, symbol: &Symbol) -> Vec<Span> {
    let target = symbol.name().text.as_str();
    let mut spans = Vec::new();
    let add = |spans: &mut Vec<Span>, name: &Name| {
        if name.text == target {
            spans.push(name.span);
        }
    };
    for item in &file.items {
        match (item, symbol) {
            (Item::Wiring(wiring), Symbol::Wire(_)) => {
                for member in wiring.inputs.items.iter().flat_map(|input| &input.members) {
                    add(&mut spans, &member.wire);
                }
                for output in &wiring.outputs.items {
                    add(&mut spans, &output.wire);
                }
            }
            (Item::Wiring(wiring), Symbol::Task(_)) => add(&mut spans, &wiring.task),
            (Item::Wiring(wiring), Symbol::Type(_)) => {
                let inputs = wiring.inputs.items.iter().filter_map(|input| input.ty.as_ref());
                let outputs = wiring.outputs.items.iter().filter_map(|output| output.ty.as_ref());
                for ty in inputs.chain(outputs) {
                    add(&mut spans, ty);
                }
            }
            (Item::Task(block), Symbol::Task(_)) => add(&mut spans, &block.name),
            (Item::Task(block), Symbol::Wire(_)) => wire_uses(text, &block.body, target, &mut spans),
            (Item::Defaults(block), Symbol::Wire(_)) => wire_uses(text, &block.body, target, &mut spans),
            (Item::Type(decl), Symbol::Type(_)) => add(&mut spans, &decl.name),
            _ => {}
        }
    }
    spans.sort_by_key(|span| span.start);
    spans
}

/// A wire's uses in a block: bare names in lists, `{wire}` in strings.
fn wire_uses(text: &str, block: &Block, wire: &str, spans: &mut Vec<Span>) {
    let placeholder = format!("{{{wire}}}");
    let mut visit = |value: &Value| match value {
        Value::Name(name) if name.text == wire => spans.push(name.span),
        Value::Str(string) => {
            // Search the source, not the unescaped value, so spans are exact.
            let start = string.span.start as usize;
            let Some(source) = text.get(start..string.span.end as usize) else { return };
            for (at, _) in source.match_indices(&placeholder) {
                let name_start = (start + at + 1) as u32;
                spans.push(Span::new(name_start, name_start + wire.len() as u32));
            }
        }
        _ => {}
    };
    for entry in &block.entries {
        match &entry.value {
            Value::List { items, .. } => items.iter().for_each(&mut visit),
            value => visit(value),
        }
    }
}
