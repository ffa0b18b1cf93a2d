//! `koaljac describe`: each task in words.

use std::path::Path;
use std::process::ExitCode;

use koalja_compiler::ir::Ir;
use koalja_compiler::render;

use crate::load::{input_exit_code, load_one};
use crate::output::{write_stdout, EXIT_USAGE_OR_IO};

/// Every task, or only `task`; a task the file lacks is a usage error.
pub fn describe(path: &Path, task: Option<&str>) -> ExitCode {
    let file = match load_one(std::slice::from_ref(&path.to_path_buf()), "describe") {
        Ok(file) => file,
        Err(code) => return code,
    };
    let ir = Ir::from_analysis(&file.analysis);
    match render::describe::describe(&ir, task) {
        Some(text) => {
            if write_stdout(&text).is_err() {
                return ExitCode::from(EXIT_USAGE_OR_IO);
            }
            input_exit_code(&file.analysis, false)
        }
        None => {
            eprintln!("error: {} has no task `{}`", file.display, task.unwrap_or_default());
            ExitCode::from(EXIT_USAGE_OR_IO)
        }
    }
}
