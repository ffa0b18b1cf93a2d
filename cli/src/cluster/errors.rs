//! kube's errors as a user can act on them: which cluster, which object,
//! what the server refused and why. Every one of them exits 2.

use kube::core::{ApiResource, Status};

/// A failure talking to the cluster.
#[derive(Debug)]
pub enum ClusterError {
    /// No kube config, or one that does not load.
    Config(String),
    /// The API server did not answer (DNS, TCP, TLS).
    Unreachable { cluster: String, cause: String },
    /// The credentials were refused (401).
    Unauthorized { cluster: String, message: String },
    /// The credentials may not do this (403).
    /// `verb` is the one the authorizer refused, which for a server-side
    /// apply that creates the object is `create`, not `patch`.
    Forbidden { cluster: String, verb: String, resource: String, namespace: String, message: String },
    /// The pipeline's namespace does not exist.
    NamespaceMissing { cluster: String, namespace: String },
    /// Another field manager owns fields this apply would change (409).
    Conflict { object: String, conflicts: Vec<FieldConflict> },
    /// Anything else the server refused.
    Refused { verb: &'static str, object: String, code: u16, message: String },
    /// A change the server refuses on a live object (`immutable`), found
    /// before anything was written: what would change, and what to do.
    Immutable { object: String, what: String, remedy: String },
}

/// One field another manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    pub field: String,
    pub manager: String,
}

/// What was being tried when a request failed, for the message.
pub struct Attempt<'a> {
    pub cluster: &'a str,
    /// The RBAC verb: `get`, `patch`, `list`, `delete`.
    pub verb: &'static str,
    /// The resource's plural, as RBAC names it.
    pub resource: &'a str,
    pub namespace: &'a str,
    /// `Kind namespace/name`, or `plural in namespace` for a list.
    pub object: String,
}

impl<'a> Attempt<'a> {
    /// `verb` on one object.
    pub fn on(cluster: &'a str, verb: &'static str, resource: &'a ApiResource, namespace: &'a str, name: &str) -> Self {
        let object = super::kinds::describe(&resource.kind, namespace, name);
        Attempt { cluster, verb, resource: &resource.plural, namespace, object }
    }

    /// Listing the objects of one kind.
    pub fn list(cluster: &'a str, resource: &'a ApiResource, namespace: &'a str) -> Self {
        let object = format!("{} in {namespace}", resource.plural);
        Attempt { cluster, verb: "list", resource: &resource.plural, namespace, object }
    }

    /// Classifies `error`, the failure of this attempt.
    pub fn failed(&self, error: kube::Error) -> ClusterError {
        let cluster = self.cluster.to_owned();
        match error {
            kube::Error::Api(status) => self.refused(*status),
            kube::Error::HyperError(e) => ClusterError::Unreachable { cluster, cause: chain(&e) },
            kube::Error::Service(e) => ClusterError::Unreachable { cluster, cause: chain(e.as_ref()) },
            other => {
                ClusterError::Refused { verb: self.verb, object: self.object.clone(), code: 0, message: chain(&other) }
            }
        }
    }

    fn refused(&self, status: Status) -> ClusterError {
        let not_found_kind = status.details.as_ref().map(|d| d.kind.as_str()).unwrap_or_default();
        let (cluster, verb, object) = (self.cluster.to_owned(), self.verb, self.object.clone());
        match status.code {
            401 => ClusterError::Unauthorized { cluster, message: status.message },
            // RBAC's refusal says who "cannot" do what; every other 403 is
            // admission refusing the object itself (a quota, PodSecurity, a
            // policy), which no permission would change.
            403 if status.message.contains(" cannot ") => ClusterError::Forbidden {
                cluster,
                verb: refused_verb(&status.message).unwrap_or(verb).to_owned(),
                resource: self.resource.to_owned(),
                namespace: self.namespace.to_owned(),
                message: status.message,
            },
            404 if not_found_kind == "namespaces" => {
                ClusterError::NamespaceMissing { cluster, namespace: self.namespace.to_owned() }
            }
            409 => {
                let conflicts = conflicts(&status);
                if conflicts.is_empty() {
                    ClusterError::Refused { verb, object, code: 409, message: status.message }
                } else {
                    ClusterError::Conflict { object, conflicts }
                }
            }
            code => ClusterError::Refused { verb, object, code, message: status.message },
        }
    }
}

impl ClusterError {
    /// The exit status of a command that failed this way.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// The verb in RBAC's refusal, `User "u" cannot create resource "x" …`.
fn refused_verb(message: &str) -> Option<&str> {
    let after = message.split_once(" cannot ")?.1;
    after.split_whitespace().next().filter(|verb| verb.chars().all(|c| c.is_ascii_lowercase()))
}

/// The fields and managers of a server-side apply conflict. The server names
/// them in `details.causes`: reason `FieldManagerConflict`, the field, and
/// the message `conflict with "MANAGER"` (with ` using GROUP/VERSION`, or
/// ` with subresource …`, after it).
fn conflicts(status: &Status) -> Vec<FieldConflict> {
    let Some(details) = &status.details else { return Vec::new() };
    details
        .causes
        .iter()
        .filter(|cause| cause.reason == "FieldManagerConflict")
        .map(|cause| FieldConflict {
            field: cause.field.clone(),
            manager: cause.message.split('"').nth(1).unwrap_or(&cause.message).to_owned(),
        })
        .collect()
}

/// An error and its causes, on one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterError::Config(message) => write!(f, "no usable kube config: {message}"),
            ClusterError::Unreachable { cluster, cause } => write!(f, "cluster {cluster} is unreachable: {cause}"),
            ClusterError::Unauthorized { cluster, message } => {
                write!(f, "cluster {cluster} refused the credentials (401 Unauthorized): {message}")
            }
            ClusterError::Forbidden { cluster, verb, resource, namespace, message } => write!(
                f,
                "forbidden: on cluster {cluster} the credentials may not {verb} {resource} in namespace {namespace} (403): {message}"
            ),
            ClusterError::NamespaceMissing { cluster, namespace } => {
                write!(f, "namespace {namespace} does not exist on cluster {cluster}; create it first (kubectl create namespace {namespace})")
            }
            ClusterError::Conflict { object, conflicts } => {
                write!(f, "{object}: fields owned by another field manager would change")?;
                for conflict in conflicts {
                    write!(f, "\n  {} is owned by {}", conflict.field, conflict.manager)?;
                }
                write!(f, "\n  (deploy with --force-conflicts to take them over)")
            }
            ClusterError::Immutable { object, what, remedy } => write!(
                f,
                "{object}: {what} cannot change once it exists, so nothing was applied\n  ({remedy})"
            ),
            ClusterError::Refused { verb, object, code: 0, message } => write!(f, "cannot {verb} {object}: {message}"),
            ClusterError::Refused { verb, object, code, message } => {
                write!(f, "cannot {verb} {object} ({code}): {message}")
            }
        }
    }
}

impl std::error::Error for ClusterError {}
