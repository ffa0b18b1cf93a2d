//! Replays every input the agent's fuzzer ever crashed on
//! (`runtime/test_data/fuzz-failures/`), plus the IR of every example.

use std::path::Path;

#[test]
fn saved_fuzz_inputs_and_example_irs_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for dir in [root.join("test_data/fuzz-failures"), root.join("tests/data")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            koalja_agent::fuzzing::exercise(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed >= 1, "replayed {replayed}");
}
