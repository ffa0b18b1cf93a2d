//! JSON that YAML readers read back unchanged. The API server decodes a
//! server-side apply body (`application/apply-patch+yaml`) with go-yaml,
//! and `kubectl apply -f x.json` may do the same: JSON is YAML, but
//! serde_json leaves U+0085, U+2028, U+2029, DEL, the C1 controls and the
//! non-characters raw inside strings, which YAML 1.1 reads as line breaks or
//! refuses ("control characters are not allowed"). Here every character of
//! `yaml::needs_escape` becomes a `\uXXXX` escape, which JSON and YAML
//! readers alike decode to the same character.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use super::yaml::needs_escape;

/// `value` as compact JSON (a server-side apply body).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, YamlSafe(CompactFormatter));
    // Serializing our own typed objects into memory cannot fail, and
    // the formatter writes only valid UTF-8.
    let _ = value.serialize(&mut serializer);
    String::from_utf8(out).unwrap_or_default()
}

/// `value` as indented JSON (`koaljac build --format json`).
pub fn to_writer_pretty<W: io::Write, T: Serialize + ?Sized>(writer: W, value: &T) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(writer, YamlSafe(PrettyFormatter::new()));
    value.serialize(&mut serializer)
}

/// A formatter that escapes what `needs_escape` names and otherwise writes
/// as the formatter it wraps (every method `PrettyFormatter` overrides is
/// passed on).
struct YamlSafe<F>(F);

impl<F: Formatter> Formatter for YamlSafe<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (index, c) in fragment.char_indices() {
            if needs_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..index])?;
                write!(writer, "\\u{:04X}", u32::from(c))?;
                start = index + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn yaml_line_breaks_and_controls_are_escaped_and_read_back() {
        let value = serde_json::json!({ "k": "a\u{85}b\u{2028}c\u{2029}d\u{7f}e\u{9b}f\u{feff}\u{ffff}g\u{1}\n\"\\ü" });
        for text in [super::to_string(&value), {
            let mut out = Vec::new();
            super::to_writer_pretty(&mut out, &value).unwrap();
            String::from_utf8(out).unwrap()
        }] {
            // Pretty output's own line breaks aside, nothing needs escaping.
            assert!(!text.chars().any(|c| super::needs_escape(c) && c != '\n'), "{text:?}");
            assert!(text.contains("\\u0085") && text.contains("\\u2028") && text.contains('ü'), "{text}");
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
            assert_eq!(serde_norway::from_str::<Value>(&text).unwrap(), value, "as YAML: {text}");
        }
    }
}
