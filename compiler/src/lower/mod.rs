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

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub agent_image: String,
}

impl Default for BuildOptions {
    fn default() -> BuildOptions {
        BuildOptions { agent_image: default_agent_image() }
    }
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
            Node::Task(task) if task.image.is_none() => Some(
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
    Ok(objects::objects(&ir, options))
}

/// One YAML stream, documents separated by `---`.
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(object).unwrap_or_default());
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
