//! `deploy`, `diff`, `delete` and `status` against a mock API server
//! (`support/mock_api.rs`): the requests sent, in order, and what each
//! command makes of the answers, for a first deploy, an unchanged
//! re-deploy, a removed task, a conflict, forbidden, unreachable and
//! unauthorised clusters, a missing namespace, a rollout that times out,
//! delete with and without data, dry runs and diffs. Every body sent passes
//! `kubernetes-validate --strict`. The `koaljac` binary itself is run
//! against the same mock served over HTTP (`the_cli_*`). The same commands
//! against a real control plane: `real_cluster.rs`. The mock stays for the
//! faults a real server cannot be made to show at an exact request.

#[path = "support/mock_api.rs"]
mod mock_api;
#[path = "../../compiler/tests/support/validator.rs"]
mod validator;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use koalja_compiler::analysis::analyze_text;
use koalja_compiler::lower::{build, BuildOptions, Manifests};
use koaljac::cluster::apply::{self, deploy, Action, ApplyOptions, Failure, Step};
use koaljac::cluster::rollout::{self, RolloutError};
use koaljac::cluster::{remove, status, Cluster, ClusterError};
use mock_api::{Scenario, State};
use serde_json::{json, Value};

const PIPELINE: &str = r#"[demo/lines]
(in)        uniq  (stripped)
(stripped)  count (out)
defaults { image: "alpine:3.20" }
task uniq  { shell: "sort {in} | uniq > {stripped}" }
task count { shell: "wc -l < {stripped} > {out}" }
"#;

/// The test pipeline without its `count` task.
fn without_count() -> String {
    PIPELINE
        .replace("(stripped)  count (out)\n", "")
        .replace("task count { shell: \"wc -l < {stripped} > {out}\" }\n", "")
}

fn manifests(text: &str) -> Manifests {
    build(&analyze_text(text, "p"), &BuildOptions::default()).expect("the test pipeline builds")
}

fn cluster_with(scenario: Scenario) -> (Cluster, Arc<Mutex<State>>) {
    let (client, state) = mock_api::start(scenario);
    (Cluster { once: client.clone(), client, name: "https://mock.test:6443".to_owned() }, state)
}

async fn run(cluster: &Cluster, text: &str, options: ApplyOptions) -> Result<Vec<Step>, Failure> {
    let mut heard = Vec::new();
    let result = deploy(cluster, &manifests(text), options, &mut |step| heard.push(step.clone())).await;
    if let Ok(steps) = &result {
        assert_eq!(&heard, steps, "on_step hears of every step");
    }
    result
}

fn lines(state: &Arc<Mutex<State>>) -> Vec<String> {
    state.lock().unwrap().requests.iter().map(mock_api::Recorded::line).collect()
}

fn actions(steps: &[Step]) -> Vec<(String, String, Action)> {
    steps.iter().map(|s| (s.kind.clone(), s.name.clone(), s.action)).collect()
}

fn clear_requests(state: &Arc<Mutex<State>>) {
    state.lock().unwrap().requests.clear();
}

