//! `koaljac fmt`: format in place, or `--check` with a unified diff.

use std::path::PathBuf;
use std::process::ExitCode;

use koalja_compiler::format::format;

use crate::load::{eprint_diagnostics, load_all};
use crate::output::{write_atomically, write_stdout, EXIT_INPUT_ERRORS, EXIT_USAGE_OR_IO};

/// Formats in place (atomically), or with `check_only` prints a diff and
/// exits 1 when a file would change; files with syntax errors are left alone.
pub fn fmt(paths: &[PathBuf], check_only: bool) -> ExitCode {
    let (loaded, mut io_failed) = load_all(paths);
    let mut input_errors = false;
    for file in &loaded {
        let Some(formatted) = format(&file.analysis) else {
            eprint_diagnostics(file, &file.analysis);
            eprintln!("error: {} has syntax errors; it was left unchanged", file.display);
            input_errors = true;
            continue;
        };
        if file.path.is_none() {
            if write_stdout(&formatted).is_err() {
                return ExitCode::from(EXIT_USAGE_OR_IO);
            }
            continue;
        }
        if formatted == file.analysis.text {
            continue;
        }
        if check_only {
            input_errors = true;
            if write_stdout(&unified_diff(&file.display, &file.analysis.text, &formatted)).is_err() {
                break; // The reader went away (`| head`): the answer is already 1.
            }
        } else if let Some(path) = &file.path {
            match write_atomically(path, |out| out.write_all(formatted.as_bytes())) {
                Ok(()) => eprintln!("formatted {}", file.display),
                Err(error) => {
                    eprintln!("error: cannot write {}: {error}", file.display);
                    io_failed = true;
                }
            }
        }
    }
    if io_failed {
        ExitCode::from(EXIT_USAGE_OR_IO)
    } else if input_errors {
        ExitCode::from(EXIT_INPUT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

fn unified_diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (original)"), &format!("{name} (formatted)"))
        .to_string()
}
