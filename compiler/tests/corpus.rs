//! One test per file of `test_data/{parser,check}/{ok,err}/`:
//! - `parser/ok`: no syntax error (K0001–K0007); `parser/err`: at least one;
//! - `check/ok`: no error at all; `check/err`: at least one error;
//! - a file whose first line is `# expect: K0016, K0052` must produce exactly
//!   those codes (errors and warnings), no more, no fewer;
//! - `fuzz-failures/`: inputs that once crashed or hung; they must analyse
//!   and format without panicking.
//!
//! Files are analysed as pipeline `corpus`, so long file names do not turn
//! into pipeline-name diagnostics.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use koalja_compiler::analysis::analyze;
use koalja_compiler::format::format;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let mut trials = Vec::new();
    for (corpus, kind) in [("parser", "ok"), ("parser", "err"), ("check", "ok"), ("check", "err")] {
        for path in files(&root.join(corpus).join(kind)) {
            let name = format!("{corpus}::{kind}::{}", path.file_stem().unwrap().to_string_lossy());
            trials.push(Trial::test(name, move || run(corpus, kind, &path)));
        }
    }
    for path in files(&root.join("fuzz-failures")) {
        let name = format!("fuzz_failures::{}", path.file_name().unwrap().to_string_lossy());
        trials.push(Trial::test(name, move || {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            let analysis = analyze(&bytes, "corpus");
            let _ = format(&analysis);
            Ok(())
        }));
    }
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}

fn files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn run(corpus: &str, kind: &str, path: &Path) -> Result<(), Failed> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let analysis = analyze(&bytes, "corpus");
    let codes: BTreeSet<&str> = analysis.diagnostics.iter().map(|d| d.code.as_str()).collect();
    let describe =
        || analysis.diagnostics.iter().map(|d| format!("  {} {}\n", d.code.as_str(), d.message)).collect::<String>();
    let is_syntax = |code: &str| code < "K0010";
    let syntax_errors = analysis.diagnostics.iter().filter(|d| d.is_error() && is_syntax(d.code.as_str())).count();
    let errors = analysis.error_count();
    match (corpus, kind) {
        ("parser", "ok") if syntax_errors > 0 => {
            return Err(format!("unexpected syntax errors:\n{}", describe()).into())
        }
        ("parser", "err") if syntax_errors == 0 => return Err(format!("no syntax error; got:\n{}", describe()).into()),
        ("check", "ok") if errors > 0 => return Err(format!("unexpected errors:\n{}", describe()).into()),
        ("check", "err") if errors == 0 => return Err(format!("no error; got:\n{}", describe()).into()),
        _ => {}
    }
    if let Some(expected) = expectation(&bytes) {
        if codes != expected.iter().map(String::as_str).collect() {
            return Err(format!("expected codes {expected:?}, got:\n{}", describe()).into());
        }
    }
    // The formatter must accept every file without syntax errors and keep it
    // free of them.
    if let Some(formatted) = format(&analysis) {
        let again = analyze(formatted.as_bytes(), "corpus");
        if again.has_syntax_errors {
            return Err(format!("formatting introduced syntax errors:\n{formatted}").into());
        }
    }
    Ok(())
}

/// The codes named on a first line `# expect: K0016, K0052`.
pub fn expectation(bytes: &[u8]) -> Option<BTreeSet<String>> {
    let first_line = bytes.split(|&b| b == b'\n').next()?;
    let text = std::str::from_utf8(first_line).ok()?;
    let list = text.strip_prefix("# expect:")?;
    Some(list.split(',').map(|code| code.trim().to_owned()).filter(|c| !c.is_empty()).collect())
}
