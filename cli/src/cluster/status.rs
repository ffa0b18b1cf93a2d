//! `koaljac status`: each task's workload readiness from the API server,
//! and each task's runs as the gateway gathers them from the agents
//! (`GET /v1/pipeline/runs`, through the API server's service proxy, so no
//! port has to be opened). The gateway may be down or not yet ready: then
//! status says so and still shows the workloads. The pods' restarts, last
//! exit and crash loops come from the kubelet's reports, as `kubectl get
//! pods` shows them.

use serde::Deserialize;

use super::data::Gateway;
use super::rollout::{self, Rollout};
use super::{apply, Cluster, ClusterError};

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
    /// What its pods show that the rollout does not.
    pub pods: PodTrouble,
}

/// A task's pods' restarts and why they do not run, as the kubelet reports
/// them (what `kubectl get pods` shows in RESTARTS and STATUS).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodTrouble {
    /// Container restarts, over every pod of the task.
    pub restarts: u64,
    /// The most recent container exit.
    pub last_exit: Option<LastExit>,
    /// Why a container waits, where that is trouble (`CrashLoopBackOff`,
    /// `ImagePullBackOff`, …): not the moments of a normal start.
    pub waiting: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastExit {
    pub code: i64,
    /// The runtime's word for it (`Error`, `OOMKilled`, …).
    pub reason: String,
    /// The line that says why: the agent's last error, from the container's
    /// termination message (the end of its log, as its manifest asks for).
    pub why: Option<String>,
}

/// The line of a termination message that says why: the last line that is
/// the agent's error (a JSON log line of level ERROR: its message) or no
/// JSON log line at all (a program's plain words); the agent's other log
/// lines say nothing of why it ended.
fn why_from(message: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Line {
        level: String,
        fields: Fields,
    }
    #[derive(Deserialize)]
    struct Fields {
        message: String,
    }
    message.lines().map(str::trim).filter(|line| !line.is_empty()).rev().find_map(|line| {
        match serde_json::from_str::<Line>(line) {
            Ok(logged) => (logged.level == "ERROR").then_some(logged.fields.message),
            Err(_) => Some(line.to_owned()),
        }
    })
}

impl PodTrouble {
    pub fn is_trouble(&self) -> bool {
        self.restarts > 0 || self.waiting.is_some()
    }
}

/// The parts of a pod's status that `PodTrouble` reads.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PodStatus {
    container_statuses: Vec<ContainerStatus>,
    init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ContainerStatus {
    restart_count: u64,
    state: ContainerState,
    last_state: ContainerState,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContainerState {
    waiting: Option<Waiting>,
    terminated: Option<Terminated>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Waiting {
    reason: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Terminated {
    exit_code: i64,
    reason: String,
    message: String,
    finished_at: String,
}

/// Per task, the trouble its pods show: one list of the pipeline's pods.
async fn pod_trouble(
    cluster: &Cluster,
    namespace: &str,
    pipeline: &str,
) -> Result<std::collections::BTreeMap<String, PodTrouble>, ClusterError> {
    let pods = kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&());
    let mut by_task: std::collections::BTreeMap<String, (PodTrouble, String)> = Default::default();
    for pod in apply::list(cluster, namespace, &pods, pipeline).await? {
        let Some(task) = apply::task_of(&pod) else { continue };
        let status: PodStatus =
            pod.data.get("status").cloned().and_then(|s| serde_json::from_value(s).ok()).unwrap_or_default();
        let (trouble, last_at) = by_task.entry(task.to_owned()).or_default();
        for container in status.init_container_statuses.iter().chain(&status.container_statuses) {
            trouble.restarts += container.restart_count;
            if let Some(exit) = &container.last_state.terminated {
                // RFC 3339 times of one clock compare as text.
                if exit.finished_at >= *last_at {
                    *last_at = exit.finished_at.clone();
                    trouble.last_exit = Some(LastExit {
                        code: exit.exit_code,
                        reason: exit.reason.clone(),
                        why: why_from(&exit.message),
                    });
                }
            }
            if let Some(waiting) = &container.state.waiting {
                if !matches!(waiting.reason.as_str(), "" | "ContainerCreating" | "PodInitializing") {
                    trouble.waiting = Some(waiting.reason.clone());
                }
            }
        }
    }
    Ok(by_task.into_iter().map(|(task, (trouble, _))| (task, trouble)).collect())
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
    let mut trouble = pod_trouble(cluster, namespace, pipeline).await?;
    let mut workloads: Vec<Workload> = rollout::current(cluster, namespace, pipeline)
        .await?
        .into_iter()
        .map(|(task, rollout)| Workload { pods: trouble.remove(&task).unwrap_or_default(), task, rollout })
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

#[cfg(test)]
mod tests {
    use super::why_from;

    #[test]
    fn the_why_of_an_exit_is_the_agents_last_error_or_the_last_line() {
        let agent = concat!(
            r#"{"level":"INFO","fields":{"message":"serving"}}"#,
            "\n",
            r#"{"level":"ERROR","fields":{"message":"cannot create the state directory"}}"#,
            "\n",
            r#"{"level":"INFO","fields":{"message":"bye"}}"#,
            "\n"
        );
        assert_eq!(why_from(agent).as_deref(), Some("cannot create the state directory"));
        assert_eq!(why_from("starting\npanic: boom\n\n").as_deref(), Some("panic: boom"));
        assert_eq!(why_from(r#"{"level":"INFO","fields":{"message":"serving"}}"#), None, "killed while serving");
        assert_eq!(why_from(""), None);
    }
}