#[tokio::test]
async fn a_first_deploy_applies_every_object_in_apply_order_then_looks_for_leftovers() {
    let (cluster, state) = cluster_with(Scenario::EmptyNamespace);
    let steps = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    // The link token first, made (it is in no build), then every object.
    let (token, steps) = steps.split_first().unwrap();
    assert_eq!((token.kind.as_str(), token.name.as_str(), token.action), ("Secret", "lines-token", Action::Create));
    let built = manifests(PIPELINE).objects();
    assert_eq!(steps.len(), built.len());
    assert!(steps.iter().all(|s| s.action == Action::Create), "{steps:?}");
    let order: Vec<(String, String)> = steps.iter().map(|s| (s.kind.clone(), s.name.clone())).collect();
    let expected: Vec<(String, String)> = built.iter().map(|o| (o.kind().to_owned(), o.name().to_owned())).collect();
    assert_eq!(order, expected);

    let sent = state.lock().unwrap().requests.clone();
    assert_eq!(sent[0].line(), "GET /api/v1/namespaces/demo");
    let patches: Vec<&mock_api::Recorded> = sent.iter().filter(|r| r.method == Method::PATCH).collect();
    assert_eq!(patches.len(), built.len());
    let mut patched: Vec<(String, String)> = Vec::new();
    for patch in &patches {
        assert_eq!(patch.query.get("fieldManager").map(String::as_str), Some("koaljac"));
        assert_eq!(patch.query.get("force"), None, "conflicts are not forced by default");
        let body = patch.body.as_ref().unwrap();
        let name = body["metadata"]["name"].as_str().unwrap();
        assert!(patch.path.ends_with(&format!("/{name}")), "{}", patch.path);
        patched.push((body["kind"].as_str().unwrap().to_owned(), name.to_owned()));
    }
    patched.sort();
    let mut expected_patches = expected.clone();
    expected_patches.sort();
    assert_eq!(patched, expected_patches, "every object applied once");
    // First one list of the namespace per kind (all of it: an object of a
    // build's name without its labels is one to compare too), and no read
    // by name: what the lists lack is created.
    let first_patch = sent.iter().position(|r| r.method == Method::PATCH).unwrap();
    let secrets = "/api/v1/namespaces/demo/secrets";
    let token_requests: Vec<String> =
        sent[..first_patch].iter().filter(|r| r.path.starts_with(secrets)).map(|r| r.line()).collect();
    assert_eq!(token_requests, vec![format!("GET {secrets}/lines-token"), format!("POST {secrets}")]);
    let made = sent.iter().find(|r| r.method == Method::POST).and_then(|r| r.body.clone()).unwrap();
    assert_eq!(made["metadata"]["labels"]["app.kubernetes.io/part-of"], "lines");
    assert_eq!(made["metadata"]["labels"]["app.kubernetes.io/managed-by"], "koaljac");
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(made).unwrap();
    let token = secret.data.unwrap()["token"].0.clone();
    assert!(token.len() == 64 && token.iter().all(u8::is_ascii_hexdigit), "a 256-bit random token");
    let lists: Vec<&mock_api::Recorded> = sent[..first_patch]
        .iter()
        .filter(|r| r.method == Method::GET && !r.path.starts_with(secrets))
        .skip(1)
        .collect();
    assert_eq!(lists.len(), 9, "{:?}", sent.iter().map(mock_api::Recorded::line).collect::<Vec<_>>());
    assert!(
        lists.iter().all(|r| !r.query.contains_key("labelSelector")),
        "{:?}",
        lists.iter().map(|r| r.line()).collect::<Vec<_>>()
    );
    assert_eq!(
        sent.len(),
        1 + lists.len() + token_requests.len() + patches.len(),
        "nothing but the namespace, the lists, the token and the applies"
    );
    // Objects of one kind are applied only after every object of the kinds
    // before it, and nothing is deleted.
    let kinds: Vec<String> =
        patches.iter().map(|p| p.body.as_ref().unwrap()["kind"].as_str().unwrap().to_owned()).collect();
    let order = |kind: &str| built.iter().position(|o| o.kind() == kind).unwrap();
    assert!(kinds.windows(2).all(|pair| order(&pair[0]) <= order(&pair[1])), "{kinds:?}");
    assert!(!sent.iter().any(|r| r.method == Method::DELETE));
    assert_eq!(state.lock().unwrap().objects.len(), built.len() + 1, "the objects and the token");
}

#[tokio::test]
async fn an_unchanged_redeploy_writes_nothing_new() {
    let (cluster, state) = cluster_with(Scenario::EmptyNamespace);
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    let before = state.lock().unwrap().objects.clone();
    clear_requests(&state);
    let steps = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    assert!(steps.iter().all(|s| s.action == Action::Unchanged), "{steps:?}");
    // The mock keeps no `managedFields`, so koaljac cannot know that the
    // applies change nothing, and sends them: unclear is a change (`noop`).
    // On a real server nothing is sent (`real_cluster.rs`).
    assert_eq!(lines(&state).iter().filter(|l| l.starts_with("PATCH")).count(), steps.len() - 1);
    assert!(!lines(&state).iter().any(|l| l.starts_with("DELETE") || l.starts_with("POST")), "the token is kept");
    assert_eq!(state.lock().unwrap().objects, before, "no resource version moved");
}

