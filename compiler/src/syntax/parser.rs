//! The chumsky parser: tokens in, a `SourceFile` and diagnostics out. Never
//! fails and never stops at the first error.
//!
//! Recovery works at three depths, most specific first:
//! - a parenthesised port list or a `{…}` block that does not parse is skipped
//!   as a balanced group and marked `broken`, so a wiring statement with a bad
//!   input list still has its task name and outputs;
//! - a statement that still does not parse becomes `Item::Error`, and parsing
//!   resumes at the next line that starts with an item (`task`, `type`,
//!   `defaults`, `(` or `[`);
//! - after `MAX_RECOVERIES` recoveries the rest of the file is skipped, so a
//!   garbage file costs linear time and bounded memory.
//!
//! Skips never cross the start of another item, and the item skip covers at
//! least what a failed group skip covered, so every token is visited a
//! bounded number of times. Nothing here recurses per nesting level (the
//! grammar has no nesting deeper than a list inside a block), so deeply
//! nested garbage cannot overflow the stack.

use chumsky::error::EmptyErr;
use chumsky::input::{Input as _, MappedInput};
use chumsky::inspector::SimpleState;
use chumsky::label::LabelError;
use chumsky::prelude::{choice, custom, end, extra, select, IterParser, Parser, Rich};
use chumsky::recovery::via_parser;
use chumsky::DefaultExpected;

use super::ast::{
    Block, Buffer, BufferForm, DefaultsBlock, Entry, Header, Input, Item, MergeMember, Name, Output, PortList,
    SourceFile, StringLit, TaskBlock, TypeDecl, Value, Wiring,
};
use super::lexer::unescape;
use super::token::{Token, TokenKind};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::span::Span;

/// Past this many skipped statements the rest of the file is not parsed.
pub const MAX_RECOVERIES: u32 = 1000;

impl chumsky::span::Span for Span {
    type Context = ();
    type Offset = u32;

    fn new(_context: (), range: std::ops::Range<u32>) -> Span {
        Span::new(range.start, range.end)
    }
    fn context(&self) {}
    fn start(&self) -> u32 {
        self.start
    }
    fn end(&self) -> u32 {
        self.end
    }
}

type TokenInput<'a> = MappedInput<'a, Token, Span, &'a [(Token, Span)]>;
type Extra<'a, E> = extra::Full<E, SimpleState<ParseState>, ()>;

/// What the grammar needs of an error type. Two implement it: chumsky's
/// `EmptyErr`, which allocates nothing, for the first pass over every file,
/// and `Rich`, which records what was expected, for a second pass that runs
/// only when the first found an error. Valid files (the common case, and
/// every file in a large pipeline) so never pay for building error messages
/// on the many alternatives that fail along the way.
trait ParseError<'a>:
    chumsky::error::Error<'a, TokenInput<'a>>
    + LabelError<'a, TokenInput<'a>, &'static str>
    + LabelError<'a, TokenInput<'a>, DefaultExpected<'a, Token>>
    + 'a
{
    /// An error for a recovery strategy that does not apply here.
    fn no_recovery(span: Span) -> Self {
        <Self as LabelError<'a, TokenInput<'a>, &'static str>>::expected_found([], None, span)
    }
}

impl<'a, T> ParseError<'a> for T where
    T: chumsky::error::Error<'a, TokenInput<'a>>
        + LabelError<'a, TokenInput<'a>, &'static str>
        + LabelError<'a, TokenInput<'a>, DefaultExpected<'a, Token>>
        + 'a
{
}

/// What the parser learns besides the tree.
#[derive(Default)]
struct ParseState {
    recoveries: u32,
    /// Where parsing gave up, once `MAX_RECOVERIES` was reached.
    gave_up_at: Option<Span>,
    integers_too_large: Vec<Span>,
}

/// Below this many tokens a file is parsed on one thread.
const TOKENS_PER_THREAD: usize = 100_000;

