//! Terminal rendering with ariadne: source excerpts, underlined spans, labels
//! and help. Colour is the caller's choice (on only for a terminal).

use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};

use super::FileReport;
use crate::diagnostic::{Diagnostic, Severity};

pub fn render(report: &FileReport<'_>, color: bool) -> String {
    if report.analysis.diagnostics.is_empty() {
        // ariadne's Source indexes every line: not worth it for nothing.
        return String::new();
    }
    let source = Source::from(report.analysis.text.as_str());
    let mut out = Vec::new();
    for diagnostic in &report.analysis.diagnostics {
        write_one(&mut out, report.path, &source, diagnostic, color);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn write_one(out: &mut Vec<u8>, path: &str, source: &Source<&str>, diagnostic: &Diagnostic, color: bool) {
    let kind = match diagnostic.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let path = path.to_owned();
    let mut builder = Report::build(kind, (path.clone(), diagnostic.span.range()))
        .with_config(Config::default().with_index_type(IndexType::Byte).with_color(color))
        .with_code(diagnostic.code.as_str())
        .with_message(&diagnostic.message)
        .with_label(
            Label::new((path.clone(), diagnostic.span.range())).with_message(&diagnostic.message).with_order(0),
        );
    for (order, label) in diagnostic.labels.iter().enumerate() {
        builder = builder.with_label(
            Label::new((path.clone(), label.span.range())).with_message(&label.message).with_order(order as i32 + 1),
        );
    }
    if let Some(help) = &diagnostic.help {
        builder = builder.with_help(help);
    }
    // Writing into a Vec cannot fail.
    let _ = builder.finish().write((path, source), &mut *out);
}