#[tokio::test]
async fn a_removed_task_has_its_objects_pruned_and_nothing_else() {
    let (cluster, state) = cluster_with(Scenario::Neighbours);
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    clear_requests(&state);

    let smaller = without_count();
    let steps = run(&cluster, &smaller, ApplyOptions::default()).await.unwrap();
    // The removed task's claim is kept, and said so; the live task's is
    // not mentioned.
    let kept: Vec<(String, String, Action)> =
        actions(&steps).into_iter().filter(|(_, _, action)| *action == Action::KeepData).collect();
    assert_eq!(kept, vec![("PersistentVolumeClaim".to_owned(), "state-lines-count-0".to_owned(), Action::KeepData)]);
    let pruned: Vec<(String, String, Action)> =
        actions(&steps).into_iter().filter(|(_, _, action)| *action == Action::Prune).collect();
    assert_eq!(
        pruned,
        vec![
            ("StatefulSet".to_owned(), "lines-count".to_owned(), Action::Prune),
            ("NetworkPolicy".to_owned(), "lines-count".to_owned(), Action::Prune),
            ("Service".to_owned(), "lines-count".to_owned(), Action::Prune),
        ]
    );
    let deletes: Vec<String> = lines(&state).into_iter().filter(|l| l.starts_with("DELETE")).collect();
    assert_eq!(
        deletes,
        vec![
            "DELETE /apis/apps/v1/namespaces/demo/statefulsets/lines-count",
            "DELETE /apis/networking.k8s.io/v1/namespaces/demo/networkpolicies/lines-count",
            "DELETE /api/v1/namespaces/demo/services/lines-count",
        ]
    );
    let objects = &state.lock().unwrap().objects;
    assert!(objects.contains_key(&("persistentvolumeclaims".to_owned(), "state-lines-count-0".to_owned())));
    assert!(objects.contains_key(&("services".to_owned(), "lines-count-debug".to_owned())));
    assert!(objects.contains_key(&("services".to_owned(), "other-count".to_owned())));
}

#[tokio::test]
async fn a_conflict_names_the_field_and_manager_and_stops_unless_forced() {
    let (cluster, state) = cluster_with(Scenario::Conflict);
    let failure = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap_err();
    let message = failure.error.to_string();
    assert!(message.contains(".spec.replicas is owned by kubectl-edit"), "{message}");
    assert!(message.contains("StatefulSet demo/lines-uniq"), "{message}");
    assert!(message.contains("--force-conflicts"), "{message}");
    assert_eq!(failure.error.exit_code(), 2);
    assert!(!failure.done.is_empty(), "what was applied before is reported");
    assert_eq!(failure.not_applied.first().map(String::as_str), Some("StatefulSet lines-uniq"));
    assert!(!lines(&state).iter().any(|l| l.starts_with("DELETE")), "no pruning after a failed apply");

    clear_requests(&state);
    let forced = ApplyOptions { force_conflicts: true, ..ApplyOptions::default() };
    run(&cluster, PIPELINE, forced).await.unwrap();
    let sent = state.lock().unwrap().requests.clone();
    assert!(sent
        .iter()
        .filter(|r| r.method == Method::PATCH)
        .all(|r| r.query.get("force").map(String::as_str) == Some("true")));
}

#[tokio::test]
async fn forbidden_names_the_verb_and_resource_and_what_was_applied() {
    let (cluster, _state) = cluster_with(Scenario::ForbiddenNetworkPolicies);
    let failure = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap_err();
    match &failure.error {
        ClusterError::Forbidden { verb, resource, namespace, .. } => {
            // A first apply creates: the authorizer checks `create`.
            assert_eq!((verb.as_str(), resource.as_str(), namespace.as_str()), ("create", "networkpolicies", "demo"));
        }
        other => panic!("expected forbidden, got {other:?}"),
    }
    assert!(failure.error.to_string().starts_with(
        "forbidden: on cluster https://mock.test:6443 the credentials may not create networkpolicies in namespace demo"
    ));
    assert!(failure.done.iter().all(|s| s.kind != "NetworkPolicy" && s.kind != "StatefulSet"));
    assert!(failure.done.iter().any(|s| s.kind == "ConfigMap"));
    assert!(failure.not_applied.iter().any(|o| o == "StatefulSet lines-uniq"));
}

