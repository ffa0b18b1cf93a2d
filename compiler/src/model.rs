//! The checked pipeline: names resolved, defaults applied, buffers turned into
//! firing rules. This is what the checker hands to everything after it (the
//! graph IR, manifests, the runtime). Tasks and wires refer to each other by
//! index; order is the order of first appearance in the file, so output built
//! from it is deterministic.

use std::collections::BTreeMap;

use serde::Serialize;
use smol_str::SmolStr;

use crate::span::Span;
pub use crate::syntax::ast::BufferForm;

pub type TaskId = usize;
pub type WireId = usize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    pub namespace: String,
    pub name: String,
    /// Declared types (built-ins are not listed unless redeclared).
    pub types: Vec<TypeDef>,
    pub tasks: Vec<Task>,
    pub wires: Vec<Wire>,
    /// What `defaults` say about the gateway's own storage.
    pub gateway: StorageSettings,
}

/// How long payloads are kept (`keep:`). Absent, every payload is kept.
/// Provenance records are always kept; only the bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The newest N payloads of each wire (`keep: 100`).
    Newest(u64),
    /// Payloads younger than this many milliseconds (`keep: "7d"`).
    WithinMs(u64),
}

/// An agent's storage: its state volume's size and its payloads' retention.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StorageSettings {
    pub keep: Option<Keep>,
    /// A Kubernetes quantity (`"10Gi"`); `None`: the manifests' default.
    pub storage: Option<SmolStr>,
}

impl Pipeline {
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|task| task.name == name)
    }

    pub fn wire(&self, name: &str) -> Option<&Wire> {
        self.wires.iter().find(|wire| wire.name == name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadKind {
    File,
    Dir,
    Service,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypeDef {
    pub name: SmolStr,
    pub kind: PayloadKind,
    pub mime: Option<SmolStr>,
    /// May cross region boundaries (LANGUAGE.md §4).
    pub export: bool,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WireRole {
    /// Produced and consumed inside the pipeline.
    Internal,
    /// Consumed, produced by no task; fed by file drops. Name starts with `in`.
    PipelineInput,
    /// Produced, consumed by no task.
    PipelineOutput,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Wire {
    pub name: SmolStr,
    /// The resolved type name (`file` when never annotated, `service` for
    /// implicit wires).
    pub ty: SmolStr,
    pub implicit: bool,
    pub role: WireRole,
    pub producer: Option<TaskId>,
    pub consumers: Vec<TaskId>,
    /// Where the wire is first named.
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    AllNew,
    SwapNewForOld,
    SlidingWindow,
}

impl Policy {
    pub const ALL: [(&'static str, Policy); 3] = [
        ("all-new", Policy::AllNew),
        ("swap-new-for-old", Policy::SwapNewForOld),
        ("sliding-window", Policy::SlidingWindow),
    ];

    pub fn as_str(self) -> &'static str {
        Policy::ALL.iter().find(|(_, policy)| *policy == self).map(|(name, _)| *name).unwrap_or("all-new")
    }

    /// What the policy does, in a sentence (LANGUAGE.md §3; for hover and completion).
    pub fn meaning(self) -> &'static str {
        match self {
            Policy::AllNew => "a run fires when every triggering input has enough unused values; each value is used once",
            Policy::SwapNewForOld => {
                "make-like: once every input has a value, any new value fires a run with the newest of every input"
            }
            Policy::SlidingWindow => {
                "each input keeps a window of N values; a run fires when an input has S new values to slide in, the others reused"
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launch {
    Auto,
    Restart,
    Custom,
}

impl Launch {
    pub const ALL: [(&'static str, Launch); 3] =
        [("auto", Launch::Auto), ("restart", Launch::Restart), ("custom", Launch::Custom)];

    pub fn as_str(self) -> &'static str {
        Launch::ALL.iter().find(|(_, launch)| *launch == self).map(|(name, _)| *name).unwrap_or("auto")
    }

    /// What the launch mode does, in a sentence (LANGUAGE.md §2; for hover and completion).
    pub fn meaning(self) -> &'static str {
        match self {
            Launch::Auto => "run the code once per snapshot",
            Launch::Restart => "a new snapshot stops a still-running run and starts anew (services)",
            Launch::Custom => "the code asks the agent for snapshots itself",
        }
    }
}

/// How many values an input takes per snapshot, after the policy is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "form", rename_all = "kebab-case")]
pub enum Firing {
    /// all-new and swap-new-for-old: at least `min`, at most `max` unused values.
    Count { min: u64, max: u64 },
    /// sliding-window: a window of `size` values that moves `slide` at a time.
    Window { size: u64, slide: u64 },
    /// An implicit (service) input: never fires a run.
    Service,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskInput {
    /// The name the input goes by in commands: its first member's.
    pub name: SmolStr,
    /// One wire, or the members of a merge in order.
    pub wires: Vec<WireId>,
    /// Where each of `wires` is named, in the same order.
    pub wire_spans: Vec<Span>,
    /// The buffer as written (after the last member), if any.
    pub buffer: Option<BufferForm>,
    pub firing: Firing,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskOutput {
    pub wire: WireId,
    pub span: Span,
}

/// One element of a `command`: a literal, or a wire whose paths it expands to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arg {
    Literal(SmolStr),
    Wire(SmolStr),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Run {
    /// argv. When no element names a wire, every input's then every output's
    /// paths are appended at run time (`append_wire_paths`).
    Command { args: Vec<Arg>, append_wire_paths: bool },
    /// `/bin/sh -c` with `{wire}` placeholders.
    Shell(SmolStr),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Task {
    pub name: SmolStr,
    pub inputs: Vec<TaskInput>,
    pub outputs: Vec<TaskOutput>,
    #[serde(flatten)]
    pub settings: TaskSettings,
    /// The wiring statement.
    pub span: Span,
    /// The `task` block, when there is one.
    pub block_span: Option<Span>,
}

/// A task's settings after `defaults` are applied: what the IR, the digest,
/// the manifests and the runtime read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskSettings {
    pub image: Option<SmolStr>,
    /// `None` only in a pipeline with errors (K0032).
    pub run: Option<Run>,
    pub policy: Policy,
    pub launch: Launch,
    pub service_port: Option<u16>,
    pub env: BTreeMap<SmolStr, SmolStr>,
    pub resources: BTreeMap<SmolStr, SmolStr>,
    pub region: Option<SmolStr>,
    /// Per-run limit in milliseconds.
    pub timeout_ms: Option<u64>,
    pub retries: u32,
    /// The retention of the payloads the task produces, and its volume.
    #[serde(flatten)]
    pub storage: StorageSettings,
}

/// The `{wire}` placeholders of a shell string, as (byte range, name). A
/// placeholder is `{name}` with `name` an identifier; `${name}` is the
/// shell's own expansion and `{{` a literal brace, so neither is one.
pub fn shell_placeholders(shell: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let bytes = shell.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'{') {
            i += 2;
            continue;
        }
        let after_dollar = i > 0 && bytes[i - 1] == b'$';
        let name_start = i + 1;
        let mut j = name_start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'-') {
            j += 1;
        }
        let is_identifier = j > name_start && (bytes[name_start].is_ascii_alphabetic() || bytes[name_start] == b'_');
        if !after_dollar && is_identifier && bytes.get(j) == Some(&b'}') {
            found.push((i..j + 1, &shell[name_start..j]));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_skip_shell_expansions_and_escaped_braces() {
        let names: Vec<_> = shell_placeholders("sort {in} | awk '{print $1}' ${HOME} {{out}} > {out_1}")
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        assert_eq!(names, vec!["in", "out_1"]);
    }
}
