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

/// Keys, and bare names in `command` lists (wire references).
fn in_block(block: &Block, hit: &impl Fn(&Name, fn(Name) -> Symbol) -> Option<Symbol>) -> Option<Symbol> {
    block.entries.iter().find_map(|entry| {
        hit(&entry.key, Symbol::Key).or_else(|| match &entry.value {
            Value::List { items, .. } => items.iter().find_map(|value| match value {
                Value::Name(name) => hit(name, Symbol::Wire),
                _ => None,
            }),
            _ => None,
        })
    })
}
