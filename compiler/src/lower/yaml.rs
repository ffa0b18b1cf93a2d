//! A small YAML serializer for the objects `build` produces. It exists for
//! speed: it writes straight from the typed k8s-openapi objects, with no
//! intermediate tree, where a libyaml-based emitter spent most of a large
//! build deciding how to quote each scalar. Output is the block style
//! `kubectl` prints: mappings indented by two, sequences at their key's
//! indent, multi-line strings as literal blocks. A string is written plain
//! only when no YAML reader (including YAML 1.1 ones, which Kubernetes
//! tooling still uses) could take it for anything but that string;
//! otherwise single-quoted, or, when it holds a character that YAML 1.1
//! reads as a line break or refuses (`needs_escape`), double-quoted with
//! `\uXXXX` escapes. Tests parse the output back with serde_norway and
//! compare it with serde_json's view of the same value.

use std::fmt::Write as _;

use serde::ser::{self, Serialize};

/// Appends one YAML document (without the `---` separator), ending in a
/// newline, to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Error> {
    value.serialize(ValueWriter { out, at: At::Document, indent: 0 })
}

/// What a value cannot be written as: the enum forms that Kubernetes
/// objects never use (a bug in the caller, reported rather than guessed).
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(message: T) -> Error {
        Error(message.to_string())
    }
}

/// Where the writer stands when a value begins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a document.
    Document,
    /// Just after `key:`.
    Key,
    /// Just after a sequence item's `-`.
    Dash,
}

/// Writes one value. `indent` is the column of the entries of a mapping
/// that this value would be.
struct ValueWriter<'a> {
    out: &'a mut String,
    at: At,
    indent: usize,
}

fn indent(out: &mut String, width: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = width;
    while left > 0 {
        let run = left.min(SPACES.len());
        out.push_str(&SPACES[..run]);
        left -= run;
    }
}

impl<'a> ValueWriter<'a> {
    /// A scalar on the current line, then the line's end.
    fn scalar(self, write: impl FnOnce(&mut String)) -> Result<(), Error> {
        if self.at != At::Document {
            self.out.push(' ');
        }
        write(self.out);
        self.out.push('\n');
        Ok(())
    }

    fn mapping(self) -> MappingWriter<'a> {
        MappingWriter { out: self.out, at: self.at, indent: self.indent, entries: 0 }
    }

    fn sequence(self) -> SequenceWriter<'a> {
        // kubectl style: a sequence under a key starts at the key's column.
        let items = match self.at {
            At::Document => 0,
            At::Key => self.indent - 2,
            At::Dash => self.indent,
        };
        SequenceWriter { out: self.out, at: self.at, items, entries: 0 }
    }
}

fn unsupported(what: &str) -> Error {
    Error(format!("YAML output does not support {what}"))
}

/// `{}` or `[]` for an empty collection, on the current line.
fn empty(out: &mut String, at: At, text: &str) {
    if at != At::Document {
        out.push(' ');
    }
    out.push_str(text);
    out.push('\n');
}

struct MappingWriter<'a> {
    out: &'a mut String,
    at: At,
    indent: usize,
    entries: usize,
}

impl MappingWriter<'_> {
    /// Moves to where the next key goes: the first entry shares a dash's
    /// line; the others start their own lines.
    fn begin_entry(&mut self) {
        if self.entries == 0 {
            match self.at {
                At::Dash => self.out.push(' '),
                At::Key => {
                    self.out.push('\n');
                    indent(self.out, self.indent);
                }
                At::Document => indent(self.out, self.indent),
            }
        } else {
            indent(self.out, self.indent);
        }
        self.entries += 1;
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(ValueWriter { out: self.out, at: At::Key, indent: self.indent + 2 })
    }

    fn finish(self) -> Result<(), Error> {
        if self.entries == 0 {
            empty(self.out, self.at, "{}");
        }
        Ok(())
    }
}

struct SequenceWriter<'a> {
    out: &'a mut String,
    at: At,
    items: usize,
    entries: usize,
}

