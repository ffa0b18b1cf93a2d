//! Turns text into tokens for the parser and comments for the formatter.
//! Never fails: unknown characters become K0002 diagnostics and are left out
//! of the token stream, so the parser does not report them a second time.

use logos::Logos;

use super::token::{Token, TokenKind};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::span::Span;

#[derive(Debug, Default, Clone)]
pub struct Lexed {
    /// Significant tokens, in order.
    pub tokens: Vec<(Token, Span)>,
    /// Comment spans (each `#` to the end of its line), in order.
    pub comments: Vec<Span>,
}

pub fn lex(text: &str, diagnostics: &mut Diagnostics) -> Lexed {
    // Tokens average four to five bytes of source; reserving for four up front
    // avoids regrowing (and briefly holding two copies of) a large vector.
    let mut lexed = Lexed { tokens: Vec::with_capacity(text.len() / 4 + 16), comments: Vec::new() };
    let mut lexer = TokenKind::lexer(text);
    // End of the previous token or comment: a newline between it and the
    // next token makes that token the first on its line.
    let mut previous_end = 0usize;
    let mut unknown_run: Option<Span> = None;

    while let Some(result) = lexer.next() {
        let range = lexer.span();
        let span = Span::from(range.clone());
        let kind = match result {
            Ok(kind) => kind,
            Err(()) => {
                // Coalesce adjacent unknown characters into one diagnostic.
                unknown_run = match unknown_run {
                    Some(run) if run.end == span.start => Some(run.cover(span)),
                    Some(run) => {
                        report_unknown(text, run, diagnostics);
                        Some(span)
                    }
                    None => Some(span),
                };
                continue;
            }
        };
        if let Some(run) = unknown_run.take() {
            report_unknown(text, run, diagnostics);
        }
        let line_start = previous_end == 0 && lexed.tokens.is_empty() && lexed.comments.is_empty()
            || text[previous_end..range.start].contains('\n');
        previous_end = range.end;
        match kind {
            TokenKind::Comment => lexed.comments.push(span),
            TokenKind::Str | TokenKind::UnterminatedStr => {
                check_string(text, span, kind, diagnostics);
                lexed.tokens.push((Token { kind, line_start }, span));
            }
            _ => lexed.tokens.push((Token { kind, line_start }, span)),
        }
    }
    if let Some(run) = unknown_run {
        report_unknown(text, run, diagnostics);
    }
    lexed
}

fn report_unknown(text: &str, run: Span, diagnostics: &mut Diagnostics) {
    let shown: String = text[run.range()].chars().take(16).collect();
    let (message, help) = match shown.chars().next() {
        Some('\'') => {
            ("single quotes do not make a string".to_owned(), "strings use double quotes: \"...\"".to_owned())
        }
        Some(';') => (
            "`;` is not part of the language".to_owned(),
            "a wiring statement ends at the `)` that closes its outputs; remove the `;`".to_owned(),
        ),
        Some(c) if c.is_alphabetic() => (
            format!("`{shown}` is not a valid name"),
            "names are ASCII letters, digits, `_` and `-`, starting with a letter or `_`".to_owned(),
        ),
        _ if shown.chars().count() == 1 => {
            (format!("unknown character `{}`", shown.escape_debug()), "remove it, or put it inside a string".to_owned())
        }
        _ => (
            format!("unknown characters `{}`", shown.escape_debug()),
            "remove them, or put them inside a string".to_owned(),
        ),
    };
    diagnostics.push(Diagnostic::new(Code::UnknownCharacter, run, message).help(help));
}

