//! `koaljac status`: each task's workload readiness from the API server,
//! and each task's runs as the gateway gathers them from the agents
//! (`GET /v1/pipeline/runs`, through the API server's service proxy, so no
//! port has to be opened). The gateway may be down or not yet ready: then
//! status says so and still shows the workloads.

use serde::Deserialize;

use super::data::Gateway;
use super::rollout::{self, Rollout};
use super::{Cluster, ClusterError};

/// A gateway's `koalja.dev/task` label (`gateway`, or a region's
/// `gateway-<region>`): it has no runs. The checker keeps tasks off the
/// names of the pipeline's gateways; a task named `gateway-…` after no
/// region of the pipeline is shown here without its runs (a known limit).
fn is_gateway(task: &str) -> bool {
    task == "gateway" || task.starts_with("gateway-")
}

/// One task's (or the gateway's) workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// The `koalja.dev/task` label: the task's name, or `gateway`.
    pub task: String,
    pub rollout: Rollout,
}

/// What the gateway says of one task's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskRuns {
    pub runs: usize,
    pub failed: usize,
    /// The latest run: its number and status.
    pub last: Option<(u64, String)>,
    /// The latest failed run's number and the end of its standard error.
    pub last_failure: Option<(u64, String)>,
}

#[derive(Debug)]
pub struct Status {
    pub workloads: Vec<Workload>,
    /// Per task, or why the gateway could not be asked.
    pub runs: Result<std::collections::BTreeMap<String, TaskRuns>, String>,
    /// Agents the gateway could not reach.
    pub unreachable: Vec<String>,
}

#[derive(Deserialize)]
struct PipelineRuns {
    runs: Vec<RunSummary>,
    #[serde(default)]
    unreachable: Vec<String>,
}

/// The fields of the agent's run record that status shows.
#[derive(Deserialize)]
struct RunSummary {
    task: String,
    run: u64,
    status: String,
    #[serde(default)]
    stderr_tail: Option<String>,
}

pub async fn status(cluster: &Cluster, namespace: &str, pipeline: &str) -> Result<Status, ClusterError> {
    let mut workloads: Vec<Workload> = rollout::current(cluster, namespace, pipeline)
        .await?
        .into_iter()
        .map(|(task, rollout)| Workload { task, rollout })
        .collect();
    workloads.sort_by(|a, b| a.task.cmp(&b.task));
    let (runs, unreachable) = match gateway_runs(cluster, namespace, pipeline).await {
        Ok(answer) => {
            let mut runs = summarise(answer.runs);
            // A task whose agent the gateway reached and that has no run
            // yet has run 0 times; one it did not reach stays unknown.
            for workload in &workloads {
                if !is_gateway(&workload.task) && !answer.unreachable.contains(&workload.task) {
                    runs.entry(workload.task.clone()).or_default();
                }
            }
            (Ok(runs), answer.unreachable)
        }
        Err(why) => (Err(why), Vec::new()),
    };
    Ok(Status { workloads, runs, unreachable })
}

/// How long `status` waits for the gateway's list of runs.
const GATEWAY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

async fn gateway_runs(cluster: &Cluster, namespace: &str, pipeline: &str) -> Result<PipelineRuns, String> {
    let gateway = Gateway::connect(cluster, namespace, pipeline).await.map_err(|e| e.to_string())?;
    let request = gateway.request(http::Method::GET, "pipeline/runs").body(Vec::new()).map_err(|e| e.to_string())?;
    // A gateway that accepts the connection but never answers must not
    // hang `status`: its readiness is already known.
    let answer = tokio::time::timeout(GATEWAY_TIMEOUT, cluster.once.request_text(request)).await;
    let text = match answer {
        Err(_) => return Err(format!("the gateway did not answer within {}s", GATEWAY_TIMEOUT.as_secs())),
        // The API server's own words, without kube's Debug dump of them.
        Ok(Err(kube::Error::Api(status))) => {
            return Err(format!("the gateway did not answer ({} {}): {}", status.code, status.reason, status.message))
        }
        Ok(Err(e)) => return Err(format!("the gateway did not answer: {e}")),
        Ok(Ok(text)) => text,
    };
    serde_json::from_str(&text).map_err(|e| format!("the gateway's answer is not a list of runs: {e}"))
}

fn summarise(runs: Vec<RunSummary>) -> std::collections::BTreeMap<String, TaskRuns> {
    let mut by_task: std::collections::BTreeMap<String, TaskRuns> = Default::default();
    for run in runs {
        let entry = by_task.entry(run.task).or_default();
        entry.runs += 1;
        let failed = run.status.eq_ignore_ascii_case("failed");
        if entry.last.as_ref().is_none_or(|(number, _)| run.run >= *number) {
            entry.last = Some((run.run, run.status));
        }
        if failed {
            entry.failed += 1;
            if entry.last_failure.as_ref().is_none_or(|(number, _)| run.run >= *number) {
                entry.last_failure = Some((run.run, run.stderr_tail.unwrap_or_default()));
            }
        }
    }
    by_task
}
