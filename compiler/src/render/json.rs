//! The JSON diagnostics contract: one object per diagnostic per line, with
//! exactly the fields of `JsonDiagnostic`. Lines and columns are 1-based and
//! count Unicode scalar values; `end_line`/`end_column` point just past the
//! span; `help` is null when there is none. Tools and tests rely on this.

use serde::Serialize;

use super::FileReport;

#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub file: &'a str,
    pub severity: &'static str,
    pub code: &'static str,
    pub message: &'a str,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub byte_start: u32,
    pub byte_end: u32,
    pub labels: Vec<JsonLabel<'a>>,
    pub help: Option<&'a str>,
}

#[derive(Serialize)]
pub struct JsonLabel<'a> {
    pub line: u32,
    pub column: u32,
    pub message: &'a str,
}

/// One JSON line per diagnostic, each ending in `\n`.
pub fn render(report: &FileReport<'_>) -> String {
    let analysis = report.analysis;
    let position = |offset| analysis.line_index.line_column(&analysis.text, offset);
    let mut out = String::new();
    for diagnostic in &analysis.diagnostics {
        let start = position(diagnostic.span.start);
        let end = position(diagnostic.span.end);
        let object = JsonDiagnostic {
            file: report.path,
            severity: diagnostic.severity.as_str(),
            code: diagnostic.code.as_str(),
            message: &diagnostic.message,
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            byte_start: diagnostic.span.start,
            byte_end: diagnostic.span.end,
            labels: diagnostic
                .labels
                .iter()
                .map(|label| {
                    let at = position(label.span.start);
                    JsonLabel { line: at.line, column: at.column, message: &label.message }
                })
                .collect(),
            help: diagnostic.help.as_deref(),
        };
        // Serialising plain structs of strings and numbers cannot fail.
        out.push_str(&serde_json::to_string(&object).unwrap_or_default());
        out.push('\n');
    }
    out
}