impl SequenceWriter<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if self.entries == 0 && self.at != At::Document {
            self.out.push('\n');
        }
        self.entries += 1;
        indent(self.out, self.items);
        self.out.push('-');
        value.serialize(ValueWriter { out: self.out, at: At::Dash, indent: self.items + 2 })
    }

    fn finish(self) -> Result<(), Error> {
        if self.entries == 0 {
            empty(self.out, self.at, "[]");
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for ValueWriter<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = SequenceWriter<'a>;
    type SerializeTuple = SequenceWriter<'a>;
    type SerializeTupleStruct = SequenceWriter<'a>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = MappingWriter<'a>;
    type SerializeStruct = MappingWriter<'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(|out| out.push_str(if v { "true" } else { "false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(|out| {
            let _ = write!(out, "{v}");
        })
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(|out| {
            let _ = write!(out, "{v}");
        })
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.scalar(|out| {
            if v.is_nan() {
                out.push_str(".nan");
            } else if v.is_infinite() {
                out.push_str(if v > 0.0 { ".inf" } else { "-.inf" });
            } else {
                let start = out.len();
                let _ = write!(out, "{v}");
                // `1` would read back as an integer.
                if !out[start..].contains(['.', 'e', 'E']) {
                    out.push_str(".0");
                }
            }
        })
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        let width = self.indent;
        self.scalar(|out| write_string(out, v, width, false))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // As serde_json does: a sequence of numbers.
        let mut sequence = self.sequence();
        for byte in v {
            ser::SerializeSeq::serialize_element(&mut sequence, byte)?;
        }
        sequence.finish()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar(|out| out.push_str("null"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // serde_json's external tagging: `{variant: value}`.
        let mut mapping = self.mapping();
        ser::SerializeMap::serialize_entry(&mut mapping, variant, value)?;
        mapping.finish()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SequenceWriter<'a>, Error> {
        Ok(self.sequence())
    }
    fn serialize_tuple(self, _len: usize) -> Result<SequenceWriter<'a>, Error> {
        Ok(self.sequence())
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<SequenceWriter<'a>, Error> {
        Ok(self.sequence())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("tuple variants"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MappingWriter<'a>, Error> {
        Ok(self.mapping())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MappingWriter<'a>, Error> {
        Ok(self.mapping())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("struct variants"))
    }
}
impl ser::SerializeSeq for SequenceWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for SequenceWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SequenceWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeMap for MappingWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.begin_entry();
        key.serialize(KeyWriter { out: self.out })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for MappingWriter<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.begin_entry();
        write_string(self.out, key, 0, true);
        self.out.push(':');
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// Writes a mapping key and its colon. Keys are strings, as in JSON:
/// numbers and booleans become their text (quoted, so they stay strings).
struct KeyWriter<'a> {
    out: &'a mut String,
}

impl KeyWriter<'_> {
    fn key(self, text: &str) -> Result<(), Error> {
        write_string(self.out, text, 0, true);
        self.out.push(':');
        Ok(())
    }
}

