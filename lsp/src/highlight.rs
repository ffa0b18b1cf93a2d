//! Semantic tokens: each name coloured by what it is (wire, task, type, key),
//! which a grammar alone cannot know. Keywords, strings, numbers and comments
//! come from the lexer; names from the syntax tree.

use koalja_compiler::diagnostic::Diagnostics;
use koalja_compiler::span::Span;
use koalja_compiler::syntax::ast::{Block, Item, Name, Value};
use koalja_compiler::syntax::lexer::lex;
use koalja_compiler::syntax::token::TokenKind;
use rustc_hash::FxHashMap;
use tower_lsp_server::ls_types::{SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend};

use crate::document::Document;

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
    let mut mark = |name: &Name, kind: u32, modifiers: u32| {
        roles.insert(name.span.start, (kind, modifiers));
    };
    for item in &document.analysis.parsed.file.items {
        match item {
            Item::Header(header) => {
                if let Some(namespace) = &header.namespace {
                    mark(namespace, PIPELINE, 0);
                }
                mark(&header.name, PIPELINE, DECLARATION);
            }
            Item::Wiring(wiring) => {
                for input in &wiring.inputs.items {
                    input.members.iter().for_each(|member| mark(&member.wire, WIRE, 0));
                    if let Some(ty) = &input.ty {
                        mark(ty, TYPE, 0);
                    }
                }
                mark(&wiring.task, TASK, 0);
                for output in &wiring.outputs.items {
                    mark(&output.wire, WIRE, DECLARATION);
                    if let Some(ty) = &output.ty {
                        mark(ty, TYPE, 0);
                    }
                }
            }
            Item::Task(block) => {
                mark(&block.name, TASK, DECLARATION);
                block_roles(&block.body, &mut mark);
            }
            Item::Defaults(block) => block_roles(&block.body, &mut mark),
            Item::Type(decl) => {
                mark(&decl.name, TYPE, DECLARATION);
                mark(&decl.base, TYPE, 0);
            }
            Item::Error(_) => {}
        }
    }
    roles
}

/// Keys; bare names in lists are wires (`command: ["c", in, out]`).
fn block_roles(block: &Block, mark: &mut impl FnMut(&Name, u32, u32)) {
    for entry in &block.entries {
        mark(&entry.key, KEY, 0);
        if let Value::List { items, .. } = &entry.value {
            for value in items {
                if let Value::Name(name) = value {
                    mark(name, WIRE, 0);
                }
            }
        }
    }
}
