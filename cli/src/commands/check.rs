//! `koaljac check`, and `check --emit ir`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use koalja_compiler::ir::Ir;
use koalja_compiler::render::{self, FileReport};

use crate::args::{Color, MessageFormat};
use crate::load::{input_exit_code, load_all, load_one};
use crate::output::{color_stdout, plural, write_stdout, EXIT_INPUT_ERRORS, EXIT_USAGE_OR_IO};

/// Diagnostics of every file, and a count line (human format).
pub fn check(paths: &[PathBuf], format: MessageFormat, deny_warnings: bool, color: Color) -> ExitCode {
    let (loaded, io_failed) = load_all(paths);
    let reports: Vec<FileReport<'_>> =
        loaded.iter().map(|l| FileReport { path: &l.display, analysis: &l.analysis }).collect();
    let color = color_stdout(color);
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        MessageFormat::Human => {
            reports.iter().try_for_each(|r| stdout.write_all(render::human::render(r, color).as_bytes()))
        }
        MessageFormat::Json => reports.iter().try_for_each(|r| stdout.write_all(render::json::render(r).as_bytes())),
        MessageFormat::Sarif => stdout.write_all(render::sarif::render(&reports).as_bytes()),
    };
    let errors: usize = reports.iter().map(|r| r.analysis.error_count()).sum();
    let warnings: usize = reports.iter().map(|r| r.analysis.warning_count()).sum();
    if format == MessageFormat::Human {
        let _ = writeln!(
            stdout,
            "checked {} file{}: {errors} error{}, {warnings} warning{}",
            reports.len(),
            plural(reports.len()),
            plural(errors),
            plural(warnings)
        );
    }
    let flushed = stdout.flush();
    drop(reports);
    // Freeing every tree and model node one by one costs a sixth of a large
    // check, and the process is about to exit: let the OS reclaim it.
    std::mem::forget(loaded);
    if written.is_err() || flushed.is_err() || io_failed {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        return ExitCode::from(EXIT_INPUT_ERRORS);
    }
    ExitCode::SUCCESS
}

/// `check --emit ir`: the IR even for a file with errors (error nodes mark
/// what did not parse), and exit 1 then, so scripts cannot miss it.
pub fn emit_ir(paths: &[PathBuf], deny_warnings: bool) -> ExitCode {
    let file = match load_one(paths, "--emit ir") {
        Ok(file) => file,
        Err(code) => return code,
    };
    let ir = Ir::from_analysis(&file.analysis);
    if write_stdout(&ir.to_json()).is_err() {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    input_exit_code(&file.analysis, deny_warnings)
}