#[tokio::test]
async fn an_unreachable_or_unauthorised_cluster_is_named_and_nothing_is_applied() {
    let (cluster, state) = cluster_with(Scenario::Unreachable);
    let failure = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap_err();
    let message = failure.error.to_string();
    assert!(message.starts_with("cluster https://mock.test:6443 is unreachable"), "{message}");
    assert!(message.contains("Connection refused"), "{message}");
    assert!(failure.done.is_empty());
    assert_eq!(failure.not_applied.len(), manifests(PIPELINE).len());
    assert_eq!(lines(&state), vec!["GET /api/v1/namespaces/demo"]);

    let (cluster, _) = cluster_with(Scenario::Unauthorized);
    let failure = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap_err();
    assert!(matches!(failure.error, ClusterError::Unauthorized { .. }), "{:?}", failure.error);
    assert!(failure.error.to_string().contains("401"));
}

#[tokio::test]
async fn a_missing_namespace_stops_before_any_write() {
    let (cluster, state) = cluster_with(Scenario::NoNamespace);
    let failure = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap_err();
    assert!(matches!(failure.error, ClusterError::NamespaceMissing { .. }));
    assert!(failure.error.to_string().contains("namespace demo does not exist on cluster https://mock.test:6443"));
    assert_eq!(lines(&state), vec!["GET /api/v1/namespaces/demo"]);
}