pub fn parse(text: &str, tokens: &[(Token, Span)], diagnostics: &mut Diagnostics) -> SourceFile {
    if let Some((items, state)) = parse_valid_in_parallel(text, tokens) {
        report_state(state, diagnostics);
        return SourceFile { items };
    }
    // Parse again, this time recording what was expected where.
    let end_of_input = end_of_input(tokens);
    let mut state = SimpleState(ParseState::default());
    let (items, errors) = source_file::<Rich<'_, Token, Span>>(text)
        .parse_with_state(tokens.split_token_span(end_of_input), &mut state)
        .into_output_errors();
    for error in errors {
        diagnostics.push(syntax_diagnostic(text, &error));
    }
    report_state(state.0, diagnostics);
    SourceFile { items: items.unwrap_or_default() }
}

/// "Found the end of the file" points just after the last token, where the
/// missing piece belongs, not at a blank last line.
fn end_of_input(tokens: &[(Token, Span)]) -> Span {
    Span::empty_at(tokens.last().map_or(0, |(_, span)| span.end))
}

/// The fast path: the allocation-free pass, over chunks of a large file on
/// all cores. `None` when any chunk has an error; the caller then parses the
/// whole file again with `Rich` errors and recovery, so chunking can never
/// change what an invalid file reports.
///
/// Chunks are cut only where an item must start in a valid file
/// (`is_item_cut`), so a valid file parses to the same items in chunks as
/// whole.
fn parse_valid_in_parallel(text: &str, tokens: &[(Token, Span)]) -> Option<(Vec<Item>, ParseState)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = split_at_items(tokens, threads.min(tokens.len() / TOKENS_PER_THREAD).max(1));
    let parse_chunk = |chunk: &[(Token, Span)]| parse_valid_chunk(text, chunk);
    let results: Vec<Option<(Vec<Item>, ParseState)>> = if chunks.len() == 1 {
        vec![parse_chunk(chunks[0])]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks.iter().map(|chunk| scope.spawn(|| parse_chunk(chunk))).collect();
            handles.into_iter().map(|handle| handle.join().ok().flatten()).collect()
        })
    };
    let mut items = Vec::new();
    let mut state = ParseState::default();
    for result in results {
        let (chunk_items, chunk_state) = result?;
        items.extend(chunk_items);
        state.integers_too_large.extend(chunk_state.integers_too_large);
    }
    Some((items, state))
}

/// The allocation-free pass over one run of tokens (spans into `text`):
/// its items, or `None` when it has an error of any kind.
fn parse_valid_chunk(text: &str, chunk: &[(Token, Span)]) -> Option<(Vec<Item>, ParseState)> {
    let mut state = SimpleState(ParseState::default());
    let (items, errors) = source_file::<EmptyErr>(text)
        .parse_with_state(chunk.split_token_span(end_of_input(chunk)), &mut state)
        .into_output_errors();
    match (items, errors.is_empty()) {
        (Some(items), true) => Some((items, state.0)),
        _ => None,
    }
}

/// The items of a run of tokens that parses without any diagnostic, or
/// `None`. For re-parsing one edited region (`super::incremental`).
pub(super) fn parse_clean_run(text: &str, tokens: &[(Token, Span)]) -> Option<Vec<Item>> {
    let (items, state) = parse_valid_chunk(text, tokens)?;
    state.integers_too_large.is_empty().then_some(items)
}

/// Must an item start at `tokens[i]` in a valid file? At `task`, `type` or
/// `defaults` (keywords, so never inside another item), or at a `(` right
/// after a `)` (a wiring statement's output list is the only `(...)` that a
/// `)` can precede, and nothing follows it within the statement). Cutting a
/// valid file's tokens only there, the runs parse to the same items as the
/// whole.
pub(super) fn is_item_cut(tokens: &[(Token, Span)], i: usize) -> bool {
    matches!(tokens[i].0.kind, TokenKind::KwTask | TokenKind::KwType | TokenKind::KwDefaults)
        || (i > 0 && tokens[i].0.kind == TokenKind::LParen && tokens[i - 1].0.kind == TokenKind::RParen)
}

