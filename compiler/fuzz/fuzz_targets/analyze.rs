//! Any bytes through the whole front end: analysis must not panic, and a
//! file the formatter accepts must format to a file without syntax errors
//! that formats to itself. A crash found here goes into
//! `compiler/test_data/fuzz-failures/`, which `tests/corpus.rs` replays.

#![no_main]

use koalja_compiler::analysis::analyze;
use koalja_compiler::format::format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let analysis = analyze(data, "fuzz");
    if let Some(formatted) = format(&analysis) {
        let again = analyze(formatted.as_bytes(), "fuzz");
        assert!(!again.has_syntax_errors, "formatting produced syntax errors");
        assert_eq!(format(&again).as_deref(), Some(formatted.as_str()), "formatting is not idempotent");
    }
});
