//! Reading and analysing the files a command names.

use std::path::PathBuf;
use std::process::ExitCode;

use koalja_compiler::analysis::{analyze, pipeline_name_for_path, Analysis};
use koalja_compiler::render::{self, FileReport};

use crate::files;
use crate::output::{color_stderr, EXIT_INPUT_ERRORS, EXIT_USAGE_OR_IO};

/// A file read and analysed, or the I/O error that stopped it.
pub struct Loaded {
    pub display: String,
    pub path: Option<PathBuf>,
    pub analysis: Analysis,
}

/// Every file `paths` names (directories are walked, `-` is stdin), and
/// whether reading any of them failed (each failure is printed).
pub fn load_all(paths: &[PathBuf]) -> (Vec<Loaded>, bool) {
    let mut loaded = Vec::new();
    let mut io_failed = false;
    for input in files::expand(paths) {
        match input {
            Ok(files::Input::Stdin(bytes)) => {
                loaded.push(Loaded { display: "<stdin>".to_owned(), path: None, analysis: analyze(&bytes, "stdin") })
            }
            Ok(files::Input::File(path, bytes)) => loaded.push(Loaded {
                display: path.display().to_string(),
                analysis: analyze(&bytes, &pipeline_name_for_path(&path)),
                path: Some(path),
            }),
            Err(message) => {
                eprintln!("error: {message}");
                io_failed = true;
            }
        }
    }
    (loaded, io_failed)
}

/// Loads exactly one file, printing diagnostics to stderr; `Err` is the exit code.
pub fn load_one(paths: &[PathBuf], what: &str) -> Result<Loaded, ExitCode> {
    let (mut loaded, io_failed) = load_all(paths);
    if io_failed {
        return Err(ExitCode::from(EXIT_USAGE_OR_IO));
    }
    if loaded.len() != 1 {
        eprintln!("error: {what} takes exactly one file, got {}", loaded.len());
        return Err(ExitCode::from(EXIT_USAGE_OR_IO));
    }
    let file = loaded.remove(0);
    eprint_diagnostics(&file, &file.analysis);
    Ok(file)
}

/// 1 when the file has errors (or warnings, with `--deny warnings`), else 0.
pub fn input_exit_code(analysis: &Analysis, deny_warnings: bool) -> ExitCode {
    if analysis.error_count() > 0 || (deny_warnings && analysis.warning_count() > 0) {
        ExitCode::from(EXIT_INPUT_ERRORS)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints `analysis`'s diagnostics for `file` on stderr, as `check` shows them.
pub fn eprint_diagnostics(file: &Loaded, analysis: &Analysis) {
    eprint!("{}", render::human::render(&FileReport { path: &file.display, analysis }, color_stderr()));
}