/// Splits `tokens` into about `count` runs of similar length, each cut just
/// before a token that must start an item in a valid file.
fn split_at_items(tokens: &[(Token, Span)], count: usize) -> Vec<&[(Token, Span)]> {
    let mut chunks = Vec::with_capacity(count);
    let mut start = 0;
    for part in 1..count {
        let target = tokens.len() * part / count;
        let cut = (target.max(start + 1)..tokens.len()).find(|&i| is_item_cut(tokens, i));
        let Some(cut) = cut else { break };
        chunks.push(&tokens[start..cut]);
        start = cut;
    }
    chunks.push(&tokens[start..]);
    chunks
}

fn report_state(state: ParseState, diagnostics: &mut Diagnostics) {
    for span in state.integers_too_large {
        diagnostics.push(
            Diagnostic::new(Code::IntegerTooLarge, span, "this integer is too large")
                .help(format!("integers go up to {}", u64::MAX)),
        );
    }
    if let Some(span) = state.gave_up_at {
        diagnostics.push_always(
            Diagnostic::new(
                Code::TooManyDiagnostics,
                span,
                format!("parsing stopped here after {MAX_RECOVERIES} syntax errors"),
            )
            .help("fix the errors above and check again; the rest of the file was not read"),
        );
    }
}

/// A token of one kind, named in "expected" lists by its description.
fn token<'a, E: ParseError<'a>>(kind: TokenKind) -> impl Parser<'a, TokenInput<'a>, Span, Extra<'a, E>> + Clone {
    select! { Token { kind: found, .. } = e if found == kind => e.span() }.labelled(kind.description())
}

/// Is this token the start of an item, where skipping must stop? Only
/// tokens first on their line count: a keyword or `(` in the middle of a
/// broken line is more likely part of the mistake than a new statement.
fn starts_item(token: Token) -> bool {
    token.line_start
        && matches!(
            token.kind,
            TokenKind::KwTask | TokenKind::KwType | TokenKind::KwDefaults | TokenKind::LParen | TokenKind::LBracket
        )
}

fn opens_group(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace)
}

fn closes_group(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace)
}

/// Recovery for a group opened by `open`: skips to the matching closer,
/// counting all bracket kinds. A group still open at the next item or the end
/// of input ends there, so an unclosed `(` costs its own list and not the
/// statements after it (the parser's error already says what was missing).
fn skip_balanced_group<'a, E: ParseError<'a>>(
    open: TokenKind,
) -> impl Parser<'a, TokenInput<'a>, Span, Extra<'a, E>> + Clone {
    custom(move |input| {
        let before = input.cursor();
        let first: Option<Token> = input.next();
        match first {
            Some(token) if token.kind == open => {}
            _ => return Err(E::no_recovery(input.span_since(&before))),
        }
        let mut depth = 1usize;
        loop {
            match input.peek() {
                None => return Ok(input.span_since(&before)),
                Some(token) if starts_item(token) => return Ok(input.span_since(&before)),
                Some(token) => {
                    input.next();
                    if opens_group(token.kind) {
                        depth += 1;
                    } else if closes_group(token.kind) {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(input.span_since(&before));
                        }
                    }
                }
            }
        }
    })
}

/// Recovery for a whole statement: skips at least one token, then up to the
/// next token that starts an item.
fn skip_item<'a, E: ParseError<'a>>() -> impl Parser<'a, TokenInput<'a>, Item, Extra<'a, E>> + Clone {
    custom(|input| {
        let before = input.cursor();
        if input.next().is_none() {
            return Err(E::no_recovery(input.span_since(&before)));
        }
        let state: &mut SimpleState<ParseState> = input.state();
        state.recoveries += 1;
        let give_up = state.recoveries >= MAX_RECOVERIES;
        while let Some(token) = input.peek() {
            if !give_up && starts_item(token) {
                break;
            }
            input.next();
        }
        let span = input.span_since(&before);
        if give_up {
            let state: &mut SimpleState<ParseState> = input.state();
            state.gave_up_at.get_or_insert(span);
        }
        Ok(Item::Error(span))
    })
}

fn source_file<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Vec<Item>, Extra<'a, E>> {
    item(text).recover_with(via_parser(skip_item())).repeated().collect().map(shrunk).then_ignore(end())
}

fn item<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Item, Extra<'a, E>> + Clone {
    // Most frequent first: each failed alternative costs a little.
    choice((
        wiring(text).map(Item::Wiring),
        task_block(text).map(Item::Task),
        type_decl(text).map(Item::Type),
        defaults_block(text).map(Item::Defaults),
        header(text).map(Item::Header),
    ))
    .labelled("a statement")
}