macro_rules! key_as_text {
    ($($method:ident: $type:ty),*) => {
        $(fn $method(self, v: $type) -> Result<(), Error> {
            self.key(&v.to_string())
        })*
    };
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    key_as_text!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_f32: f32, serialize_f64: f64, serialize_char: char);

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.key(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(unsupported("byte-string keys"))
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(unsupported("null keys"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(unsupported("null keys"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(unsupported("null keys"))
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.key(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(unsupported("compound keys"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("compound keys"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported("compound keys"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported("compound keys"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("compound keys"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(unsupported("compound keys"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(unsupported("compound keys"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("compound keys"))
    }
}

fn write_string(out: &mut String, text: &str, width: usize, is_key: bool) {
    if is_plain(text) {
        out.push_str(text);
    } else if !is_key && is_literal_block(text) {
        let chomping = if text.ends_with("\n\n") {
            "+"
        } else if text.ends_with('\n') {
            ""
        } else {
            "-"
        };
        out.push('|');
        out.push_str(chomping);
        let body = text.strip_suffix('\n').unwrap_or(text);
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, width);
                out.push_str(line);
            }
        }
    } else if !text.chars().any(needs_escape) {
        // Single quotes escape nothing but themselves: the most readable.
        out.push('\'');
        out.push_str(&text.replace('\'', "''"));
        out.push('\'');
    } else {
        // `lower::json`'s string is a valid YAML double-quoted scalar, with
        // every `needs_escape` character as a `\uXXXX` escape.
        out.push_str(&super::json::to_string(text));
    }
}

/// A character that no unquoted, single-quoted or literal-block scalar can
/// carry unchanged: YAML 1.1 readers (libyaml, go-yaml under kubectl) take
/// U+0085, U+2028 and U+2029 for line breaks, and refuse C0 and C1 control
/// characters, U+FEFF (a byte order mark) and the non-characters U+FFFE and
/// U+FFFF in the stream. Only a double-quoted scalar's escapes carry them.
pub(super) fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// Safe to write without quotes: a name-like word that no YAML 1.1 or 1.2
/// reader resolves to a boolean, null or number.
fn is_plain(text: &str) -> bool {
    // One pass over the bytes: this runs for every key and string written.
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else { return false };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-' | b':' | b'@' | b'+');
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'_') || !bytes.iter().all(|&b| allowed(b)) {
        return false;
    }
    const RESERVED: [&str; 12] = ["y", "yes", "n", "no", "on", "off", "true", "false", "null", "nan", "inf", "none"];
    let has_colon = bytes.contains(&b':');
    !(has_colon && (text.ends_with(':') || text.contains("://")))
        && (bytes.len() > 5 || !RESERVED.iter().any(|word| word.eq_ignore_ascii_case(text)))
}

/// Multi-line text that a literal block keeps exactly.
fn is_literal_block(text: &str) -> bool {
    text.contains('\n')
        && !text.starts_with([' ', '\t', '\n'])
        && !text.chars().any(|c| needs_escape(c) && c != '\n' && c != '\t')
        && !text.split('\n').any(|line| line.ends_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::Value;

    fn round_trip(value: &Value) {
        let mut text = String::new();
        write(&mut text, value).unwrap();
        let parsed: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(&parsed, value, "\n{text}");
    }

    #[test]
    fn tricky_strings_round_trip() {
        for text in [
            "",
            "yes",
            "No",
            "on",
            "1",
            "0755",
            "1e3",
            "0x1F",
            "1.0",
            ".inf",
            "~",
            "null",
            "- x",
            "a: b",
            "a:b",
            "#x",
            "x #y",
            "'q'",
            "\"q\"",
            "http://x",
            "line\nline\n",
            "two\n\n",
            "no-newline\nend",
            " lead\nx",
            "trail \nx",
            "tab\tin",
            "über",
            "{a}",
            "[b]",
            "*ref",
            "&anchor",
            "!tag",
            "%dir",
            "@at",
            "`tick",
            "a,b",
            "?",
            "-",
            ":",
            "\u{85}",
            "next\u{85}line",
            "para\u{2028}graph\u{2029}",
            "multi\nline\u{2028}\n",
            "bom\u{feff}",
            "\u{fffe}\u{ffff}",
            "cr\r\n",
            "del\u{7f}",
            "c1\u{9b}",
            "\\\"",
        ] {
            round_trip(&serde_json::json!({ "k": text, text: [text, { "n": text }] }));
        }
    }

    #[test]
    fn structures_round_trip() {
        round_trip(&serde_json::json!({
            "apiVersion": "v1",
            "items": [{ "a": 1, "b": [1, 2, []], "c": {} }, [1, [2, 3]], null, true, 2.5],
            "empty": "",
            "nested": { "deeper": { "list": [{ "x": "y" }] } }
        }));
    }
}
