//! LSP positions (line, UTF-16 code unit) to byte offsets and back. The one
//! place that converts: the compiler speaks byte offsets, the protocol
//! speaks UTF-16, and every handler goes through here.
//!
//! Lines end at `\n`; a `\r` before it belongs to the line break. A position
//! past the end of its line means the line's end, a line past the last means
//! the end of the text, and a position inside a surrogate pair means the
//! start of that character: clients send such positions, and an edit must
//! never split a character.

use koalja_compiler::span::Span;
use tower_lsp_server::ls_types::{Position, Range};

/// Where each line starts in one version of a document.
#[derive(Clone, Debug)]
pub struct LineStarts {
    starts: Vec<usize>,
}

impl LineStarts {
    pub fn new(text: &str) -> LineStarts {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
        LineStarts { starts }
    }

    /// The byte offset of `position` in `text` (the text this index was made from).
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else { return text.len() };
        let line = self.line_text(text, position.line as usize);
        let mut units = 0u32;
        for (at, c) in line.char_indices() {
            let width = c.len_utf16() as u32;
            if units + width > position.character {
                return start + at;
            }
            units += width;
        }
        start + line.len()
    }

    /// The position of byte `offset` (clamped to the text, and down to a
    /// character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset) - 1;
        let start = self.starts[line];
        let character = text[start..offset].chars().map(char::len_utf16).sum::<usize>();
        Position { line: line as u32, character: character as u32 }
    }

    pub fn range(&self, text: &str, span: Span) -> Range {
        Range { start: self.position(text, span.start as usize), end: self.position(text, span.end as usize) }
    }

    /// The byte offsets of `range`, start never after end.
    pub fn offsets(&self, text: &str, range: Range) -> std::ops::Range<usize> {
        let start = self.offset(text, range.start);
        let end = self.offset(text, range.end);
        start.min(end)..end.max(start)
    }

    /// Line `line` without its line break.
    fn line_text<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let start = self.starts[line];
        let end = self.starts.get(line + 1).map_or(text.len(), |&next| next - 1);
        let content = &text[start..end];
        content.strip_suffix('\r').unwrap_or(content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn ascii_offsets_and_positions_agree() {
        let text = "(in) a (out)\n(out) b (x)\n";
        let lines = LineStarts::new(text);
        assert_eq!(lines.offset(text, at(1, 6)), 19);
        assert_eq!(lines.position(text, 19), at(1, 6));
        assert_eq!(lines.position(text, text.len()), at(2, 0));
    }

    #[test]
    fn non_ascii_text_counts_utf16_units() {
        // `é` is 2 bytes and 1 unit; `😀` is 4 bytes and 2 units (a surrogate pair).
        let text = "# é😀\n(in) task_é (out)\n";
        let lines = LineStarts::new(text);
        let emoji = text.find('😀').unwrap();
        assert_eq!(lines.position(text, emoji), at(0, 3));
        assert_eq!(lines.position(text, emoji + 4), at(0, 5));
        assert_eq!(lines.offset(text, at(0, 5)), emoji + 4);
        // Inside the surrogate pair: the start of the character.
        assert_eq!(lines.offset(text, at(0, 4)), emoji);
        let task = text.find("task_é").unwrap();
        assert_eq!(lines.position(text, task + "task_é".len()), at(1, 11));
        assert_eq!(lines.offset(text, at(1, 11)), task + "task_é".len());
        // A byte offset inside `é` rounds down to its start.
        assert_eq!(lines.position(text, text.find('é').unwrap() + 1), at(0, 2));
    }

    #[test]
    fn positions_past_ends_are_clamped() {
        let text = "ab\r\ncd";
        let lines = LineStarts::new(text);
        assert_eq!(lines.offset(text, at(0, 99)), 2, "the line's end, before \\r\\n");
        assert_eq!(lines.offset(text, at(7, 0)), text.len());
        assert_eq!(lines.position(text, 99), at(1, 2));
        assert_eq!(lines.offsets(text, Range { start: at(1, 1), end: at(0, 1) }), 1..5);
    }

    #[test]
    fn every_char_boundary_round_trips() {
        let text = "a\u{e9}\u{1F600}\r\n\u{4e2d}\n\nz";
        let lines = LineStarts::new(text);
        for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            if text[..offset].ends_with('\r') {
                continue; // between \r and \n: the line's end, which is before the \r
            }
            assert_eq!(lines.offset(text, lines.position(text, offset)), offset, "offset {offset}");
        }
    }
}