fn name<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Name, Extra<'a, E>> + Clone {
    token(TokenKind::Ident).map(move |span: Span| Name { text: text[span.range()].into(), span }).labelled("a name")
}

fn string<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, StringLit, Extra<'a, E>> + Clone {
    select! { Token { kind: TokenKind::Str | TokenKind::UnterminatedStr, .. } = e => e.span() }
        .map(move |span: Span| StringLit { value: unescape(&text[span.range()]), span })
        .labelled("a string")
}

fn integer<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, (u64, Span), Extra<'a, E>> + Clone {
    token(TokenKind::Int).map_with(move |span: Span, e| match text[span.range()].parse::<u64>() {
        Ok(value) => (value, span),
        Err(_) => {
            let state: &mut SimpleState<ParseState> = e.state();
            state.integers_too_large.push(span);
            (u64::MAX, span)
        }
    })
}

/// Items separated by commas or by whitespace alone; a trailing comma is fine.
fn separated<'a, O, E: ParseError<'a>>(
    item: impl Parser<'a, TokenInput<'a>, O, Extra<'a, E>> + Clone,
) -> impl Parser<'a, TokenInput<'a>, Vec<O>, Extra<'a, E>> + Clone {
    item.then_ignore(token(TokenKind::Comma).or_not()).repeated().collect().map(shrunk)
}

/// A collected vector starts with room for four; most lists here hold one
/// or two, and a large pipeline has hundreds of thousands of them.
fn shrunk<T>(mut items: Vec<T>) -> Vec<T> {
    items.shrink_to_fit();
    items
}

fn header<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Header, Extra<'a, E>> + Clone {
    let separator = token(TokenKind::Slash).or(token(TokenKind::Colon));
    token(TokenKind::LBracket)
        .ignore_then(name(text))
        .then(separator.ignore_then(name(text)).or_not())
        .then_ignore(token(TokenKind::RBracket))
        .map_with(|(first, second), e| match second {
            Some(name) => Header { namespace: Some(first), name, span: e.span() },
            None => Header { namespace: None, name: first, span: e.span() },
        })
}

fn buffer<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Buffer, Extra<'a, E>> + Clone {
    let range_end = token(TokenKind::Minus).ignore_then(integer(text)).map(|(n, _)| (TokenKind::Minus, n));
    let slide = token(TokenKind::Slash).ignore_then(integer(text)).map(|(n, _)| (TokenKind::Slash, n));
    integer(text)
        .then(range_end.or(slide).or_not())
        .delimited_by(token(TokenKind::LBracket), token(TokenKind::RBracket))
        .map_with(|((first, _), rest), e| {
            let form = match rest {
                None => BufferForm::Count(first),
                Some((TokenKind::Minus, max)) => BufferForm::Range(first, max),
                Some((_, slide)) => BufferForm::Window(first, slide),
            };
            Buffer { form, span: e.span() }
        })
}

fn type_annotation<'a, E: ParseError<'a>>(
    text: &'a str,
) -> impl Parser<'a, TokenInput<'a>, Option<Name>, Extra<'a, E>> + Clone {
    token(TokenKind::Colon).ignore_then(name(text)).or_not()
}

fn input<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Input, Extra<'a, E>> + Clone {
    let member = name(text).then(buffer(text).or_not()).map(|(wire, buffer)| MergeMember { wire, buffer });
    member
        .clone()
        .then(token(TokenKind::Plus).ignore_then(member).repeated().collect::<Vec<_>>().map(shrunk))
        .then(token(TokenKind::KwImplicit).or_not())
        .then(type_annotation(text))
        .map_with(|(((first, rest), implicit), ty), e| {
            let mut members = Vec::with_capacity(1 + rest.len());
            members.push(first);
            members.extend(rest);
            Input { members, implicit, ty, span: e.span() }
        })
}

fn output<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Output, Extra<'a, E>> + Clone {
    name(text)
        .then(token(TokenKind::KwImplicit).or_not())
        .then(type_annotation(text))
        .map_with(|((wire, implicit), ty), e| Output { wire, implicit, ty, span: e.span() })
}

