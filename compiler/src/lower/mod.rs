//! Lowering: the IR to plain Kubernetes objects (typed with k8s-openapi), so
//! no operator has to run in the cluster. `koaljac build` prints them; the
//! deploy issue will apply them. The objects, for pipeline `ns/p`:
//!
//! - ServiceAccounts `p-task` (no API access, no token mounted) and
//!   `p-gateway`, with a Role and RoleBinding that let the gateway read
//!   pods, StatefulSets and Deployments (for `koaljac status`) and nothing else;
//! - ConfigMap `p-ir` holding the IR as `ir.json`;
//! - per batch task a StatefulSet `p-<task>` with a volume claim for the
//!   agent's state; per service task (one with an implicit output) a
//!   Deployment; either way a Service `p-<task>` for the link protocol (and
//!   the declared service port);
//! - the gateway: PersistentVolumeClaim, Deployment and Service `p-gateway`;
//! - NetworkPolicies: deny all ingress to the pipeline's pods, then admit
//!   to each task only its consumers and the gateway on the link port, and
//!   its clients on its service port; the gateway takes ingress from anyone.
//!
//! Each task pod runs the task's own image with the agent injected: an init
//! container copies the static agent from the agent image into an emptyDir,
//! and the task container's command becomes
//! `/koalja/bin/koalja-agent task --ir /etc/koalja/ir.json --task NAME --state /var/lib/koalja`
//! (ARCHITECTURE.md, "The agent contract"). Every pod passes the restricted
//! Pod Security Standard. Objects come out in dependency order, then by name,
//! each serialised with sorted keys: byte-for-byte deterministic.

mod objects;
mod yaml;

use serde_json::Value;

use crate::analysis::Analysis;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, Node};

/// The link protocol's port on every agent.
pub const AGENT_PORT: i32 = 7400;
pub const AGENT_BINARY: &str = "/koalja/bin/koalja-agent";
pub const IR_PATH: &str = "/etc/koalja/ir.json";
pub const STATE_DIR: &str = "/var/lib/koalja";
/// The unprivileged user every container runs as.
pub const RUN_AS_USER: i64 = 65532;

pub fn default_agent_image() -> String {
    format!("koalja/koalja-agent:{}", env!("CARGO_PKG_VERSION"))
}

/// A ConfigMap holds at most 1 MiB of data.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;
/// Below this the IR goes into the ConfigMap as readable JSON; above it,
/// gzip-compressed (about a tenth of the size) under the same key.
pub const INLINE_IR_LIMIT: usize = 512 * 1024;

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub agent_image: String,
    /// The most IR bytes the ConfigMap may hold (a parameter for tests).
    pub max_ir_bytes: usize,
}

impl Default for BuildOptions {
    fn default() -> BuildOptions {
        BuildOptions { agent_image: default_agent_image(), max_ir_bytes: CONFIG_MAP_LIMIT }
    }
}

/// How the IR travels in ConfigMap `p-ir`, key `ir.json`. The agent reads
/// `/etc/koalja/ir.json` either way and recognises gzip by its magic bytes.
pub(crate) enum IrPayload {
    Json(String),
    Gzip(Vec<u8>),
}

fn ir_payload(ir: &Ir) -> IrPayload {
    use std::io::Write;
    let json = serde_json::to_string(ir).unwrap_or_default();
    if json.len() <= INLINE_IR_LIMIT {
        return IrPayload::Json(json);
    }
    // GzBuilder writes no timestamp or file name: the bytes are deterministic.
    let mut encoder = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(json.as_bytes());
    IrPayload::Gzip(encoder.finish().unwrap_or_default())
}

/// The objects of a checked file, in apply order; or the diagnostics that
/// stop a build (the file's errors, or tasks without an image).
pub fn build(analysis: &Analysis, options: &BuildOptions) -> Result<Vec<Value>, Vec<Diagnostic>> {
    if analysis.error_count() > 0 {
        return Err(analysis.diagnostics.iter().filter(|d| d.is_error()).cloned().collect());
    }
    let ir = Ir::from_analysis(analysis);
    let missing: Vec<Diagnostic> = ir
        .graph
        .node_weights()
        .filter_map(|node| match node {
            Node::Task(task) if task.settings.image.is_none() => Some(
                Diagnostic::new(Code::MissingImage, task.span, format!("task `{}` has no image", task.name))
                    .help(format!(
                        "a cluster runs every task in a container: add `image: \"…\"` to `task {}` or to `defaults` (a local run does not need one)",
                        task.name
                    )),
            ),
            _ => None,
        })
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let payload = ir_payload(&ir);
    let size = match &payload {
        IrPayload::Json(json) => json.len(),
        IrPayload::Gzip(bytes) => bytes.len(),
    };
    if size > options.max_ir_bytes {
        let header = analysis.parsed.file.items.iter().find_map(|item| match item {
            crate::syntax::ast::Item::Header(header) => Some(header.span),
            _ => None,
        });
        return Err(vec![Diagnostic::new(
            Code::IrTooLarge,
            header.unwrap_or_default(),
            format!(
                "the pipeline's IR is {size} bytes even compressed, more than its ConfigMap can hold ({} bytes)",
                options.max_ir_bytes
            ),
        )
        .help("split the pipeline into several files (pipelines can feed each other through their gateways)")]);
    }
    Ok(objects::objects(&ir, options, payload))
}

/// One YAML stream, documents separated by `---`.
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        out.push_str(&yaml::document(object));
    }
    out
}

/// A `v1` `List` holding every object.
pub fn to_json(objects: &[Value]) -> String {
    let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": objects });
    let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
    text.push('\n');
    text
}
