//! What every command shares on the way out: exit codes, writing to stdout
//! without panicking on a closed pipe, atomic file writes, and whether to
//! colour.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::args::Color;

/// The input has errors (or `fmt --check` found a difference, a run failed,
/// `diff` found changes).
pub const EXIT_INPUT_ERRORS: u8 = 1;
/// Usage, I/O, cluster or runtime faults.
pub const EXIT_USAGE_OR_IO: u8 = 2;

/// Writes to stdout without panicking when the reader has gone away.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes `path` through a temporary file beside it and a rename, so a
/// failed write never leaves a half-written file (a source file under
/// `fmt`, or manifests).
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.koaljac-tmp"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
    if let Err(error) = write(&mut file).and_then(|()| file.flush()) {
        drop(file);
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    drop(file);
    if let Ok(metadata) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&temporary, metadata.permissions());
    }
    std::fs::rename(&temporary, path)
}

/// Whether diagnostics on stdout are coloured: `--color`, else a terminal
/// without `NO_COLOR`.
pub fn color_stdout(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Whether diagnostics on stderr are coloured: a terminal without `NO_COLOR`.
pub fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