fn port_list<'a, O: Clone + 'a, E: ParseError<'a>>(
    port: impl Parser<'a, TokenInput<'a>, O, Extra<'a, E>> + Clone + 'a,
) -> impl Parser<'a, TokenInput<'a>, PortList<O>, Extra<'a, E>> + Clone {
    separated(port)
        .delimited_by(token(TokenKind::LParen), token(TokenKind::RParen))
        .map_with(|items, e| PortList { items, broken: false, span: e.span() })
        .recover_with(via_parser(skip_balanced_group(TokenKind::LParen).map(|span| PortList {
            items: Vec::new(),
            broken: true,
            span,
        })))
}

fn wiring<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Wiring, Extra<'a, E>> + Clone {
    port_list(input(text))
        .then(name(text).labelled("a task name"))
        .then(port_list(output(text)))
        .map_with(|((inputs, task), outputs), e| Wiring { inputs, task, outputs, span: e.span() })
}

fn type_decl<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, TypeDecl, Extra<'a, E>> + Clone {
    token(TokenKind::KwType)
        .ignore_then(name(text))
        .then_ignore(token(TokenKind::Equals))
        .then(name(text).labelled("`file` or `dir`"))
        .then(string(text).or_not())
        .then(token(TokenKind::KwExport).or_not())
        .map_with(|(((name, base), mime), export), e| TypeDecl { name, base, mime, export, span: e.span() })
}

fn scalar<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Value, Extra<'a, E>> + Clone {
    choice((
        string(text).map(Value::Str),
        integer(text).map(|(value, span)| Value::Int { value, span }),
        name(text).map(Value::Name),
    ))
}

fn value<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Value, Extra<'a, E>> + Clone {
    let list = separated(scalar(text))
        .delimited_by(token(TokenKind::LBracket), token(TokenKind::RBracket))
        .map_with(|items, e| Value::List { items, span: e.span() });
    let map_entry = name(text)
        .then_ignore(token(TokenKind::Colon))
        .then(scalar(text))
        .map_with(|(key, value), e| Entry { key, value, span: e.span() });
    let map = separated(map_entry)
        .delimited_by(token(TokenKind::LBrace), token(TokenKind::RBrace))
        .map_with(|entries, e| Value::Map { entries, span: e.span() });
    choice((scalar(text), list, map)).labelled("a value")
}

fn block<'a, E: ParseError<'a>>(text: &'a str) -> impl Parser<'a, TokenInput<'a>, Block, Extra<'a, E>> + Clone {
    let entry = name(text)
        .labelled("a key")
        .then_ignore(token(TokenKind::Colon))
        .then(value(text))
        .map_with(|(key, value), e| Entry { key, value, span: e.span() });
    separated(entry)
        .delimited_by(token(TokenKind::LBrace), token(TokenKind::RBrace))
        .map_with(|entries, e| Block { entries, broken: false, span: e.span() })
        .recover_with(via_parser(skip_balanced_group(TokenKind::LBrace).map(|span| Block {
            entries: Vec::new(),
            broken: true,
            span,
        })))
}

fn task_block<'a, E: ParseError<'a>>(
    text: &'a str,
) -> impl Parser<'a, TokenInput<'a>, TaskBlock, Extra<'a, E>> + Clone {
    token(TokenKind::KwTask)
        .ignore_then(name(text).labelled("a task name"))
        .then(block(text))
        .map_with(|(name, body), e| TaskBlock { name, body, span: e.span() })
}

fn defaults_block<'a, E: ParseError<'a>>(
    text: &'a str,
) -> impl Parser<'a, TokenInput<'a>, DefaultsBlock, Extra<'a, E>> + Clone {
    token(TokenKind::KwDefaults).then(block(text)).map_with(|(keyword, body), e| DefaultsBlock {
        keyword,
        body,
        span: e.span(),
    })
}

