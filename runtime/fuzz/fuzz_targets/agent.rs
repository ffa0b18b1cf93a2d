//! Any bytes through what the agent takes from outside: the IR, names of
//! dropped files, and the snapshot engine's input sequences
//! (`koalja_agent::fuzzing`). A crash found here goes into
//! `runtime/test_data/fuzz-failures/`, which `tests/fuzz_failures.rs` replays.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| koalja_agent::fuzzing::exercise(data));
