//! Shared test helpers. `check(fixture)` runs the whole front end on a fixture
//! whose expected diagnostics are written under the lines they point at:
//!
//! ```text
//! (x, y) b (out)
//!   //^ error[K0016]: wire `y` is consumed but never produced
//! ```
//!
//! The carets sit under the span (one caret for an empty span), with `//`
//! just before them, or bare (`^^^ error[…]: …`) for a span that starts in
//! the first two columns; marker lines are removed before checking. Every diagnostic
//! must be annotated, and every annotation must be produced.

#![allow(dead_code)]

use koalja_compiler::analysis::{analyze_text, Analysis};

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
pub struct Expected {
    pub line: usize,
    pub start_column: usize,
    pub end_column: usize,
    pub severity: String,
    pub code: String,
    pub message: String,
}

/// Splits a fixture into source text and expected diagnostics.
pub fn parse_fixture(fixture: &str) -> (String, Vec<Expected>) {
    let fixture = fixture.strip_prefix('\n').unwrap_or(fixture);
    let mut source = String::new();
    let mut expected = Vec::new();
    let mut source_line = 0usize;
    for line in fixture.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//^") || trimmed.starts_with('^') {
            // `//` is optional: spans in the first two columns use bare carets.
            let marker = trimmed.strip_prefix("//").unwrap_or(trimmed);
            let indent = line.len() - marker.len();
            let carets = marker.chars().take_while(|&c| c == '^').count();
            let start_column = indent + 1;
            let rest = marker[carets..].trim();
            let (head, message) = rest.split_once(": ").expect("marker needs `severity[CODE]: message`");
            let (severity, code) = head.trim_end_matches(']').split_once('[').expect("marker needs `severity[CODE]`");
            expected.push(Expected {
                line: source_line,
                start_column,
                end_column: start_column + carets,
                severity: severity.to_owned(),
                code: code.to_owned(),
                message: message.to_owned(),
            });
        } else {
            source.push_str(line);
            source.push('\n');
            source_line += 1;
        }
    }
    (source, expected)
}

/// What the compiler produced, in the fixture's terms.
pub fn actual(analysis: &Analysis) -> Vec<Expected> {
    let mut found: Vec<Expected> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            let start = analysis.line_index.line_column(&analysis.text, d.span.start);
            let end = analysis.line_index.line_column(&analysis.text, d.span.end);
            let end_column = if end.line == start.line {
                (end.column as usize).max(start.column as usize + 1)
            } else {
                start.column as usize + 1
            };
            Expected {
                line: start.line as usize,
                start_column: start.column as usize,
                end_column,
                severity: d.severity.as_str().to_owned(),
                code: d.code.as_str().to_owned(),
                message: d.message.clone(),
            }
        })
        .collect();
    found.sort();
    found
}

/// Checks a fixture; returns the analysis for further assertions.
#[track_caller]
pub fn check(fixture: &str) -> Analysis {
    let (source, mut expected) = parse_fixture(fixture);
    expected.sort();
    let analysis = analyze_text(&source, "fixture");
    let found = actual(&analysis);
    if found != expected {
        panic!(
            "diagnostics differ\n--- source\n{source}--- expected\n{}--- actual\n{}",
            render(&expected),
            render(&found)
        );
    }
    analysis
}

fn render(list: &[Expected]) -> String {
    list.iter()
        .map(|e| {
            format!(
                "line {} cols {}..{}: {}[{}]: {}\n",
                e.line, e.start_column, e.end_column, e.severity, e.code, e.message
            )
        })
        .collect()
}
