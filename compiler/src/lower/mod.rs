//! Lowering: the IR to plain Kubernetes objects (typed with k8s-openapi), so
//! no operator has to run in the cluster. `koaljac build` prints them;
//! `koaljac deploy` (the `koaljac` crate's `cluster`) applies them. The objects, for
//! pipeline `ns/p`:
//!
//! - ServiceAccounts `p-task` (no API access, no token mounted) and
//!   `p-gateway`, with a Role and RoleBinding that let the gateway read
//!   pods, StatefulSets and Deployments (for `koaljac status`) and nothing else;
//! - ConfigMap `p-ir` holding the IR as `ir.json` (a very large IR is
//!   gzipped and split over `p-ir`, `p-ir-1`, … as `ir.json`, `ir.json.1`, …);
//! - per batch task a StatefulSet `p-<task>` with a volume claim for the
//!   agent's state; per service task (one with an implicit output) a
//!   Deployment; either way a Service `p-<task>` for the link protocol (and
//!   the declared service port);
//! - the gateway: PersistentVolumeClaim, Deployment and Service `p-gateway`;
//! - no Secret: every pod mounts Secret `p-token` (key `token`, the link
//!   credential every agent request carries), which `koaljac deploy`
//!   creates once with a random token, so a build holds no secret and stays
//!   deterministic;
//! - NetworkPolicies: deny all ingress to the pipeline's pods, then admit
//!   to each task only its consumers and the gateway on the link port, and
//!   its clients on its service port; the gateway takes ingress from anyone.
//!
//! Each task pod runs the task's own image with the agent injected: an init
//! container copies the static agent from the agent image into an emptyDir,
//! and the task container's command becomes
//! `/koalja/bin/koalja-agent task --ir /etc/koalja/ir.json --task NAME --state /var/lib/koalja
//! --token-file /var/run/secrets/koalja/token`
//! (ARCHITECTURE.md, "The agent contract"). Each pod template carries a
//! digest of the part of the IR its agent reads (`restarts`), so a deploy
//! restarts exactly the pods whose pipeline changed. Every pod passes the restricted
//! Pod Security Standard. Objects come out in dependency order, then by name,
//! each with its fields in k8s-openapi's order (`apiVersion`, `kind`,
//! `metadata`, `spec`, the rest alphabetical) and its maps sorted:
//! byte-for-byte deterministic.

pub mod json;
mod manifests;
mod objects;
mod restarts;
mod yaml;

pub use manifests::Manifests;
pub use objects::{COMPONENT, MANAGED_BY, PART_OF, TASK};
pub use restarts::IR_VIEW;

/// The labels every object of pipeline `pipeline` (its Kubernetes name)
/// carries, whether a build emits it or `koaljac deploy` makes it.
pub fn pipeline_labels(pipeline: &str) -> std::collections::BTreeMap<String, String> {
    [(PART_OF, pipeline), (MANAGED_BY, "koaljac")]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

/// The label selector of every object the builds of pipeline `pipeline`
/// (its Kubernetes name) emit, and of nothing else: `pipeline_labels`.
pub fn pipeline_selector(pipeline: &str) -> String {
    pipeline_labels(pipeline).iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(",")
}

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::analysis::Analysis;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, Node};

/// The link protocol's port on every agent.
pub const AGENT_PORT: i32 = 7400;
pub const AGENT_BINARY: &str = "/koalja/bin/koalja-agent";
pub const IR_PATH: &str = "/etc/koalja/ir.json";
pub const STATE_DIR: &str = "/var/lib/koalja";
/// Where every agent reads the pipeline's link token (`--token-file`): key
/// `TOKEN_KEY` of the Secret mounted at `TOKEN_DIR`.
pub const TOKEN_FILE: &str = "/var/run/secrets/koalja/token";
pub const TOKEN_DIR: &str = "/var/run/secrets/koalja";
/// The key of the token in the Secret `token_secret` names.
pub const TOKEN_KEY: &str = "token";

/// The Secret holding pipeline `pipeline`'s link token (by its Kubernetes
/// name): created by `koaljac deploy`, never by a build.
pub fn token_secret(pipeline: &str) -> String {
    format!("{pipeline}-token")
}
/// The unprivileged user every container runs as.
pub const RUN_AS_USER: i64 = 65532;

pub fn default_agent_image() -> String {
    format!("koalja/koalja-agent:{}", env!("CARGO_PKG_VERSION"))
}

