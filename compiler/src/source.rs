//! Source texts: turning bytes into checkable text, and byte offsets into
//! line and column numbers for people and tools.
//!
//! Invalid UTF-8 is not an I/O error: each invalid byte is replaced by a space
//! (so every later byte offset stays true to the file on disk) and reported as
//! a K0001 diagnostic by `analysis`.

use crate::span::Span;

/// The largest file we accept: spans are `u32` byte offsets.
pub const MAX_SOURCE_BYTES: usize = u32::MAX as usize;

/// Text ready for lexing plus the byte ranges that were not valid UTF-8.
#[derive(Debug, Clone)]
pub struct DecodedSource {
    pub text: String,
    pub invalid_utf8: Vec<Span>,
}

/// Decodes bytes as UTF-8, replacing each invalid byte by one ASCII space.
/// Runs in linear time: `Utf8Chunks` walks the input once.
pub fn decode(bytes: &[u8]) -> DecodedSource {
    if let Ok(text) = std::str::from_utf8(bytes) {
        // A UTF-8 byte-order mark is allowed and read as whitespace (three
        // spaces, so offsets stay true); the formatter drops it.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => format!("   {rest}"),
            None => text.to_owned(),
        };
        return DecodedSource { text, invalid_utf8: Vec::new() };
    }
    let mut text = String::with_capacity(bytes.len());
    let mut invalid_utf8: Vec<Span> = Vec::new();
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        let bad = chunk.invalid();
        if !bad.is_empty() {
            let start = text.len();
            text.extend(std::iter::repeat_n(' ', bad.len()));
            let span = Span::from(start..text.len());
            // One run of bad bytes is one diagnostic, however it was chunked.
            match invalid_utf8.last_mut() {
                Some(last) if last.end == span.start => *last = last.cover(span),
                _ => invalid_utf8.push(span),
            }
        }
    }
    DecodedSource { text, invalid_utf8 }
}

/// A 1-based line and column. Columns count Unicode scalar values (the JSON
/// diagnostics contract); the language server converts to UTF-16 itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineColumn {
    pub line: u32,
    pub column: u32,
}

/// Byte offsets of line starts, for offset → line/column in O(log lines).
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(text.bytes().enumerate().filter(|&(_, byte)| byte == b'\n').map(|(i, _)| i as u32 + 1));
        LineIndex { line_starts }
    }

    /// 0-based line number holding `offset`.
    pub fn line_of(&self, offset: u32) -> usize {
        self.line_starts.partition_point(|&start| start <= offset) - 1
    }

    /// 1-based line and column (in chars) of `offset` in `text`. An offset
    /// inside a multi-byte character counts as that character's column.
    pub fn line_column(&self, text: &str, offset: u32) -> LineColumn {
        let offset = offset.min(text.len() as u32);
        let line = self.line_of(offset);
        let start = self.line_starts[line] as usize;
        let mut end = offset as usize;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let column = text[start..end].chars().count() as u32 + 1;
        LineColumn { line: line as u32 + 1, column }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_replaces_each_invalid_byte_and_keeps_offsets() {
        let decoded = decode(b"ab\xff\xfecd");
        assert_eq!(decoded.text, "ab  cd");
        assert_eq!(decoded.invalid_utf8, vec![Span::new(2, 4)]);
    }

    #[test]
    fn columns_count_chars_not_bytes() {
        let text = "é(in)\n  ünï x";
        let index = LineIndex::new(text);
        assert_eq!(index.line_column(text, 2), LineColumn { line: 1, column: 2 });
        let x = text.find('x').unwrap() as u32;
        assert_eq!(index.line_column(text, x), LineColumn { line: 2, column: 7 });
        assert_eq!(index.line_column(text, text.len() as u32), LineColumn { line: 2, column: 8 });
    }
}
