//! Waiting for a deploy's workloads to be ready: every StatefulSet and
//! Deployment has seen its latest spec (`observedGeneration`) and runs that
//! many updated, ready replicas. Polled by listing, because a watch per
//! workload costs a connection each and a deploy has thousands.

use std::time::Duration;

use std::collections::HashMap;

use kube::api::DynamicObject;
use serde_json::Value;

use super::{apply, kinds, Cluster, ClusterError};

/// One workload's rollout as last seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub kind: String,
    pub name: String,
    pub desired: i64,
    pub ready: i64,
    pub updated: i64,
    /// The controller has seen the latest spec.
    pub observed: bool,
}

impl Rollout {
    pub fn is_done(&self) -> bool {
        self.observed && self.ready >= self.desired && self.updated >= self.desired
    }

    /// Reads the rollout from a live StatefulSet or Deployment.
    pub fn of(kind: &str, object: &DynamicObject) -> Rollout {
        let field =
            |path: &[&str]| path.iter().try_fold(&object.data, |value, key| value.get(key)).and_then(Value::as_i64);
        let generation = object.metadata.generation.unwrap_or(0);
        Rollout {
            kind: kind.to_owned(),
            name: object.metadata.name.clone().unwrap_or_default(),
            // Both kinds default to one replica.
            desired: field(&["spec", "replicas"]).unwrap_or(1),
            ready: field(&["status", "readyReplicas"]).unwrap_or(0),
            updated: field(&["status", "updatedReplicas"]).unwrap_or(0),
            observed: field(&["status", "observedGeneration"]).unwrap_or(-1) >= generation,
        }
    }
}

/// The pipeline's workloads as they are now: each one's task (its
/// `koalja.dev/task` label, `gateway` for the gateway) and rollout. One
/// list request per workload kind.
pub async fn current(
    cluster: &Cluster,
    namespace: &str,
    pipeline: &str,
) -> Result<Vec<(String, Rollout)>, ClusterError> {
    let mut found = Vec::new();
    for resource in kinds::all().iter().filter(|r| kinds::is_workload(&r.kind)) {
        for object in apply::list(cluster, namespace, resource, pipeline).await? {
            let task = apply::task_of(&object).unwrap_or_default().to_owned();
            found.push((task, Rollout::of(&resource.kind, &object)));
        }
    }
    Ok(found)
}

#[derive(Debug)]
pub enum RolloutError {
    /// Not all ready in time; the last state of every workload not done.
    TimedOut {
        waited: Duration,
        not_ready: Vec<Rollout>,
    },
    Cluster(ClusterError),
}

/// Polls the workloads `(kind, name)` of pipeline `pipeline` every
/// `interval` until all are done or `timeout` has passed; `on_progress`
/// sees every workload each round. A round lists each workload kind once
/// by the pipeline's labels, so its cost does not grow with the pipeline's
/// size in requests.
pub async fn wait(
    cluster: &Cluster,
    namespace: &str,
    pipeline: &str,
    workloads: &[(String, String)],
    timeout: Duration,
    interval: Duration,
    on_progress: &mut dyn FnMut(&[Rollout]),
) -> Result<Vec<Rollout>, RolloutError> {
    let started = tokio::time::Instant::now();
    loop {
        let mut live: HashMap<(String, String), Rollout> = current(cluster, namespace, pipeline)
            .await
            .map_err(RolloutError::Cluster)?
            .into_iter()
            .map(|(_, rollout)| ((rollout.kind.clone(), rollout.name.clone()), rollout))
            .collect();
        // A workload that is not there (deleted meanwhile) is not ready.
        let seen: Vec<Rollout> = workloads
            .iter()
            .map(|(kind, name)| {
                live.remove(&(kind.clone(), name.clone())).unwrap_or_else(|| Rollout {
                    kind: kind.clone(),
                    name: name.clone(),
                    desired: 1,
                    ready: 0,
                    updated: 0,
                    observed: false,
                })
            })
            .collect();
        on_progress(&seen);
        if seen.iter().all(Rollout::is_done) {
            return Ok(seen);
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(RolloutError::TimedOut {
                waited,
                not_ready: seen.into_iter().filter(|r| !r.is_done()).collect(),
            });
        }
        tokio::time::sleep(interval.min(timeout - waited)).await;
    }
}
