//! Re-parsing after an edit without reading the whole file again.
//!
//! The language server analyses a document on every keystroke, and lexing
//! and parsing are most of that time in a large file. An edit changes one
//! region, so only the items around it are lexed and parsed again; the items
//! before it are reused and the ones after it are moved by the change in
//! length (`super::shift`).
//!
//! The region is widened on both sides to item cuts (`parser::is_item_cut`),
//! where a valid file's items must start whatever comes before, and its end
//! to a cut that starts a line, since no token crosses a line break (strings
//! and comments end at the line's end). So the tokens and items of the region
//! are what a fresh parse would find there. Where that argument does not
//! hold, `reparse` answers `None` and the caller parses the whole text: when
//! the previous version or the region has any syntax diagnostic (error
//! recovery can reach across items), or the cuts are not where they were.

use super::ast::Item;
use super::shift::Shift;
use super::token::Token;
use super::{lexer, parser, Parsed};
use crate::diagnostic::Diagnostics;
use crate::span::Span;

/// Bytes `start..old_end` of the old text became `start..new_end` of the new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl Change {
    /// The smallest change that turns `old` into `new`: everything but their
    /// common prefix and suffix. Comparing costs microseconds even for a large
    /// file, and it spares callers from composing a series of edits.
    pub fn between(old: &str, new: &str) -> Change {
        let (old, new) = (old.as_bytes(), new.as_bytes());
        let start = common_prefix(old, new);
        let longest_suffix = old.len().min(new.len()) - start;
        let suffix = common_suffix(&old[old.len() - longest_suffix..], &new[new.len() - longest_suffix..]);
        Change { start, old_end: old.len() - suffix, new_end: new.len() - suffix }
    }

    /// How much later everything after the change is in the new text.
    pub fn delta(self) -> i64 {
        self.new_end as i64 - self.old_end as i64
    }
}

/// Compares in blocks (one `memcmp` each) before finding the byte.
const BLOCK: usize = 256;

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let blocks = a.chunks(BLOCK).zip(b.chunks(BLOCK)).take_while(|(x, y)| x == y).count();
    let start = blocks * BLOCK;
    let tail = a.get(start..).unwrap_or_default().iter().zip(b.get(start..).unwrap_or_default());
    (start + tail.take_while(|(x, y)| x == y).count()).min(a.len().min(b.len()))
}

/// `a` and `b` have the same length.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let blocks = a.rchunks(BLOCK).zip(b.rchunks(BLOCK)).take_while(|(x, y)| x == y).count();
    let matched = (blocks * BLOCK).min(a.len());
    let rest = a.len() - matched;
    matched + a[..rest].iter().rev().zip(b[..rest].iter().rev()).take_while(|(x, y)| x == y).count()
}