#[tokio::test]
async fn a_rollout_that_never_becomes_ready_times_out_naming_the_workloads() {
    let (cluster, _) = cluster_with(Scenario::NeverReady);
    let steps = run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    let workloads = apply::workloads(&steps);
    assert_eq!(workloads.len(), 3, "two tasks and the gateway");
    let mut rounds = 0;
    let result = rollout::wait(
        &cluster,
        "demo",
        "lines",
        &workloads,
        Duration::from_millis(60),
        Duration::from_millis(20),
        &mut |seen| {
            rounds += 1;
            assert_eq!(seen.len(), 3);
        },
    )
    .await;
    match result {
        Err(RolloutError::TimedOut { not_ready, .. }) => {
            let names: Vec<&str> = not_ready.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(names.len(), 3);
            for workload in &workloads {
                assert!(names.contains(&workload.1.as_str()), "{names:?}");
            }
            assert!(not_ready.iter().all(|r| r.ready == 0 && r.desired == 1));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(rounds >= 2, "progress is reported every round");

    // Ready workloads end the wait at once.
    let (cluster, _) = cluster_with(Scenario::EmptyNamespace);
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    let done = rollout::wait(
        &cluster,
        "demo",
        "lines",
        &workloads,
        Duration::from_secs(5),
        Duration::from_millis(10),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(done.iter().all(rollout::Rollout::is_done));
}

#[tokio::test]
async fn delete_removes_everything_but_the_data_unless_asked() {
    for delete_data in [false, true] {
        let (cluster, state) = cluster_with(Scenario::EmptyNamespace);
        run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
        let mut heard = 0;
        let steps = remove::delete(&cluster, "demo", "lines", delete_data, &mut |_| heard += 1).await.unwrap();
        assert_eq!(heard, steps.len());
        let left: Vec<(String, String)> = state.lock().unwrap().objects.keys().cloned().collect();
        let claim = ("persistentvolumeclaims".to_owned(), "lines-gateway".to_owned());
        if delete_data {
            assert!(left.is_empty(), "{left:?}");
            assert!(steps.iter().all(|s| s.action == Action::Delete));
        } else {
            assert_eq!(left, vec![claim], "only the claim, which holds data, stays");
            let kept: Vec<&Step> = steps.iter().filter(|s| s.action == Action::KeepData).collect();
            assert_eq!(kept.len(), 1);
        }
        // Workloads go first.
        assert_eq!(steps[0].kind, "Deployment");
        let gone = remove::wait_gone(
            &cluster,
            "demo",
            "lines",
            delete_data,
            Duration::from_secs(1),
            Duration::from_millis(10),
        )
        .await
        .unwrap();
        assert!(gone.is_empty(), "{gone:?}");
    }
}

#[tokio::test]
async fn a_dry_run_sends_dry_run_requests_and_changes_nothing() {
    let (cluster, state) = cluster_with(Scenario::EmptyNamespace);
    let steps = run(&cluster, PIPELINE, ApplyOptions { dry_run: true, ..ApplyOptions::default() }).await.unwrap();
    assert!(steps.iter().all(|s| s.action == Action::Create));
    assert!(state.lock().unwrap().objects.is_empty());
    let sent = state.lock().unwrap().requests.clone();
    assert!(sent
        .iter()
        .filter(|r| r.method == Method::PATCH)
        .all(|r| r.query.get("dryRun").map(String::as_str) == Some("All")));

    // A dry run of a removed task plans the prune and deletes nothing.
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    let before = state.lock().unwrap().objects.clone();
    clear_requests(&state);
    let steps =
        run(&cluster, &without_count(), ApplyOptions { dry_run: true, ..ApplyOptions::default() }).await.unwrap();
    assert_eq!(steps.iter().filter(|s| s.action == Action::Prune).count(), 3);
    let deletes: Vec<String> = lines(&state).into_iter().filter(|l| l.starts_with("DELETE")).collect();
    assert_eq!(deletes.len(), 3);
    assert!(deletes.iter().all(|l| l.ends_with(" dryRun")), "{deletes:?}");
    assert_eq!(state.lock().unwrap().objects, before);
}

#[tokio::test]
async fn diff_names_each_changed_field_and_is_empty_when_nothing_changes() {
    let (cluster, state) = cluster_with(Scenario::EmptyNamespace);
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    let dry = ApplyOptions { dry_run: true, ..ApplyOptions::default() };
    let same = run(&cluster, PIPELINE, dry).await.unwrap();
    assert!(same.iter().all(|s| !s.action.changes_cluster()), "{same:?}");

    let before = state.lock().unwrap().objects.clone();
    let newer = PIPELINE.replace("alpine:3.20", "alpine:3.21");
    let steps = run(&cluster, &newer, dry).await.unwrap();
    let updated: Vec<&Step> = steps.iter().filter(|s| s.action == Action::Update).collect();
    let names: Vec<&str> = updated.iter().map(|s| s.name.as_str()).collect();
    // The IR names each task's image too.
    assert_eq!(names, vec!["lines-ir", "lines-count", "lines-uniq"]);
    for step in updated.into_iter().filter(|s| s.kind == "StatefulSet") {
        let fields: Vec<&str> = step.changes.iter().map(|c| c.path.as_str()).collect();
        assert!(fields.contains(&".spec.template.spec.containers[0].image"), "{fields:?}");
        let image = step.changes.iter().find(|c| c.path.ends_with("containers[0].image")).unwrap();
        assert_eq!(image.before, Some(json!("alpine:3.20")));
        assert_eq!(image.after, Some(json!("alpine:3.21")));
    }
    assert_eq!(state.lock().unwrap().objects, before, "a diff changes nothing");
}

#[tokio::test]
async fn status_shows_readiness_and_the_gateways_runs() {
    let runs = json!({ "runs": [
        { "task": "uniq", "run": 1, "status": "succeeded" },
        { "task": "uniq", "run": 2, "status": "failed", "stderr_tail": "sort: cannot read" },
        { "task": "count", "run": 1, "status": "succeeded" },
    ], "unreachable": ["count"] });
    let (cluster, state) = cluster_with(Scenario::GatewayRuns(runs));
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    clear_requests(&state);
    let report = status::status(&cluster, "demo", "lines").await.unwrap();
    let tasks: Vec<(&str, bool)> = report.workloads.iter().map(|w| (w.task.as_str(), w.rollout.is_done())).collect();
    assert_eq!(tasks, vec![("count", true), ("gateway", true), ("uniq", true)]);
    let by_task = report.runs.unwrap();
    assert_eq!(by_task["uniq"].runs, 2);
    assert_eq!(by_task["uniq"].failed, 1);
    assert_eq!(by_task["uniq"].last_failure, Some((2, "sort: cannot read".to_owned())));
    assert_eq!(report.unreachable, vec!["count"]);
    assert!(lines(&state)
        .iter()
        .any(|l| l == "GET /api/v1/namespaces/demo/services/lines-gateway:7400/proxy/v1/pipeline/runs"));

    // A gateway that is down: readiness still shows, and why runs do not.
    let (cluster, _) = cluster_with(Scenario::EmptyNamespace);
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    let report = status::status(&cluster, "demo", "lines").await.unwrap();
    assert_eq!(report.workloads.len(), 3);
    assert!(report.runs.unwrap_err().contains("the gateway did not answer"));
}

/// Every body the commands send is an object the official schemas accept.
#[tokio::test]
async fn every_request_body_passes_kubernetes_validate_strict() {
    let Some(validator) = validator::kubernetes_validate() else { return };
    let (cluster, state) = cluster_with(Scenario::EmptyNamespace);
    run(&cluster, PIPELINE, ApplyOptions::default()).await.unwrap();
    run(
        &cluster,
        &PIPELINE.replace("alpine:3.20", "alpine:3.21"),
        ApplyOptions { dry_run: true, ..ApplyOptions::default() },
    )
    .await
    .unwrap();
    run(&cluster, &without_count(), ApplyOptions { dry_run: true, ..ApplyOptions::default() }).await.unwrap();
    remove::delete(&cluster, "demo", "lines", true, &mut |_| {}).await.unwrap();
    let sent = state.lock().unwrap().requests.clone();
    // Applies, and the create of the link token's Secret.
    let bodies: Vec<Value> = sent
        .iter()
        .filter(|r| r.method == Method::PATCH || r.method == Method::POST)
        .filter_map(|r| r.body.clone())
        .collect();
    assert!(bodies.len() >= 2 * manifests(PIPELINE).len());
    assert!(bodies.iter().any(|body| body["kind"] == "Secret"), "the token's Secret is checked too");
    let deletes: Vec<Value> =
        sent.iter().filter(|r| r.method == Method::DELETE).filter_map(|r| r.body.clone()).collect();
    assert!(deletes.len() > manifests(PIPELINE).len(), "the dry-run prunes and the delete");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-bodies");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bodies: &[Value]| -> Vec<std::path::PathBuf> {
        let made = dir.join(name);
        std::fs::create_dir_all(&made).unwrap();
        bodies
            .iter()
            .enumerate()
            .map(|(index, body)| {
                let file = made.join(format!("{index:03}.json"));
                std::fs::write(&file, serde_json::to_vec_pretty(body).unwrap()).unwrap();
                file
            })
            .collect()
    };
    let files = write("objects", &bodies);
    let output = Command::new(&validator).args(["-k", "1.33.0", "--strict"]).args(&files).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    assert!(!report.contains("ERROR"), "{report}");
    assert_eq!(report.matches("passed").count(), files.len(), "{report}");

    // Deletes send DeleteOptions, which carry no kind, and the command line
    // finds schemas by kind: check them against the same strict schema
    // (`deleteoptions-meta-v1.json`) through kubernetes-validate's Python.
    let files = write("delete-options", &deletes);
    let python = Path::new(&validator).with_file_name("python3");
    let output = Command::new(python).arg("-c").arg(DELETE_OPTIONS_CHECK).args(&files).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    assert_eq!(report.matches("passed").count(), files.len(), "{report}");
}

/// Validates each file named on the command line against Kubernetes 1.33's
/// strict DeleteOptions schema, as kubernetes-validate ships it.
const DELETE_OPTIONS_CHECK: &str = r#"
import json, pathlib, sys
import jsonschema, kubernetes_validate
from referencing import Registry, Resource
schemas = pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.33.0-local-strict"
schema = json.loads((schemas / "deleteoptions-meta-v1.json").read_text())
definitions = json.loads((schemas / "_definitions.json").read_text())
registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
validator = jsonschema.validators.Draft202012Validator(schema, registry=registry)
for name in sys.argv[1:]:
    validator.validate(json.loads(pathlib.Path(name).read_text()))
    print(name, "passed")
"#;

/// Runs the `koaljac` binary with `args` against the mock served at `url`;
/// its exit code, standard output and standard error.
async fn koaljac(url: &str, args: &[&str]) -> (i32, String, String) {
    let dir = tempdir(&format!("cli-{}", url.rsplit(':').next().unwrap()));
    let kubeconfig = mock_api::kubeconfig(&dir, url);
    let pipeline = dir.join("lines.kja");
    let args: Vec<String> = args.iter().map(|a| a.replace("FILE", pipeline.to_str().unwrap())).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_koaljac")).args(&args).arg("--kubeconfig").arg(&kubeconfig).output().unwrap()
    })
    .await
    .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the pipeline the next `koaljac` call on `url` reads as FILE.
fn write_pipeline(url: &str, text: &str) {
    let dir = tempdir(&format!("cli-{}", url.rsplit(':').next().unwrap()));
    std::fs::write(dir.join("lines.kja"), text).unwrap();
}

/// The binary end to end over HTTP: deploy with rollout, diff (exit 0, then
/// 1 naming the field), a dry-run plan, status, delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_deploys_diffs_plans_reports_and_deletes() {
    let runs = json!({ "runs": [{ "task": "uniq", "run": 1, "status": "failed", "stderr_tail": "sort: no input" }], "unreachable": [] });
    let (url, state) = mock_api::serve_http(Scenario::GatewayRuns(runs)).await;
    write_pipeline(&url, PIPELINE);

    let (code, out, err) = koaljac(&url, &["deploy", "FILE"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("deploying demo/lines on {url}/ (16 objects)")), "{out}");
    assert!(out.contains("  create      StatefulSet lines-uniq"), "{out}");
    assert!(out.contains("applied: 17 create"), "{out}");
    assert!(out.contains("lines-uniq: 1/1 ready (ready)"), "plain progress lines off a terminal: {out}");
    assert!(out.contains("ready: 3 workloads"), "{out}");

    let (code, out, _) = koaljac(&url, &["diff", "FILE"]).await;
    assert_eq!((code, out.trim()), (0, "no changes: 16 objects up to date"));

    write_pipeline(&url, &PIPELINE.replace("alpine:3.20", "alpine:3.21"));
    let (code, out, _) = koaljac(&url, &["diff", "FILE"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("~ StatefulSet demo/lines-uniq"), "{out}");
    assert!(out.contains(".spec.template.spec.containers[0].image: \"alpine:3.20\" → \"alpine:3.21\""), "{out}");
    assert!(out.contains("3 of 16 objects would change"), "{out}");

    let before = state.lock().unwrap().objects.clone();
    let (code, out, _) = koaljac(&url, &["deploy", "FILE", "--dry-run"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("plan for demo/lines"), "{out}");
    assert!(out.contains("  update      StatefulSet lines-count"), "{out}");
    assert!(out.contains("dry run, nothing changed: 14 unchanged, 3 update"), "{out}");
    assert_eq!(state.lock().unwrap().objects, before);

    let (code, out, err) = koaljac(&url, &["status", "FILE"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("demo/lines on"), "{out}");
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("uniq") && l.contains("1/1") && l.contains("#1 failed")),
        "{out}"
    );
    assert!(out.contains("last failure #1: sort: no input"), "{out}");

    let (code, out, _) = koaljac(&url, &["delete", "--pipeline", "demo/lines"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("  keep (data) PersistentVolumeClaim lines-gateway"), "{out}");
    assert!(out.contains("--delete-data"), "{out}");
    let left: Vec<String> = state.lock().unwrap().objects.keys().map(|(_, name)| name.clone()).collect();
    assert_eq!(left, vec!["lines-gateway"]);

    let (code, out, _) = koaljac(&url, &["status", "--pipeline", "demo/lines"]).await;
    assert_eq!(code, 1);
    assert!(out.contains("is not deployed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exits_1_when_the_rollout_times_out_naming_what_is_not_ready() {
    let (url, _) = mock_api::serve_http(Scenario::NeverReady).await;
    write_pipeline(&url, PIPELINE);
    let (code, out, err) = koaljac(&url, &["deploy", "FILE", "--timeout", "1s"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("applied: 17 create"), "{out}");
    assert!(err.contains("error: not ready after 1s:"), "{err}");
    assert!(err.contains("StatefulSet lines-uniq: 0/1 ready"), "{err}");
    let (code, _, err) = koaljac(&url, &["deploy", "FILE", "--timeout", "soon"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a duration"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_says_what_was_done_and_what_not_when_the_cluster_refuses() {
    let (url, _) = mock_api::serve_http(Scenario::ForbiddenNetworkPolicies).await;
    write_pipeline(&url, PIPELINE);
    let (code, _, err) = koaljac(&url, &["deploy", "FILE"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error: forbidden: on cluster"), "{err}");
    assert!(err.contains("may not create networkpolicies in namespace demo"), "{err}");
    assert!(err.contains("ConfigMap lines-ir (create)"), "{err}");
    let not_applied = err.lines().find(|l| l.starts_with("not applied (")).unwrap_or_default();
    assert!(
        not_applied.contains("NetworkPolicy lines-count") && not_applied.contains("StatefulSet lines-uniq"),
        "{err}"
    );
}
