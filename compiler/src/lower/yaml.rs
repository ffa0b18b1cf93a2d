//! A small YAML writer for the JSON values `build` produces. It exists for
//! speed: a libyaml-based emitter spent most of a large build checking how
//! to quote each scalar. Output is the block style `kubectl` prints:
//! mappings indented by two, sequences at their key's indent, multi-line
//! strings as literal blocks. A string is written plain only when no YAML
//! reader (including YAML 1.1 ones, which Kubernetes tooling still uses)
//! could take it for anything but that string; otherwise single-quoted, or,
//! when it holds control characters, as a JSON string (valid YAML). Tests parse the output back with
//! serde_norway and compare.

use serde_json::Value;

/// One YAML document (without the `---` separator), ending in a newline.
pub fn document(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_sequence(&mut out, items, 0),
        scalar => {
            write_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, width: usize) {
    out.extend(std::iter::repeat_n(' ', width));
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, width: usize) {
    for (key, value) in map {
        indent(out, width);
        write_key_and_value(out, key, value, width);
    }
}

/// `key: value` at the current position (indentation already written).
fn write_key_and_value(out: &mut String, key: &str, value: &Value, width: usize) {
    write_string(out, key, width, true);
    out.push(':');
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, width + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_sequence(out, items, width);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, width + 2);
            out.push('\n');
        }
    }
}

fn write_sequence(out: &mut String, items: &[Value], width: usize) {
    for item in items {
        indent(out, width);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push(' ');
                // The first entry shares the dash's line; the rest align with it.
                let mut entries = map.iter();
                if let Some((key, value)) = entries.next() {
                    write_key_and_value(out, key, value, width + 2);
                }
                for (key, value) in entries {
                    indent(out, width + 2);
                    write_key_and_value(out, key, value, width + 2);
                }
            }
            Value::Array(inner) if is_block(item) => {
                out.push('\n');
                write_sequence(out, inner, width + 2);
            }
            scalar => {
                out.push(' ');
                write_scalar(out, scalar, width + 2);
                out.push('\n');
            }
        }
    }
}

fn write_scalar(out: &mut String, value: &Value, width: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => write_string(out, text, width, false),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
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
    } else if !text.chars().any(char::is_control) {
        // Single quotes escape nothing but themselves: the most readable.
        out.push('\'');
        out.push_str(&text.replace('\'', "''"));
        out.push('\'');
    } else {
        // A JSON string is a valid YAML double-quoted scalar.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
}

/// Safe to write without quotes: a name-like word that no YAML 1.1 or 1.2
/// reader resolves to a boolean, null or number.
fn is_plain(text: &str) -> bool {
    let Some(first) = text.chars().next() else { return false };
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ':' | '@' | '+');
    const RESERVED: [&str; 13] =
        ["y", "yes", "n", "no", "on", "off", "true", "false", "null", "~", "nan", "inf", "none"];
    (first.is_ascii_alphabetic() || first == '/' || first == '_')
        && text.chars().all(allowed)
        && !text.ends_with(':')
        && !text.contains("://")
        && !RESERVED.contains(&text.to_ascii_lowercase().as_str())
}

/// Multi-line text that a literal block keeps exactly.
fn is_literal_block(text: &str) -> bool {
    text.contains('\n')
        && !text.starts_with([' ', '\t', '\n'])
        && !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
        && !text.split('\n').any(|line| line.ends_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value) {
        let text = document(value);
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