/// The parse of `new_text`, built from `previous` (the parse of `old_text`)
/// by re-parsing only the changed region; `None` where that cannot be shown
/// to equal `super::parse(new_text)` (see the module comment).
pub fn reparse(previous: &Parsed, old_text: &str, new_text: &str) -> Option<Parsed> {
    if !previous.clean {
        return None;
    }
    let change = Change::between(old_text, new_text);
    if change.start == old_text.len() && change.start == new_text.len() {
        return Some(previous.clone());
    }
    let delta = change.delta();
    let (items, tokens) = (&previous.file.items, &previous.tokens);
    let first_token = |item: &Item| tokens.partition_point(|(_, span)| span.start < item.span().start);
    let is_cut = |token: usize| token == 0 || parser::is_item_cut(tokens, token);

    // The region starts at the last cut item that starts before the change
    // (the change may extend its last token), or at the top of the file.
    let before = items.partition_point(|item| (item.span().start as usize) < change.start);
    let (first_item, first_index, start) = (0..before)
        .rev()
        .map(|i| (i, first_token(&items[i])))
        .find(|&(_, token)| is_cut(token))
        .map_or((0, 0, 0), |(i, token)| (i, token, tokens[token].1.start as usize));

    // It ends at the first cut item after the change that starts a line.
    let after = items.partition_point(|item| (item.span().start as usize) <= change.old_end);
    let end_item = (after..items.len()).find(|&i| {
        let token = first_token(&items[i]);
        is_cut(token) && follows_line_break(new_text, shifted(items[i].span().start, delta))
    });
    let (end_item, end_index, old_end) = match end_item {
        Some(i) => {
            let token = first_token(&items[i]);
            (i, token, tokens[token].1.start as usize)
        }
        None => (items.len(), tokens.len(), old_text.len()),
    };
    let new_end = shifted(old_end as u32, delta) as usize;

    let mut diagnostics = Diagnostics::default();
    let region = lexer::lex(new_text.get(start..new_end)?, &mut diagnostics);
    if !diagnostics.is_empty() {
        return None;
    }
    let at = i64::try_from(start).ok()?;
    let mut new_tokens: Vec<(Token, Span)> =
        Vec::with_capacity(first_index + region.tokens.len() + tokens.len() - end_index);
    new_tokens.extend_from_slice(&tokens[..first_index]);
    new_tokens.extend(region.tokens.into_iter().map(|(token, mut span)| {
        span.shift(at);
        (token, span)
    }));
    let region_end = new_tokens.len();
    if start > 0 && region_end > first_index {
        // The lexer took the region's first token for the file's first.
        new_tokens[first_index].0.line_start = tokens[first_index].0.line_start;
    }
    new_tokens.extend(tokens[end_index..].iter().map(|&(token, mut span)| {
        span.shift(delta);
        (token, span)
    }));
    if let Some((token, _)) = new_tokens.get_mut(region_end) {
        token.line_start = true; // `follows_line_break` made sure
    }
    // The cuts must still be cuts in the new tokens.
    let still_cut = |token: usize| token == 0 || token >= new_tokens.len() || parser::is_item_cut(&new_tokens, token);
    if !still_cut(first_index) || !still_cut(region_end) {
        return None;
    }
    let region_items = parser::parse_clean_run(new_text, &new_tokens[first_index..region_end])?;

    let mut new_items = Vec::with_capacity(first_item + region_items.len() + items.len() - end_item);
    new_items.extend_from_slice(&items[..first_item]);
    new_items.extend(region_items);
    new_items.extend(items[end_item..].iter().map(|item| {
        let mut item = item.clone();
        item.shift(delta);
        item
    }));

    let comments = &previous.comments;
    let kept_before = comments.partition_point(|span| (span.end as usize) <= start);
    let kept_after = comments.partition_point(|span| (span.start as usize) < old_end);
    let mut new_comments = Vec::with_capacity(kept_before + region.comments.len() + comments.len() - kept_after);
    new_comments.extend_from_slice(&comments[..kept_before]);
    new_comments.extend(region.comments.into_iter().map(|mut span| {
        span.shift(at);
        span
    }));
    new_comments.extend(comments[kept_after..].iter().map(|&(mut span)| {
        span.shift(delta);
        span
    }));

    Some(Parsed {
        file: super::ast::SourceFile { items: new_items },
        comments: new_comments,
        tokens: new_tokens,
        clean: true,
    })
}

fn shifted(offset: u32, delta: i64) -> u32 {
    (i64::from(offset) + delta) as u32
}

/// Is the whitespace just before `offset` in `text` one that holds a line
/// break, so that no token can run from before `offset` into it?
fn follows_line_break(text: &str, offset: u32) -> bool {
    let before = text.as_bytes().get(..offset as usize).unwrap_or_default();
    before.iter().rev().take_while(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c')).any(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn parsed(text: &str) -> Parsed {
        parse(text, &mut Diagnostics::default())
    }

    #[test]
    fn change_is_what_lies_between_the_common_prefix_and_suffix() {
        let change = |old: &str, new: &str| {
            let c = Change::between(old, new);
            (c.start, c.old_end, c.new_end)
        };
        assert_eq!(change("abc", "abc"), (3, 3, 3));
        assert_eq!(change("abc", "abxc"), (2, 2, 3));
        assert_eq!(change("aaaa", "aa"), (2, 4, 2));
        assert_eq!(change("", "x"), (0, 0, 1));
        let long = "(a) t (b)\n".repeat(100);
        let edited = format!("{} {}", &long[..500], &long[500..]);
        assert_eq!(change(&long, &edited), (500, 500, 501));
    }

    #[test]
    fn an_edit_inside_one_statement_reparses_only_around_it() {
        let old = "(a) t (b)\n(b) u (c)\n(c) v (d)\n# note\n(d) w (e)\n";
        let new = old.replace("(b) u (c)", "(b, x) u (c)");
        let reparsed = reparse(&parsed(old), old, &new).expect("a clean edit takes the incremental path");
        assert_eq!(reparsed, parsed(&new));
    }

    #[test]
    fn a_region_with_an_error_or_a_broken_previous_parse_falls_back() {
        let old = "(a) t (b)\n(b) u (c)\n";
        assert_eq!(reparse(&parsed(old), old, "(a) t (b)\n(b) u (c\n"), None);
        let broken = "(a) t (b\n(b) u (c)\n";
        assert_eq!(reparse(&parsed(broken), broken, "(a) t (b\n(b) u (cc)\n"), None);
    }

    #[test]
    fn a_comment_opened_before_a_statement_on_the_same_line_is_seen() {
        // The next cut is on the same line: the region must reach past it.
        let old = "(a) t (b) (b) u (c)\n(c) v (d)\n";
        let new = "(a) t (b) #(b) u (c)\n(c) v (d)\n";
        assert_eq!(reparse(&parsed(old), old, new), Some(parsed(new)));
    }
}
