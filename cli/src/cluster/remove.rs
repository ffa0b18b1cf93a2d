//! `koaljac delete`: every object of a pipeline, found by its labels, in
//! reverse apply order (workloads before what they use), then the link
//! token's Secret. Claims hold the agents' state and the gateway's files:
//! they stay unless `delete_data`.

use std::time::Duration;

use super::apply::{self, Action, Failure, Step};
use super::{kinds, Cluster};

/// Deletes the objects of pipeline `pipeline` (its Kubernetes name) in
/// `namespace`; `on_step` hears of each as it goes.
pub async fn delete(
    cluster: &Cluster,
    namespace: &str,
    pipeline: &str,
    delete_data: bool,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>, Failure> {
    let mut done = Vec::new();
    for resource in kinds::all().iter().rev() {
        let names = match apply::list(cluster, namespace, resource, pipeline).await {
            Ok(names) => names,
            Err(error) => return Err(Failure { error, done, not_applied: Vec::new(), refused: None }),
        };
        let keep = kinds::holds_data(resource) && !delete_data;
        let names: Vec<String> = names.iter().map(apply::name_of).collect();
        for (index, name) in names.iter().enumerate() {
            if !keep {
                if let Err(error) = apply::delete(cluster, namespace, resource, name, false).await {
                    let not_applied = names[index..].iter().map(|n| format!("{} {n}", resource.kind)).collect();
                    return Err(Failure { error, done, not_applied, refused: None });
                }
            }
            let action = if keep { Action::KeepData } else { Action::Delete };
            let step = Step { kind: resource.kind.clone(), name: name.clone(), action, changes: Vec::new() };
            on_step(&step);
            done.push(step);
        }
    }
    // The link token last: no pod is left to read it.
    match super::token::delete(cluster, namespace, pipeline).await {
        Ok(Some(step)) => {
            on_step(&step);
            done.push(step);
        }
        Ok(None) => {}
        Err(error) => return Err(Failure { error, done, not_applied: Vec::new(), refused: None }),
    }
    Ok(done)
}

/// Polls until none of the pipeline's objects (but kept claims) is left,
/// or `timeout` passes; the names still there when it gave up.
pub async fn wait_gone(
    cluster: &Cluster,
    namespace: &str,
    pipeline: &str,
    delete_data: bool,
    timeout: Duration,
    interval: Duration,
) -> Result<Vec<String>, super::ClusterError> {
    let started = tokio::time::Instant::now();
    loop {
        let mut left = Vec::new();
        for resource in kinds::all().iter().filter(|r| delete_data || !kinds::holds_data(r)) {
            for object in apply::list(cluster, namespace, resource, pipeline).await? {
                left.push(format!("{} {}", resource.kind, apply::name_of(&object)));
            }
        }
        if left.is_empty() || started.elapsed() >= timeout {
            return Ok(left);
        }
        tokio::time::sleep(interval).await;
    }
}
