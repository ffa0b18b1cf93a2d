//! The one renderer-neutral diagnostic type. Every phase (decode, lex, parse,
//! check) produces these; `render` turns them into ariadne, JSON or SARIF, and
//! the language server into LSP diagnostics and code actions.

mod codes;

pub use codes::Code;

use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A secondary place that explains the primary one (the other producer of a
/// doubly produced wire, the declaration a type mismatch comes from, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One text replacement. A fix's edits never overlap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

/// A machine-applicable fix: the language server offers it as a code action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<Edit>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub fixes: Vec<Fix>,
}

impl Diagnostic {
    /// A diagnostic with the code's own severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
            fixes: Vec::new(),
        }
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// A fix made of one replacement.
    pub fn fix(mut self, title: impl Into<String>, span: Span, replacement: impl Into<String>) -> Diagnostic {
        self.fixes.push(Fix { title: title.into(), edits: vec![Edit { span, replacement: replacement.into() }] });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The most diagnostics kept for one file. Past it a garbage file would make
/// memory grow with every byte; one K0007 says how many were left out.
pub const MAX_DIAGNOSTICS_PER_FILE: usize = 1000;

/// Collects diagnostics up to `MAX_DIAGNOSTICS_PER_FILE`, counting the rest.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    dropped: usize,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        if self.items.len() < MAX_DIAGNOSTICS_PER_FILE {
            self.items.push(diagnostic);
        } else {
            self.dropped += 1;
        }
    }

    /// Keeps `diagnostic` even past the limit: for the notes that explain
    /// why the rest of a file was not read.
    pub fn push_always(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// How many were reported, kept or not.
    pub fn len(&self) -> usize {
        self.items.len() + self.dropped
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Sorted by position (then code) so output is deterministic whatever
    /// order the phases ran in; a K0007 at the end if any were dropped.
    pub fn finish(mut self, end_of_file: Span) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.span.start, a.span.end, a.code, &a.message).cmp(&(b.span.start, b.span.end, b.code, &b.message))
        });
        if self.dropped > 0 {
            let shown = self.items.len();
            self.items.push(
                Diagnostic::new(
                    Code::TooManyDiagnostics,
                    end_of_file,
                    match self.dropped {
                        1 => "1 more diagnostic was not shown".to_owned(),
                        n => format!("{n} more diagnostics were not shown"),
                    },
                )
                .help(format!("only the first {shown} diagnostics of a file are kept; fix those and check again")),
            );
        }
        self.items
    }
}