/// Reports a missing closing quote and every escape other than the four the
/// language has.
fn check_string(text: &str, span: Span, kind: TokenKind, diagnostics: &mut Diagnostics) {
    let body = &text[span.range()];
    if kind == TokenKind::UnterminatedStr {
        diagnostics.push(
            Diagnostic::new(Code::UnterminatedString, span, "this string has no closing quote")
                .help("close it with `\"` on the same line; write a line break inside a string as `\\n`")
                .fix("close the string", Span::empty_at(span.end), "\""),
        );
    }
    let mut chars = body.char_indices().skip(1);
    while let Some((offset, c)) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some((_, '"' | '\\' | 'n' | 't')) => {}
            Some((next_offset, other)) => {
                let start = span.start + offset as u32;
                let end = span.start + (next_offset + other.len_utf8()) as u32;
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidEscape,
                        Span::new(start, end),
                        format!("`\\{}` is not an escape sequence", other.escape_debug()),
                    )
                    .help("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`; write a backslash as `\\\\`")
                    .fix("escape the backslash", Span::new(start, start + 1), "\\\\"),
                );
            }
            None => {} // A lone trailing backslash: the string is unterminated.
        }
    }
}

/// The value of a string token, with escapes decoded. Invalid escapes are kept
/// as written (they were reported by the lexer).
pub fn unescape(token_text: &str) -> smol_str::SmolStr {
    let inner = token_text.strip_prefix('"').unwrap_or(token_text);
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    if !inner.contains('\\') {
        return inner.into(); // The common case: no escapes, and short strings stay inline.
    }
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some('"') => value.push('"'),
            Some('\\') => value.push('\\'),
            Some(other) => {
                value.push('\\');
                value.push(other);
            }
            None => value.push('\\'),
        }
    }
    value.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let mut diagnostics = Diagnostics::default();
        lex(text, &mut diagnostics).tokens.into_iter().map(|(t, _)| t.kind).collect()
    }

    #[test]
    fn keywords_are_whole_words_only() {
        use TokenKind::*;
        assert_eq!(kinds("task tasks task-a type_x"), vec![KwTask, Ident, Ident, Ident]);
    }

    #[test]
    fn ranges_lex_as_int_minus_int() {
        use TokenKind::*;
        assert_eq!(kinds("in[2-5]"), vec![Ident, LBracket, Int, Minus, Int, RBracket]);
    }

    #[test]
    fn line_start_flags_follow_newlines_and_comments() {
        let mut diagnostics = Diagnostics::default();
        let lexed = lex("(a) t # c\n(b)", &mut diagnostics);
        let flags: Vec<bool> = lexed.tokens.iter().map(|(t, _)| t.line_start).collect();
        assert_eq!(flags, vec![true, false, false, false, true, false, false]);
        assert_eq!(lexed.comments.len(), 1);
    }

    #[test]
    fn unknown_characters_coalesce_into_one_diagnostic() {
        let mut diagnostics = Diagnostics::default();
        let lexed = lex("(a) $$$ t (b)", &mut diagnostics);
        let diagnostics = diagnostics.finish(Span::default());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, Code::UnknownCharacter);
        assert_eq!(diagnostics[0].span, Span::new(4, 7));
        assert_eq!(lexed.tokens.len(), 7);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(unescape(r#""a\"b\\c\nd\te""#), "a\"b\\c\nd\te");
        let mut diagnostics = Diagnostics::default();
        lex(r#"x: "a\db""#, &mut diagnostics);
        let diagnostics = diagnostics.finish(Span::default());
        assert_eq!(diagnostics[0].code, Code::InvalidEscape);
        assert_eq!(diagnostics[0].span, Span::new(5, 7));
    }

    #[test]
    fn unterminated_string_stops_at_end_of_line() {
        use TokenKind::*;
        let mut diagnostics = Diagnostics::default();
        let lexed = lex("x: \"abc\n(a) t (b)", &mut diagnostics);
        assert_eq!(lexed.tokens[2].0.kind, UnterminatedStr);
        assert_eq!(lexed.tokens[3].0.kind, LParen);
        assert_eq!(diagnostics.finish(Span::default())[0].code, Code::UnterminatedString);
    }
}
