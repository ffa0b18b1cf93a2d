//! Semantic tokens: each name coloured by what it is (wire, task, type, key),
//! which a grammar alone cannot know. Keywords, strings, numbers and comments
//! come from the lexer; names from the syntax tree.

use koalja_compiler::diagnostic::Diagnostics;
use koalja_compiler::span::Span;
use koalja_compiler::syntax::ast::Item;
use koalja_compiler::syntax::lexer::lex;
use koalja_compiler::syntax::token::TokenKind;
use rustc_hash::FxHashMap;
use tower_lsp_server::ls_types::{SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend};

use crate::document::Document;
use crate::locate::{item_names, Symbol};

/// The legend; a token's type is its index here.
const TYPES: [SemanticTokenType; 9] = [
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::TYPE,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::KEYWORD,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
];
const PIPELINE: u32 = 0;
const TYPE: u32 = 1;
const TASK: u32 = 2;
const WIRE: u32 = 3;
const KEY: u32 = 4;
const KEYWORD: u32 = 5;
const STRING: u32 = 6;
const NUMBER: u32 = 7;
const COMMENT: u32 = 8;
/// Modifier bit 0: where the name is defined (a produced wire, a task
/// block, a type declaration).
const DECLARATION: u32 = 1;

pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend { token_types: TYPES.to_vec(), token_modifiers: vec![SemanticTokenModifier::DECLARATION] }
}

/// Every token, delta-encoded in UTF-16 as the protocol wants.
pub fn tokens(document: &Document) -> Vec<SemanticToken> {
    let roles = name_roles(document);
    let mut spans: Vec<(Span, u32, u32)> =
        document.analysis.parsed.comments.iter().map(|span| (*span, COMMENT, 0)).collect();
    let mut diagnostics = Diagnostics::default();
    for (token, span) in lex(&document.text, &mut diagnostics).tokens {
        let kind = match token.kind {
            kind if kind.is_keyword() => Some((KEYWORD, 0)),
            TokenKind::Str | TokenKind::UnterminatedStr => Some((STRING, 0)),
            TokenKind::Int => Some((NUMBER, 0)),
            TokenKind::Ident => roles.get(&span.start).copied(),
            _ => None,
        };
        if let Some((kind, modifiers)) = kind {
            spans.push((span, kind, modifiers));
        }
    }
    spans.sort_by_key(|(span, ..)| span.start);
    let mut encoded = Vec::with_capacity(spans.len());
    let (mut line, mut column) = (0, 0);
    for (span, kind, modifiers) in spans {
        let start = document.lines.position(&document.text, span.start as usize);
        let end = document.lines.position(&document.text, span.end as usize);
        // Tokens never span lines (no raw newline in strings or comments);
        // clip anything that would.
        let length = if end.line == start.line { end.character - start.character } else { 0 };
        if length == 0 {
            continue;
        }
        let delta_line = start.line - line;
        let delta_start = if delta_line == 0 { start.character - column } else { start.character };
        encoded.push(SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type: kind,
            token_modifiers_bitset: modifiers,
        });
        (line, column) = (start.line, start.character);
    }
    encoded
}

/// What each name in the tree is, by its start offset.
fn name_roles(document: &Document) -> FxHashMap<u32, (u32, u32)> {
    let mut roles = FxHashMap::default();
    for item in &document.analysis.parsed.file.items {
        if let Item::Header(header) = item {
            if let Some(namespace) = &header.namespace {
                roles.insert(namespace.span.start, (PIPELINE, 0));
            }
            roles.insert(header.name.span.start, (PIPELINE, DECLARATION));
        }
        item_names(item, &mut |symbol, defines| {
            let kind = match symbol {
                Symbol::Wire(_) => WIRE,
                Symbol::Task(_) => TASK,
                Symbol::Type(_) => TYPE,
                Symbol::Key(_) => KEY,
                // Option values are left to the grammar.
                Symbol::Option(..) => return,
            };
            roles.insert(symbol.name().span.start, (kind, if defines { DECLARATION } else { 0 }));
        });
    }
    roles
}
