//! `koaljac explain`: a diagnostic code's explanation, or the list of codes.

use std::process::ExitCode;

use koalja_compiler::diagnostic::Code;

use crate::output::{write_stdout, EXIT_USAGE_OR_IO};

/// `code`'s explanation, or every code with its severity and name.
pub fn explain(code: Option<&str>) -> ExitCode {
    let Some(code) = code else {
        let list: String = Code::ALL
            .iter()
            .map(|code| format!("{}  {:<8} {}\n", code.as_str(), code.severity().as_str(), code.name()))
            .collect();
        return if write_stdout(&list).is_ok() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_USAGE_OR_IO) };
    };
    match Code::parse(code) {
        Some(code) => match write_stdout(code.explanation()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(EXIT_USAGE_OR_IO),
        },
        None => {
            eprintln!("error: `{code}` is not a Koalja diagnostic code; `koaljac explain` lists them");
            ExitCode::from(EXIT_USAGE_OR_IO)
        }
    }
}
