//! Task definition digests: what the runtime records with every run and
//! artifact, so provenance can say which software touched a value.
//!
//! The digest covers what decides a run's behaviour: the image, the run
//! (command or shell, with wire names as names, not paths) and the
//! environment. It is SHA-256 over a canonical JSON form of those values, so
//! it does not change when the file is reformatted, commented, reordered, or
//! when the value comes from `defaults` rather than the task block.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use smol_str::SmolStr;

use crate::model::{Run, TaskSettings};

#[derive(Serialize)]
struct Definition<'a> {
    image: &'a Option<SmolStr>,
    run: &'a Option<Run>,
    env: &'a BTreeMap<SmolStr, SmolStr>,
}

/// `sha256:` followed by 64 lower-case hex digits.
pub fn definition_digest(task: &TaskSettings) -> String {
    let definition = Definition { image: &task.image, run: &task.run, env: &task.env };
    // Serialising strings, lists and sorted maps cannot fail.
    sha256(&serde_json::to_vec(&definition).unwrap_or_default())
}

/// `sha256:` and the hex digest of `bytes`, the form every digest here takes.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}
