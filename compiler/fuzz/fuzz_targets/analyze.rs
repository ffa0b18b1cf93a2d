//! Any bytes through the whole front end: analysis must not panic, and a
//! file the formatter accepts must format to a file without syntax errors
//! that formats to itself, and re-analysing the formatted text from the
//! first analysis (the language server's incremental path) must equal
//! analysing it afresh. A crash found here goes into
//! `compiler/test_data/fuzz-failures/`, which `tests/corpus.rs` replays.

#![no_main]

use koalja_compiler::analysis::{analyze, reanalyze};
use koalja_compiler::format::format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let analysis = analyze(data, "fuzz");
    if let Some(formatted) = format(&analysis) {
        let again = analyze(formatted.as_bytes(), "fuzz");
        assert!(!again.has_syntax_errors, "formatting produced syntax errors");
        assert_eq!(format(&again).as_deref(), Some(formatted.as_str()), "formatting is not idempotent");
        let incremental = reanalyze(&analysis, formatted.clone(), "fuzz");
        assert_eq!(incremental.parsed, again.parsed, "incremental re-parse differs");
        assert_eq!(incremental.diagnostics, again.diagnostics, "incremental re-analysis differs");
    }
});
