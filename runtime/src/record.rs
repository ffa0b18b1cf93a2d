//! Provenance records: what every annotated value (AV) and every run carries
//! (LANGUAGE.md §3, end). These are the JSON objects the link protocol
//! sends, the store keeps and `koaljac log` / `trace` print.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Who produced AVs that enter the pipeline from outside.
pub const GATEWAY: &str = "gateway";

/// One annotated value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Av {
    /// `<task>.<run>.<wire>` for a run's output, `gateway.<drop>.<wire>` for
    /// a file dropped into a pipeline input: unique, stable across restarts
    /// (run and drop numbers are durable), and safe as a file name.
    pub id: String,
    pub wire: String,
    /// The producing task (`gateway` for a drop).
    pub task: String,
    /// The run that produced it (the drop number for the gateway).
    pub run: u64,
    /// The AVs of the snapshot it was computed from.
    pub inputs: Vec<String>,
    /// The producing task's definition digest (empty for a drop).
    pub definition: String,
    /// `sha256:` of the payload's bytes (of a directory: of its files'
    /// relative paths and bytes, in name order).
    pub content: String,
    pub size: u64,
    /// The payload's file name as the consumer sees it.
    pub name: String,
    /// Producer's clock, RFC 3339 in UTC.
    pub created: String,
    /// Where the payload is kept, as a path on the producer's machine; for
    /// a service's announcement (an implicit wire), the service's address.
    pub stored: String,
    /// When the keeping agent's retention (`keep:`) removed the payload;
    /// the record stays. Absent while the payload is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<String>,
}

impl Av {
    pub fn output_id(task: &str, run: u64, wire: &str) -> String {
        format!("{task}.{run}.{wire}")
    }

    /// The payload's file name wherever it is kept (producer's `payloads/`,
    /// consumer's `cache/`): the id, and a dropped file's own name after
    /// `--` so its extension survives. Flat on purpose: one directory per
    /// AV costs an inode allocation per run, which dominated small runs.
    /// Both parts come from another agent, so both are made safe path
    /// components: nothing a peer sends can point outside the state directory.
    pub fn file_name(&self) -> String {
        let id = safe_file_name(&self.id).unwrap_or_else(|| "payload".to_owned());
        match safe_file_name(&self.name) {
            Some(name) if self.name != self.wire => format!("{id}--{name}"),
            _ => id,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Assembled and committed, not yet finished (re-run after a restart).
    Pending,
    /// A long-running process (a service) is up; restarted after a restart.
    Running,
    Succeeded,
    Failed,
    /// Stopped, or never started, because a newer snapshot replaced it
    /// (`launch: restart` and services).
    Replaced,
}

/// A service a run called: which revision (run) of which task served it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceUse {
    /// The implicit input's name.
    pub input: String,
    /// The service's announcement AV (`<task>.<revision>.<wire>`).
    pub av: String,
    pub task: String,
    pub revision: u64,
    pub address: String,
}

/// One input of a run's snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInput {
    /// The input's name in commands (a merge's first member).
    pub input: String,
    pub avs: Vec<String>,
    /// New values arrived on this input for this run (else it was reused).
    pub advanced: bool,
}

/// One run of a task's code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub task: String,
    pub run: u64,
    pub status: RunStatus,
    pub snapshot: Vec<SnapshotInput>,
    /// Values that arrived and were replaced before any run saw them
    /// (swap-new-for-old).
    pub superseded: Vec<String>,
    /// The services the run was given (implicit inputs).
    #[serde(default)]
    pub services: Vec<ServiceUse>,
    pub definition: String,
    /// Output AV ids, in output order.
    pub outputs: Vec<String>,
    /// Outputs the code did not write (nothing published for them).
    pub missing_outputs: Vec<String>,
    pub attempts: u32,
    pub exit_status: Option<i32>,
    /// The last 2 KiB of the code's standard output and error.
    pub stdout_tail: Option<String>,
    pub stderr_tail: Option<String>,
    pub assembled: String,
    pub started: Option<String>,
    pub finished: Option<String>,
}

impl RunRecord {
    /// Takes the end of the code's process into the record.
    pub fn apply(&mut self, outcome: crate::exec::Outcome) {
        self.finished = Some(now());
        self.attempts = outcome.attempts;
        self.exit_status = outcome.exit_status;
        self.stdout_tail = outcome.stdout_tail;
        self.stderr_tail = outcome.stderr_tail;
        self.status = if outcome.succeeded { RunStatus::Succeeded } else { RunStatus::Failed };
    }
}

/// Now, RFC 3339 in UTC with milliseconds.
pub fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// A name from outside (a dropped file's name) made safe to use as one path
/// component inside the state directory: no separators, no `.`/`..`, no NUL,
/// no leading dot, at most 200 bytes. `None` when nothing usable is left.
pub fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        return None;
    }
    let mut end = cleaned.len().min(200);
    while !cleaned.is_char_boundary(end) {
        end -= 1;
    }
    Some(cleaned[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_names_stay_one_component() {
        assert_eq!(safe_file_name("data.csv").as_deref(), Some("data.csv"));
        assert_eq!(safe_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(safe_file_name("..").as_deref(), None);
        assert_eq!(safe_file_name("a/..").as_deref(), None);
        assert_eq!(safe_file_name(".hidden").as_deref(), Some("hidden"));
        assert_eq!(safe_file_name("x\0y\n").as_deref(), Some("xy"));
        assert_eq!(safe_file_name("C:\\temp\\f.txt").as_deref(), Some("f.txt"));
        assert_eq!(safe_file_name(&"é".repeat(300)).map(|n| n.len()), Some(200));
    }

    #[test]
    fn payload_file_names_from_peers_stay_inside() {
        let mut av = Av {
            id: "../../etc/passwd".into(),
            wire: "in".into(),
            task: "t".into(),
            run: 1,
            inputs: vec![],
            definition: String::new(),
            content: String::new(),
            size: 0,
            name: "../x.csv".into(),
            created: now(),
            stored: String::new(),
            removed: None,
        };
        assert_eq!(av.file_name(), "passwd--x.csv");
        av.id = "..".into();
        av.name = "in".into();
        assert_eq!(av.file_name(), "payload");
    }
}
