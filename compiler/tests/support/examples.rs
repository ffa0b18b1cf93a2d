//! The example pipelines in `examples/`, for tests that run over all of
//! them (the directory also holds sample data, which is not a pipeline).

use std::path::PathBuf;

/// Every `examples/*.kja`, in name order.
pub fn example_paths() -> Vec<PathBuf> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "kja"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "examples found: {}", paths.len());
    paths
}
