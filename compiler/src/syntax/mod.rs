//! The syntax layer: tokens, the tree, the lexer and the parser. Imports
//! nothing from the rest of the compiler but spans and diagnostics.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod token;

use crate::diagnostic::Diagnostics;

/// A parsed file: the tree plus the comments the formatter needs.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub file: ast::SourceFile,
    pub comments: Vec<crate::span::Span>,
}

/// Lexes and parses `text`. Never fails; problems go to `diagnostics`.
pub fn parse(text: &str, diagnostics: &mut Diagnostics) -> Parsed {
    let lexed = lexer::lex(text, diagnostics);
    let file = parser::parse(text, &lexed.tokens, diagnostics);
    Parsed { file, comments: lexed.comments }
}