/// A ConfigMap holds at most 1 MiB of data; a part of the IR leaves room
/// for the key and the object around it.
pub const CONFIG_MAP_LIMIT: usize = 1000 * 1000;
/// Below this the IR goes into the ConfigMap as readable JSON; above it,
/// gzip-compressed (about a seventh of the size) under the same key.
pub const INLINE_IR_LIMIT: usize = 512 * 1024;
/// The most ConfigMaps one IR is split over (each pod mounts them all).
pub const MAX_IR_PARTS: usize = 16;

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub agent_image: String,
    /// The most IR bytes one ConfigMap may hold (a parameter for tests).
    pub max_ir_bytes: usize,
    /// Put every object into this namespace instead of the header's
    /// (`koaljac deploy --namespace`). Agents find each other by Service
    /// name within their namespace, so nothing else changes.
    pub namespace: Option<String>,
}

impl Default for BuildOptions {
    fn default() -> BuildOptions {
        BuildOptions { agent_image: default_agent_image(), max_ir_bytes: CONFIG_MAP_LIMIT, namespace: None }
    }
}

/// How the IR travels: readable JSON in ConfigMap `p-ir`, key `ir.json`; or
/// gzipped and cut into parts, the first there and part `k` in ConfigMap
/// `p-ir-k`, key `ir.json.k`. The agent reads `/etc/koalja/ir.json`, appends
/// `ir.json.1`, `ir.json.2`, … while they exist, and recognises gzip by its
/// magic bytes (ARCHITECTURE.md, "The agent contract").
pub(crate) enum IrPayload {
    Json(String),
    Gzip(Vec<Vec<u8>>),
}

impl IrPayload {
    fn parts(&self) -> usize {
        match self {
            IrPayload::Json(_) => 1,
            IrPayload::Gzip(parts) => parts.len(),
        }
    }
}

fn ir_payload(ir: &Ir, part_size: usize) -> IrPayload {
    use std::io::Write;
    let json = serde_json::to_string(ir).unwrap_or_default();
    if json.len() <= INLINE_IR_LIMIT.min(part_size) {
        return IrPayload::Json(json);
    }
    // GzBuilder writes no timestamp or file name: the bytes are deterministic.
    // The fastest level: 7x smaller for an eighth of the default level's time.
    let mut encoder = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::fast());
    let _ = encoder.write_all(json.as_bytes());
    let compressed = encoder.finish().unwrap_or_default();
    IrPayload::Gzip(compressed.chunks(part_size.max(1)).map(<[u8]>::to_vec).collect())
}

macro_rules! kinds_in_apply_order {
    ($($kind:ident),* $(,)?) => {
        /// One Kubernetes object of a build, typed. The variants are in
        /// apply order: what others refer to comes first. Boxed: a
        /// StatefulSet is kilobytes, and builds sort thousands of objects.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Object {
            $($kind(Box<$kind>),)*
        }

        impl Object {
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Object::$kind(_) => <$kind as k8s_openapi::Resource>::KIND,)*
                }
            }

            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(Object::$kind(object) => &object.metadata,)*
                }
            }

            /// Its place in apply order.
            fn apply_order(&self) -> usize {
                apply_order_of(self.kind())
            }
        }

        /// The place of objects of `kind` in apply order.
        fn apply_order_of(kind: &str) -> usize {
            [$(stringify!($kind)),*].iter().position(|known| *known == kind).unwrap_or(usize::MAX)
        }

        impl Serialize for Object {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Object::$kind(object) => object.serialize(serializer),)*
                }
            }
        }

        $(impl From<$kind> for Object {
            fn from(object: $kind) -> Object {
                Object::$kind(Box::new(object))
            }
        })*
    };
}

kinds_in_apply_order!(
    ServiceAccount,
    Role,
    RoleBinding,
    ConfigMap,
    PersistentVolumeClaim,
    Service,
    NetworkPolicy,
    StatefulSet,
    Deployment,
);

impl Object {
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}

/// The objects of a checked file, in apply order; or the diagnostics that
/// stop a build (the file's errors, or tasks without an image).
pub fn build(analysis: &Analysis, options: &BuildOptions) -> Result<Manifests, Vec<Diagnostic>> {
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
    let payload = ir_payload(&ir, options.max_ir_bytes);
    if payload.parts() > MAX_IR_PARTS {
        let header = analysis.parsed.file.items.iter().find_map(|item| match item {
            crate::syntax::ast::Item::Header(header) => Some(header.span),
            _ => None,
        });
        return Err(vec![Diagnostic::new(
            Code::IrTooLarge,
            header.unwrap_or_default(),
            format!(
                "the pipeline's IR needs {} ConfigMaps of {} bytes even compressed, more than the {MAX_IR_PARTS} a pod mounts",
                payload.parts(),
                options.max_ir_bytes
            ),
        )
        .help("split the pipeline into several files (pipelines can feed each other through their gateways)")]);
    }
    let context = objects::Context::new(ir, options.clone(), payload.parts());
    let pipeline_objects = objects::pipeline_objects(&context, payload);
    Ok(Manifests::new(context, pipeline_objects))
}
