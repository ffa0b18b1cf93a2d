//! Byte spans into one source text: the one position type of the compiler.
//!
//! Offsets are `u32` so that a token with its span fits in twelve bytes; that
//! keeps memory a small multiple of the input even for a file that is all
//! punctuation. `source::SourceText` refuses files of 4 GiB or more.

use serde::Serialize;

/// A half-open byte range `start..end` into a source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub const fn new(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    /// The empty span at `offset`, for "missing X here" diagnostics.
    pub const fn empty_at(offset: u32) -> Span {
        Span { start: offset, end: offset }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn len(self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn contains(self, offset: u32) -> bool {
        self.start <= offset && offset < self.end
    }
}

impl From<std::ops::Range<usize>> for Span {
    fn from(range: std::ops::Range<usize>) -> Span {
        // Callers only build spans inside a SourceText, which is < 4 GiB.
        Span { start: range.start as u32, end: range.end as u32 }
    }
}
