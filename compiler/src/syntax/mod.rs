//! The syntax layer: tokens, the tree, the lexer and the parser. Imports
//! nothing from the rest of the compiler but spans and diagnostics.

pub mod ast;
pub mod incremental;
pub mod lexer;
pub mod parser;
pub mod shift;
pub mod token;

use crate::diagnostic::Diagnostics;

/// A parsed file: the tree plus the comments the formatter needs, and the
/// tokens and cleanliness that an incremental re-parse starts from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub file: ast::SourceFile,
    pub comments: Vec<crate::span::Span>,
    pub tokens: Vec<(token::Token, crate::span::Span)>,
    /// Lexing and parsing reported nothing at all (not even a warning).
    pub clean: bool,
}

/// Lexes and parses `text`. Never fails; problems go to `diagnostics`.
pub fn parse(text: &str, diagnostics: &mut Diagnostics) -> Parsed {
    let reported_before = diagnostics.len();
    let lexed = lexer::lex(text, diagnostics);
    let file = parser::parse(text, &lexed.tokens, diagnostics);
    let clean = diagnostics.len() == reported_before;
    Parsed { file, comments: lexed.comments, tokens: lexed.tokens, clean }
}
