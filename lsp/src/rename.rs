//! Rename: which names can be renamed, to what, and every edit it takes.

use koalja_compiler::analysis::Analysis;
use koalja_compiler::check::BUILTIN_TYPES;
use koalja_compiler::diagnostic::Diagnostics;
use koalja_compiler::span::Span;
use koalja_compiler::syntax::lexer::lex;
use koalja_compiler::syntax::token::TokenKind;

use crate::locate::{occurrences, symbol_at, Symbol};

/// The symbol at `offset` if it can be renamed (a wire, task or type).
pub fn prepare(analysis: &Analysis, offset: usize) -> Result<Symbol, String> {
    match symbol_at(&analysis.parsed.file, offset) {
        Some(Symbol::Key(key)) => Err(format!("`{}` is a key of the language; it cannot be renamed", key.text)),
        Some(Symbol::Option(_, value)) => {
            Err(format!("`{}` is a value of the language; it cannot be renamed", value.text))
        }
        Some(symbol) if known(analysis, &symbol) => Ok(symbol),
        Some(symbol) => Err(format!("`{}` is not declared in this file", symbol.name().text)),
        None => Err("there is no wire, task or type name here".to_owned()),
    }
}

/// The spans to replace with `new_name`, or why the rename is refused
/// (not a name, a keyword, or a name already taken).
pub fn edits(analysis: &Analysis, symbol: &Symbol, new_name: &str) -> Result<Vec<Span>, String> {
    check_name(new_name)?;
    if new_name != symbol.name().text && taken(analysis, symbol, new_name) {
        let kind = match symbol {
            Symbol::Wire(_) => "wire",
            Symbol::Task(_) => "task",
            Symbol::Type(_) | Symbol::Key(_) | Symbol::Option(..) => "type",
        };
        return Err(format!("a {kind} named `{new_name}` already exists"));
    }
    Ok(occurrences(&analysis.text, &analysis.parsed.file, symbol))
}

/// A new name must lex as exactly one name, and not as a keyword.
fn check_name(new_name: &str) -> Result<(), String> {
    let mut diagnostics = Diagnostics::default();
    let lexed = lex(new_name, &mut diagnostics);
    match lexed.tokens.as_slice() {
        [(token, span)] if span.start == 0 && span.end as usize == new_name.len() && !diagnostics.has_errors() => {
            if token.kind.is_keyword() {
                Err(format!("`{new_name}` is a keyword"))
            } else if token.kind == TokenKind::Ident {
                Ok(())
            } else {
                Err(format!("`{new_name}` is not a name"))
            }
        }
        _ => Err(format!("`{new_name}` is not a name (letters, digits, `_` and `-`, not starting with a digit)")),
    }
}

fn known(analysis: &Analysis, symbol: &Symbol) -> bool {
    let pipeline = &analysis.pipeline;
    let name = &symbol.name().text;
    match symbol {
        Symbol::Wire(_) => pipeline.wire(name).is_some(),
        Symbol::Task(_) => pipeline.task(name).is_some(),
        // Built-in types are not declared anywhere to rename.
        Symbol::Type(_) => pipeline.types.iter().any(|ty| ty.name == *name && ty.span != Span::default()),
        Symbol::Key(_) | Symbol::Option(..) => false,
    }
}

fn taken(analysis: &Analysis, symbol: &Symbol, new_name: &str) -> bool {
    let pipeline = &analysis.pipeline;
    match symbol {
        Symbol::Wire(_) => pipeline.wire(new_name).is_some(),
        Symbol::Task(_) => pipeline.task(new_name).is_some(),
        Symbol::Type(_) | Symbol::Key(_) | Symbol::Option(..) => {
            pipeline.types.iter().any(|ty| ty.name == new_name)
                || BUILTIN_TYPES.iter().any(|(builtin, ..)| *builtin == new_name)
        }
    }
}
