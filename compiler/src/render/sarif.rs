//! SARIF 2.1.0 for code-scanning upload (GitHub, GitLab). One run, one rule
//! per diagnostic code that occurs, results with physical locations and
//! related locations for labels. Built with `serde_json::json!`: the subset we
//! emit is small, and a typed SARIF crate would add a builder framework.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::FileReport;
use crate::diagnostic::{Code, Severity};
use crate::span::Span;

pub fn render(reports: &[FileReport<'_>]) -> String {
    let codes: BTreeSet<Code> =
        reports.iter().flat_map(|report| report.analysis.diagnostics.iter().map(|d| d.code)).collect();
    let rules: Vec<Value> = codes
        .iter()
        .map(|code| {
            let summary = code.explanation().lines().find(|line| !line.trim().is_empty() && !line.starts_with('#'));
            json!({
                "id": code.as_str(),
                "name": code.name(),
                "shortDescription": { "text": summary.unwrap_or(code.name()) },
                "fullDescription": { "text": code.explanation() },
                "defaultConfiguration": { "level": level(code.severity()) },
            })
        })
        .collect();
    let mut results = Vec::new();
    for report in reports {
        for diagnostic in &report.analysis.diagnostics {
            let mut message = diagnostic.message.clone();
            if let Some(help) = &diagnostic.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            let related: Vec<Value> = diagnostic
                .labels
                .iter()
                .enumerate()
                .map(|(id, label)| {
                    let mut location = location(report, label.span);
                    location["id"] = json!(id);
                    location["message"] = json!({ "text": label.message });
                    location
                })
                .collect();
            results.push(json!({
                "ruleId": diagnostic.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == diagnostic.code),
                "level": level(diagnostic.severity),
                "message": { "text": message },
                "locations": [location(report, diagnostic.span)],
                "relatedLocations": related,
            }));
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "koaljac",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn location(report: &FileReport<'_>, span: Span) -> Value {
    let analysis = report.analysis;
    let start = analysis.line_index.line_column(&analysis.text, span.start);
    let end = analysis.line_index.line_column(&analysis.text, span.end);
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": report.path },
            "region": {
                "startLine": start.line,
                "startColumn": start.column,
                "endLine": end.line,
                "endColumn": end.column,
                "byteOffset": span.start,
                "byteLength": span.len(),
            }
        }
    })
}