/// Turns a chumsky error into a K0005 with prose a person can act on.
fn syntax_diagnostic(text: &str, error: &Rich<'_, Token, Span>) -> Diagnostic {
    let span = *error.span();
    let found = match error.found() {
        None => "the end of the file".to_owned(),
        Some(token) if token.kind.is_keyword() => format!("the keyword `{}`", &text[span.range()]),
        Some(token) => match token.kind {
            TokenKind::Ident | TokenKind::Int => format!("`{}`", shorten(&text[span.range()])),
            _ => token.kind.description().to_owned(),
        },
    };
    let mut expected: Vec<String> = error
        .expected()
        .filter_map(|pattern| match pattern {
            chumsky::error::RichPattern::Label(label) => Some(label.to_string()),
            chumsky::error::RichPattern::Token(token) => Some(token.kind.description().to_owned()),
            chumsky::error::RichPattern::EndOfInput => Some("the end of the file".to_owned()),
            _ => None,
        })
        .collect();
    expected.sort();
    expected.dedup();
    let message = match expected.as_slice() {
        [] => format!("unexpected {found}"),
        [only] => format!("expected {only}, found {found}"),
        [init @ .., last] => format!("expected {} or {last}, found {found}", init.join(", ")),
    };
    let mut diagnostic = Diagnostic::new(Code::SyntaxError, span, message);
    if let Some(token) = error.found() {
        let closer_expected = expected.iter().any(|e| matches!(e.as_str(), "`)`" | "`]`" | "`}`"));
        if token.line_start && closer_expected {
            diagnostic = diagnostic
                .help("a bracket opened on an earlier line is not closed: close it before the next statement");
        } else if token.kind.is_keyword() && expected.iter().any(|e| e.contains("name")) {
            diagnostic = diagnostic.help(format!(
                "`{}` is a keyword; keywords (`task`, `type`, `defaults`, `implicit`, `export`) cannot be names",
                &text[span.range()]
            ));
        } else if token.kind == TokenKind::Colon && closer_expected {
            diagnostic = diagnostic
                .help("a type annotation goes last in an input, after any buffer and `implicit`: `x[10/2]: csv`");
        }
    }
    diagnostic
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= 40 {
        text.to_owned()
    } else {
        text.chars().take(37).chain("...".chars()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::lexer::lex;

    /// A valid file with every kind of cut point, large enough to be split.
    fn large_valid_file() -> String {
        let mut text = String::from("[ns/big]\ntype t = file \"x/y\"\ndefaults { image: \"a\" }\n");
        for i in 0..20_000 {
            text.push_str(&format!("(w{i}[2/1] + in{i}: t) task{i} (w{})\n", i + 1));
            if i % 3 == 0 {
                text.push_str(&format!("task task{i} {{ command: [\"x\", w{i}] env: {{ A: \"{i}\" }} }}\n"));
            }
        }
        text
    }

    #[test]
    fn chunked_and_whole_parses_of_a_valid_file_agree() {
        let text = large_valid_file();
        let mut diagnostics = Diagnostics::default();
        let tokens = lex(&text, &mut diagnostics).tokens;
        assert!(tokens.len() > 2 * TOKENS_PER_THREAD, "the file must be large enough to split");
        let chunks = split_at_items(&tokens, 4);
        assert_eq!(chunks.len(), 4);
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), tokens.len());
        let mut state = SimpleState(ParseState::default());
        let (whole, errors) = source_file::<Rich<'_, Token, Span>>(&text)
            .parse_with_state(tokens.split_token_span(end_of_input(&tokens)), &mut state)
            .into_output_errors();
        assert!(errors.is_empty());
        let (chunked, _) = parse_valid_in_parallel(&text, &tokens).expect("valid");
        assert_eq!(whole.unwrap(), chunked);
    }

    #[test]
    fn an_error_in_any_chunk_is_reported_by_the_full_pass() {
        let mut text = large_valid_file();
        text.push_str("(oops[1/]) late (x)\n");
        let mut diagnostics = Diagnostics::default();
        let tokens = lex(&text, &mut diagnostics).tokens;
        assert!(parse_valid_in_parallel(&text, &tokens).is_none());
        let file = parse(&text, &tokens, &mut diagnostics);
        let diagnostics = diagnostics.finish(Span::default());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].code, Code::SyntaxError);
        assert!(file.items.len() > 20_000);
    }
}
