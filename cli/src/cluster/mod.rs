//! Talking to a cluster: `koaljac deploy`, `diff`, `delete` and `status`.
//!
//! Everything here works on the objects `lower::build` emits and nothing
//! else: objects are server-side applied with field manager `koaljac`, in
//! the build's apply order, and found again by their labels
//! (`lower::pipeline_selector`): `app.kubernetes.io/part-of` the pipeline
//! and `app.kubernetes.io/managed-by: koaljac`. Objects without both labels
//! are never pruned or deleted, whatever their name.
//!
//! - `kinds`: the API resource of every kind a build emits;
//! - `errors`: kube's errors turned into what a user can act on;
//! - `compare`: live objects against what an apply would make of them;
//! - `noop`: whether an apply would change nothing, so it need not be sent;
//! - `immutable`: changes the server refuses on live objects, found first;
//! - `apply`: deploy (apply, prune, the plan of a dry run) and diff;
//! - `rollout`: waiting for workloads to be ready;
//! - `remove`: delete;
//! - `status`: readiness of the workloads and the gateway's view of runs;
//! - `data`: files into a pipeline's inputs through its gateway (`drop`);
//! - `token`: the pipeline's link credential, a Secret no build holds.
//!
//! Applies go in apply order, a few objects of one kind at a time, and a
//! failed deploy says exactly which objects were applied. The API server is
//! mocked in `tests/deploy.rs`.

pub mod apply;
pub mod compare;
pub mod data;
pub mod errors;
pub mod immutable;
pub mod kinds;
pub mod noop;
pub mod remove;
pub mod rollout;
pub mod status;
pub mod token;

pub use errors::ClusterError;

/// Where a command talks to: a client and the cluster's name for messages.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    /// The same cluster without kube's retries of 429, 503 and 504 (up to
    /// 15, backing off to minutes), for the gateway through the service
    /// proxy: there a 503 ("no endpoints available") is an answer.
    pub once: kube::Client,
    /// The kube config context's cluster, or the server URL.
    pub name: String,
}

impl Cluster {
    /// The cluster of the kube config found the usual way (`kubeconfig` if
    /// given, else `KUBECONFIG`, else `~/.kube/config`, else the in-cluster
    /// service account), with context `context` or the current one.
    pub async fn connect(kubeconfig: Option<&std::path::Path>, context: Option<&str>) -> Result<Cluster, ClusterError> {
        use kube::config::{Config, KubeConfigOptions, Kubeconfig};
        let options = KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
        let config = match kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path)
                    .map_err(|e| ClusterError::Config(format!("cannot read {}: {e}", path.display())))?;
                Config::from_custom_kubeconfig(file, &options).await.map_err(|e| ClusterError::Config(e.to_string()))?
            }
            None if context.is_some() => {
                Config::from_kubeconfig(&options).await.map_err(|e| ClusterError::Config(e.to_string()))?
            }
            None => Config::infer().await.map_err(|e| ClusterError::Config(e.to_string()))?,
        };
        let name = config.cluster_url.to_string();
        // kube sends no User-Agent of its own; the API server's audit log
        // and its metrics then name the client (as kubectl/… does).
        let mut config = config;
        if let Ok(agent) = http::HeaderValue::from_str(concat!("koaljac/", env!("CARGO_PKG_VERSION"))) {
            config.headers.push((http::header::USER_AGENT, agent));
        }
        let mut without_retries = config.clone();
        without_retries.default_retry = false;
        let client = kube::Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))?;
        let once = kube::Client::try_from(without_retries).map_err(|e| ClusterError::Config(e.to_string()))?;
        Ok(Cluster { client, once, name })
    }
}
