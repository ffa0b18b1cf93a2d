//! The one entry point: bytes of a `.kja` file in, everything known about it
//! out. The CLI and the language server both call `analyze`; nothing here
//! reads files.

use crate::check;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::Pipeline;
use crate::source::{self, LineIndex};
use crate::span::Span;
use crate::syntax::{self, Parsed};

#[derive(Debug, Clone)]
pub struct Analysis {
    /// The text that was checked (invalid UTF-8 bytes replaced by spaces).
    pub text: String,
    pub line_index: LineIndex,
    pub parsed: Parsed,
    pub pipeline: Pipeline,
    /// Sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The file did not decode, lex or parse cleanly; the formatter refuses
    /// such files because it could lose what the parser skipped.
    pub has_syntax_errors: bool,
}

impl Analysis {
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// Analyses a file's bytes. `default_name` names the pipeline when the file
/// has no header: the file's stem (see `pipeline_name_for_path`).
pub fn analyze(bytes: &[u8], default_name: &str) -> Analysis {
    let mut diagnostics = Diagnostics::default();
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        // A UTF-16 file would decode as noise; say what it is, once.
        diagnostics.push(
            Diagnostic::new(Code::InvalidUtf8, Span::new(0, 2), "this file is UTF-16 encoded")
                .help("Koalja files are UTF-8; re-save the file as UTF-8"),
        );
        let mut analysis = analyze_decoded(String::new(), default_name, diagnostics);
        analysis.has_syntax_errors = true;
        return analysis;
    }
    let decoded = source::decode(bytes);
    for span in &decoded.invalid_utf8 {
        diagnostics.push(
            Diagnostic::new(Code::InvalidUtf8, *span, format!("invalid UTF-8 at byte {}", span.start))
                .help("Koalja files are UTF-8; re-save the file as UTF-8"),
        );
    }
    analyze_decoded(decoded.text, default_name, diagnostics)
}

/// Analyses text that is already a `String` (the language server's case).
pub fn analyze_text(text: &str, default_name: &str) -> Analysis {
    analyze_decoded(text.to_owned(), default_name, Diagnostics::default())
}

/// Analyses `text`, a new version of `previous.text`, re-parsing only the
/// region that changed where that gives the same parse (see
/// `syntax::incremental`); the checker then runs on the whole file. The
/// result equals `analyze_text(&text, default_name)`.
pub fn reanalyze(previous: &Analysis, text: String, default_name: &str) -> Analysis {
    match syntax::incremental::reparse(&previous.parsed, &previous.text, &text) {
        Some(parsed) => check_parsed(text, parsed, default_name, Diagnostics::default()),
        None => analyze_decoded(text, default_name, Diagnostics::default()),
    }
}

fn analyze_decoded(text: String, default_name: &str, mut diagnostics: Diagnostics) -> Analysis {
    let parsed = syntax::parse(&text, &mut diagnostics);
    check_parsed(text, parsed, default_name, diagnostics)
}

/// The checker's part, on a parse whose diagnostics are in `diagnostics`.
fn check_parsed(text: String, parsed: Parsed, default_name: &str, mut diagnostics: Diagnostics) -> Analysis {
    let has_syntax_errors = diagnostics.has_errors();
    let pipeline = check::check(&text, &parsed.file, default_name, &mut diagnostics);
    let end = Span::empty_at(text.len() as u32);
    Analysis {
        line_index: LineIndex::new(&text),
        diagnostics: diagnostics.finish(end),
        text,
        parsed,
        pipeline,
        has_syntax_errors,
    }
}

/// The pipeline name for a file without a header: its stem.
pub fn pipeline_name_for_path(path: &std::path::Path) -> String {
    path.file_stem().map_or_else(|| "pipeline".to_owned(), |stem| stem.to_string_lossy().into_owned())
}
