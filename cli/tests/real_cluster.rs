//! The cluster commands against a real Kubernetes control plane: the
//! `koaljac` binary as a user runs it, and `kubectl` to look at what it did.
//!
//! `scripts/test.sh` starts the local control plane (`scripts/cluster.sh`:
//! kube-apiserver, kube-controller-manager, kube-scheduler and etcd of
//! Kubernetes 1.37, kwok's nodes in three regions) and points these tests at
//! it with `KOALJA_E2E_KUBECONFIG`, `KOALJA_E2E_KUBECTL` and
//! `KOALJA_E2E_LOCAL_CLUSTER` (the script, for what only the local cluster
//! can do: restart its API server, issue user certificates, run processes in
//! its pods' network). `KOALJA_E2E_KUBECONFIG` alone points them at any
//! other cluster whose credentials may create namespaces; the tests that
//! need the local cluster's powers then say NOT RUN.
//!
//! Every test works in namespaces of its own, `koalja-e2e-…`, labelled for
//! the restricted Pod Security Standard (enforce, warn and audit), made anew
//! at its start.

#[path = "../../compiler/tests/support/examples.rs"]
mod examples;
#[path = "support/kube.rs"]
mod kube;
#[path = "../../compiler/tests/support/tricky_strings.rs"]
mod tricky_strings;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kube::{
    cluster, deploy, deploy_ready, local_cluster, path_str, regions, wait_for_workloads, wait_until, without_count,
    write_file, Kube, Ran, LINES,
};
use serde_json::Value;

#[test]
fn every_example_is_admitted_placed_in_its_region_and_ready() {
    let Some(kube) = cluster("every_example_is_admitted_placed_in_its_region_and_ready") else { return };
    let paths = examples::example_paths();
    // Two examples at a time: the control plane shares the machine's two cores.
    for pair in paths.chunks(2) {
        std::thread::scope(|scope| {
            for path in pair {
                let kube = &kube;
                scope.spawn(move || example_on_the_cluster(kube, path));
            }
        });
    }
}

fn example_on_the_cluster(kube: &Kube, path: &Path) {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let namespace = kube.fresh_namespace(&format!("koalja-e2e-ex-{stem}"));
    // PodSecurity warns about a workload whose pods it would refuse, on a
    // server-side dry run of the very YAML `build` prints: no warning at all.
    let built = kube.koaljac_build(path, &namespace);
    let dry = kube.kubectl_with(
        &["apply", "--server-side", "--dry-run=server", "--field-manager=koaljac", "-f", "-"],
        Some(&built),
    );
    assert_eq!(dry.code, 0, "{stem}: {}", dry.all());
    assert!(!dry.err.to_lowercase().contains("warning"), "{stem}: the API server warned: {}", dry.err);

    let deployed = deploy_ready(kube, path, &namespace, &[]);
    let workloads = kube.items(&namespace, "statefulsets,deployments", &[]).len();
    assert!(deployed.out.contains(&format!("ready: {workloads} workloads")), "{stem}: {}", deployed.all());

    // The real controllers made a pod per workload, the scheduler placed
    // them, and each is Running and Ready.
    let pods = kube.items(&namespace, "pods", &[]);
    assert_eq!(pods.len(), workloads, "{stem}: one pod per workload");
    for pod in &pods {
        let name = pod["metadata"]["name"].as_str().unwrap();
        assert_eq!(pod["status"]["phase"], "Running", "{stem}: {name}");
        let ready = pod["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "{stem}: {name} is not Ready");
    }
    // Every region-pinned task on a node of its region.
    let nodes: BTreeMap<String, Value> = kube
        .items("default", "nodes", &[])
        .into_iter()
        .map(|n| (n["metadata"]["name"].as_str().unwrap().to_owned(), n))
        .collect();
    for (task, region) in regions(path) {
        let pod = pods
            .iter()
            .find(|p| p["metadata"]["labels"]["koalja.dev/task"] == task.as_str())
            .unwrap_or_else(|| panic!("{stem}: no pod of task {task}"));
        let node = pod["spec"]["nodeName"].as_str().unwrap();
        assert_eq!(
            nodes[node]["metadata"]["labels"]["topology.kubernetes.io/region"],
            region.as_str(),
            "{stem}: task {task} (region {region}) runs on {node}"
        );
    }
    // And each region's gateway (`gateway-<region>`) in its region: raw
    // data dropped there are stored there.
    for pod in &pods {
        let label = pod["metadata"]["labels"]["koalja.dev/task"].as_str().unwrap_or_default();
        let Some(region) = label.strip_prefix("gateway-") else { continue };
        let node = pod["spec"]["nodeName"].as_str().unwrap();
        let placed = nodes[node]["metadata"]["labels"]["topology.kubernetes.io/region"].as_str();
        assert_eq!(placed, Some(region), "{stem}: gateway {label} runs on {node}");
    }
    if stem == "sovereign" {
        let gateways =
            pods.iter().filter(|p| p["metadata"]["labels"]["app.kubernetes.io/component"] == "gateway").count();
        assert_eq!(gateways, 4, "{stem}: the main gateway and one per region");
    }
    // No pod was refused on the way (PodSecurity refuses at pod creation).
    let refusals: Vec<String> = kube
        .items(&namespace, "events", &[])
        .iter()
        .filter(|e| e["reason"] == "FailedCreate")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(refusals.is_empty(), "{stem}: {refusals:?}");

    let removed =
        kube.koaljac(&["delete", path_str(path), "-n", &namespace, "--delete-data", "--wait", "--timeout", "120s"]);
    assert_eq!(removed.code, 0, "{stem}: {}", removed.all());
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

#[test]
fn redeploys_change_exactly_what_the_file_changed_and_delete_keeps_the_data() {
    let test = "redeploys";
    let Some(kube) = cluster(test) else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-redeploy");
    let file = write_file(test, "lines.kja", LINES);
    deploy_ready(&kube, &file, &namespace, &[]);
    let versions = kube.versions(&namespace, "lines");
    // 16 objects, and the four of af-east's gateway (both tasks are there).
    assert_eq!(versions.len(), 20 + 2, "the build's 20 objects and the two StatefulSets' claims: {versions:?}");
    let pods = kube.pods(&namespace);

    // The same file again: the server writes nothing, and (where the audit
    // log shows it) koaljac sends no write at all, only its lists.
    let mark = kube.audit_mark();
    let again = deploy_ready(&kube, &file, &namespace, &[]);
    // The build's 20 objects and the link token's Secret.
    assert!(again.out.contains("applied: 21 unchanged"), "{}", again.all());
    assert_eq!(kube.versions(&namespace, "lines"), versions, "a second deploy moved a resourceVersion");
    if let Some(mark) = mark {
        let sent = kube.koaljac_requests_since(mark, &namespace);
        let writes: Vec<&String> = sent.iter().filter(|r| !r.starts_with("list ") && !r.starts_with("get ")).collect();
        assert!(writes.is_empty(), "an unchanged deploy sent writes: {writes:?}");
        assert!(sent.iter().any(|r| r == "list statefulsets"), "the audit log shows the deploy's lists: {sent:?}");
    }

    // Undone by hand: a label taken off (the object drops out of the
    // pipeline's lists) and an object deleted. The next deploy puts both
    // back, and leaves the rest alone.
    kube.kubectl_ok(&["label", "configmap", "lines-ir", "-n", &namespace, "app.kubernetes.io/part-of-"]);
    kube.kubectl_ok(&["delete", "networkpolicy", "lines-count", "-n", &namespace]);
    let mark = kube.audit_mark();
    let mended = deploy_ready(&kube, &file, &namespace, &[]);
    assert!(mended.out.contains("  update      ConfigMap lines-ir"), "{}", mended.all());
    assert!(mended.out.contains("  create      NetworkPolicy lines-count"), "{}", mended.all());
    assert!(mended.out.contains("applied: 19 unchanged, 1 update, 1 create"), "{}", mended.all());
    let labels =
        kube.kubectl_ok(&["get", "configmap", "lines-ir", "-n", &namespace, "-o", "jsonpath={.metadata.labels}"]);
    assert!(labels.contains(r#""app.kubernetes.io/part-of":"lines""#), "{labels}");
    if let Some(mark) = mark {
        let sent = kube.koaljac_requests_since(mark, &namespace);
        let writes: Vec<&String> = sent.iter().filter(|r| r.starts_with("patch ")).collect();
        assert_eq!(writes, ["patch configmaps/lines-ir", "patch networkpolicies/lines-count"], "{sent:?}");
    }

    // A comment and a new layout: no pod restarts.
    write_file(
        test,
        "lines.kja",
        &format!("# the same pipeline, laid out anew\n\n{}", LINES.replace("(in)        uniq", "(in) uniq")),
    );
    deploy_ready(&kube, &file, &namespace, &[]);
    assert_eq!(kube.pods(&namespace), pods, "a comment restarted a pod");
    let workloads = |versions: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        versions
            .iter()
            .filter(|(k, _)| k.starts_with("StatefulSet/") || k.starts_with("Deployment/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let unchanged_workloads = workloads(&kube.versions(&namespace, "lines"));

    // One task's command: exactly that task's pod is made anew.
    write_file(test, "lines.kja", &LINES.replace("wc -l <", "wc -w <"));
    deploy_ready(&kube, &file, &namespace, &[]);
    let after = kube.pods(&namespace);
    assert_ne!(after["count"].0, pods["count"].0, "the changed task's pod was not restarted");
    assert_eq!(after["uniq"], pods["uniq"], "an unchanged task's pod was restarted");
    let changed: Vec<String> = workloads(&kube.versions(&namespace, "lines"))
        .into_iter()
        .filter(|(k, v)| unchanged_workloads.get(k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    // The gateway asks every agent for runs, and so does not change with a command.
    assert_eq!(changed, vec!["StatefulSet/lines-count"]);

    // A removed task: its objects are pruned, its claim is kept.
    write_file(test, "lines.kja", &without_count());
    let pruned = deploy_ready(&kube, &file, &namespace, &[]);
    assert!(pruned.out.contains("  prune       StatefulSet lines-count"), "{}", pruned.all());
    let left = kube.versions(&namespace, "lines");
    for gone in ["StatefulSet/lines-count", "Service/lines-count", "NetworkPolicy/lines-count"] {
        assert!(!left.contains_key(gone), "{gone} was not pruned: {left:?}");
    }
    assert!(left.contains_key("PersistentVolumeClaim/state-lines-count-0"), "the removed task's claim went: {left:?}");

    // delete: everything but the claims; --delete-data: the claims too.
    let deleted = kube.koaljac(&["delete", path_str(&file), "-n", &namespace, "--wait", "--timeout", "120s"]);
    assert_eq!(deleted.code, 0, "{}", deleted.all());
    let kinds: Vec<String> =
        kube.versions(&namespace, "lines").keys().map(|k| k.split('/').next().unwrap().to_owned()).collect();
    assert!(!kinds.is_empty() && kinds.iter().all(|k| k == "PersistentVolumeClaim"), "{kinds:?}");
    let deleted = kube.koaljac(&[
        "delete",
        "--pipeline",
        &format!("{namespace}/lines"),
        "--delete-data",
        "--wait",
        "--timeout",
        "120s",
    ]);
    assert_eq!(deleted.code, 0, "{}", deleted.all());
    assert_eq!(kube.versions(&namespace, "lines"), BTreeMap::new());
}

#[test]
fn a_field_another_manager_owns_stops_the_deploy_until_forced() {
    let test = "conflict";
    let Some(kube) = cluster(test) else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-conflict");
    let file = write_file(test, "lines.kja", LINES);
    deploy(&kube, &file, &namespace, &["--no-wait"]);
    // Another manager takes a field koaljac set.
    let other = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: lines-uniq\n  namespace: {namespace}\n  labels:\n    app.kubernetes.io/component: edited-by-hand\n"
    );
    let taken = kube.kubectl_with(
        &["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"],
        Some(&other),
    );
    assert_eq!(taken.code, 0, "{}", taken.all());
    let versions = kube.versions(&namespace, "lines");

    let refused = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--no-wait"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(refused.err.contains("fields owned by another field manager would change"), "{}", refused.all());
    assert!(
        refused.err.contains(".metadata.labels.app.kubernetes.io/component is owned by other"),
        "{}",
        refused.all()
    );
    assert_eq!(kube.versions(&namespace, "lines").get("Service/lines-uniq"), versions.get("Service/lines-uniq"));

    let forced = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--no-wait", "--force-conflicts"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    let label = kube.kubectl_ok(&[
        "get",
        "service",
        "lines-uniq",
        "-n",
        &namespace,
        "-o",
        "jsonpath={.metadata.labels.app\\.kubernetes\\.io/component}",
    ]);
    assert_eq!(label, "task");
    // …and keeps it: a plain deploy goes through again.
    let plain = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--no-wait"]);
    assert_eq!(plain.code, 0, "{}", plain.all());
}

/// A task's `storage:` changed on a deployed pipeline: the StatefulSet's
/// claim template cannot change, so the deploy writes nothing and says what
/// to do; done so, the next deploy goes through and the claim is the same.
#[test]
fn a_changed_claim_size_is_refused_before_anything_is_written() {
    let test = "claim-size";
    let Some(kube) = cluster(test) else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-claim-size");
    let file = write_file(test, "lines.kja", LINES);
    deploy(&kube, &file, &namespace, &["--no-wait"]);
    wait_for_workloads(&kube, &namespace);
    let claim_uid =
        || kube.kubectl_ok(&["get", "pvc", "state-lines-count-0", "-n", &namespace, "-o", "jsonpath={.metadata.uid}"]);
    // What koaljac writes: not the StatefulSets' claims, which their
    // controller makes and kwok binds meanwhile.
    let written = || {
        let mut versions = kube.versions(&namespace, "lines");
        versions.retain(|key, _| !key.starts_with("PersistentVolumeClaim/state-"));
        versions
    };
    let (versions, claim) = (written(), claim_uid());
    let bigger = LINES.replace(r#"region: "af-east" }"#, r#"region: "af-east" storage: "5Gi" }"#);
    let bigger = bigger.replacen(r#"region: "af-east" storage: "5Gi" }"#, r#"region: "af-east" }"#, 1);
    assert!(
        bigger.contains(r#"task count { shell: "wc -l < {stripped} > {out}"     region: "af-east" storage: "5Gi" }"#)
    );
    std::fs::write(&file, &bigger).unwrap();

    let refused = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--no-wait"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.err.contains(&format!(
            "StatefulSet {namespace}/lines-count: its claims' size (live: state 1Gi; the file: state 5Gi) cannot change once it exists, so nothing was applied"
        )),
        "{}",
        refused.all()
    );
    assert!(refused.err.contains("is made for task `count`"), "traced to the task: {}", refused.all());
    let remedy = format!("kubectl -n {namespace} delete statefulset lines-count --cascade=orphan");
    assert!(refused.err.contains(&remedy), "{}", refused.all());
    assert!(refused.err.contains("done before the error (0)"), "{}", refused.all());
    assert_eq!(written(), versions, "nothing was written");

    // The remedy (the claim's own size aside: kwok's StorageClass does not expand).
    kube.kubectl_ok(&["delete", "statefulset", "lines-count", "-n", &namespace, "--cascade=orphan"]);
    deploy(&kube, &file, &namespace, &["--no-wait"]);
    assert_eq!(claim_uid(), claim, "the same claim, its data kept");
    let template = kube.kubectl_ok(&[
        "get",
        "statefulset",
        "lines-count",
        "-n",
        &namespace,
        "-o",
        "jsonpath={.spec.volumeClaimTemplates[0].spec.resources.requests.storage}",
    ]);
    assert_eq!(template, "5Gi");
}

#[test]
fn dry_runs_and_diffs_change_nothing_on_the_server() {
    let test = "dry-run";
    let Some(kube) = cluster(test) else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-dry-run");
    let file = write_file(test, "lines.kja", LINES);
    deploy_ready(&kube, &file, &namespace, &[]);
    let versions = kube.versions(&namespace, "lines");
    let pods = kube.pods(&namespace);

    let same = kube.koaljac(&["diff", path_str(&file), "-n", &namespace]);
    assert_eq!((same.code, same.out.trim()), (0, "no changes: 20 objects up to date"), "{}", same.all());

    // A changed image and a removed task: diff names them, changes nothing.
    let changed = LINES
        .replace("alpine:3.20", "alpine:3.21")
        .replace("(stripped)  count (out)\n", "(stripped)  count (out)\n(stripped)  words (out2)\n")
        .replace(
            "task count {",
            "task words { shell: \"wc -w < {stripped} > {out2}\"  region: \"af-east\" }\ntask count {",
        );
    write_file(test, "lines.kja", &changed);
    let diff = kube.koaljac(&["diff", path_str(&file), "-n", &namespace]);
    assert_eq!(diff.code, 1, "{}", diff.all());
    assert!(diff.out.contains(&format!("~ StatefulSet {namespace}/lines-uniq")), "{}", diff.all());
    assert!(
        diff.out.contains(".spec.template.spec.containers[0].image: \"alpine:3.20\" → \"alpine:3.21\""),
        "{}",
        diff.all()
    );
    assert!(diff.out.contains(&format!("+ StatefulSet {namespace}/lines-words")), "{}", diff.all());
    let plan = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--dry-run"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert!(plan.out.contains("  create      StatefulSet lines-words"), "{}", plan.all());
    write_file(test, "lines.kja", &without_count());
    let prune_plan = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--dry-run"]);
    assert_eq!(prune_plan.code, 0, "{}", prune_plan.all());
    assert!(prune_plan.out.contains("  prune       StatefulSet lines-count"), "{}", prune_plan.all());
    assert!(prune_plan.out.contains("  keep (data) PersistentVolumeClaim state-lines-count-0"), "{}", prune_plan.all());

    assert_eq!(kube.versions(&namespace, "lines"), versions, "a dry run or a diff changed the server");
    assert_eq!(kube.pods(&namespace), pods, "a dry run or a diff restarted a pod");
}

#[test]
fn a_deploy_into_a_missing_namespace_writes_nothing() {
    let test = "missing-namespace";
    let Some(kube) = cluster(test) else { return };
    let file = write_file(test, "lines.kja", LINES);
    let ran = kube.koaljac(&["deploy", path_str(&file), "-n", "koalja-e2e-never-made"]);
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(ran.err.contains("namespace koalja-e2e-never-made does not exist"), "{}", ran.all());
    assert!(ran.err.contains("done before the error (0): none"), "{}", ran.all());
}

#[test]
fn build_piped_to_kubectl_applies_the_objects_deploy_would() {
    let test = "kubectl-apply";
    let Some(kube) = cluster(test) else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-kubectl");
    let file = write_file(test, "lines.kja", LINES);
    // A build holds no secret: the link token's Secret is made by hand, as
    // the README says for this way of deploying…
    kube.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "lines-token",
        "-n",
        &namespace,
        "--from-literal=token=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ]);
    // …and Kubernetes' own YAML reader takes the stream, as field manager koaljac…
    let built = kube.koaljac_build(&file, &namespace);
    let applied = kube.kubectl_with(&["apply", "--server-side", "--field-manager=koaljac", "-f", "-"], Some(&built));
    assert_eq!(applied.code, 0, "{}", applied.all());
    wait_for_workloads(&kube, &namespace);
    let versions = kube.versions(&namespace, "lines");
    // …and makes exactly the objects deploy makes: deploy finds nothing to do.
    let deployed = deploy_ready(&kube, &file, &namespace, &[]);
    assert!(deployed.out.contains("applied: 21 unchanged"), "{}", deployed.all());
    let after = kube.versions(&namespace, "lines");
    let objects = |v: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        v.iter()
            .filter(|(k, _)| !k.starts_with("PersistentVolumeClaim/state-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(objects(&after), objects(&versions), "deploy changed what kubectl applied");
}

#[test]
fn any_string_in_image_env_or_command_reads_back_through_kubectl_and_the_server_unchanged() {
    use proptest::strategy::{Strategy, ValueTree};
    let Some(kube) = cluster("any_string_through_kubectl") else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-strings");
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let cases = (
        tricky_strings::tricky_image(),
        proptest::collection::vec(tricky_strings::tricky_string(), 1..4),
        proptest::collection::vec(tricky_strings::tricky_string(), 1..4),
    );
    for case in 0..48 {
        let (image, env, args) = cases.new_tree(&mut runner).unwrap().current();
        let expected = tricky_strings::ReadBack { image, env, command: args };
        let text = tricky_strings::pipeline(&namespace, &expected.image, &expected.env, &expected.command);
        let file = write_file("strings", "strings.kja", &text);
        // Kubernetes' own YAML reader, in kubectl, on `build`'s stream.
        let built = kube.koaljac_build(&file, &namespace);
        let read = kube.kubectl_with(&["create", "--dry-run=client", "-o", "json", "-f", "-"], Some(&built));
        assert_eq!(read.code, 0, "case {case}: {text:?}\n{}", read.all());
        // One JSON object after another, one per object read.
        let objects: Vec<Value> =
            serde_json::Deserializer::from_str(&read.out).into_iter().collect::<Result<_, _>>().unwrap();
        assert_eq!(tricky_strings::read_back(&objects), expected, "case {case}, kubectl: {text:?}");
        // The API server, through `deploy`'s apply bodies, every fourth case.
        if case % 4 == 0 {
            deploy(&kube, &file, &namespace, &["--no-wait"]);
            let stored =
                kube.items(&namespace, "statefulsets,configmaps", &["-l", "app.kubernetes.io/part-of=strings"]);
            assert_eq!(tricky_strings::read_back(&stored), expected, "case {case}, server: {text:?}");
        }
    }
}

#[test]
fn status_shows_the_runs_of_agents_running_as_pods() {
    // The local cluster's node runs the pods of a namespace labelled
    // koalja.dev/pods=run (tests/cluster/pods.go): every agent is a real
    // koalja-agent process at its pod's address, and the gateway is reached
    // through the API server's service proxy, as `status` reaches it.
    let test = "status";
    let Some(kube) = local_cluster(test) else { return };
    let namespace = kube.fresh_pods_namespace("koalja-e2e-status");
    let file = write_file(test, "lines.kja", LINES);
    deploy_ready(&kube, &file, &namespace, &[]);
    let status = || kube.koaljac(&["status", path_str(&file), "-n", &namespace]);
    // Before any data: every agent answers, with no runs.
    wait_until(Duration::from_secs(60), "the gateway answering with every task's runs", || {
        let shown = status();
        shown.code == 0 && !shown.out.contains("runs unknown") && !shown.out.contains("could not reach")
    });
    let idle = status();
    for task in ["uniq", "count"] {
        let row = idle.out.lines().find(|l| l.trim_start().starts_with(task)).unwrap_or_default();
        assert_eq!(row.split_whitespace().collect::<Vec<_>>(), [task, "1/1", "0", "0"], "{}", idle.all());
    }

    // Anyone else on the pod network (here the node itself, at each pod's
    // own address) can neither drop nor read without the link token.
    let token = kube.kubectl_ok(&[
        "get",
        "secret",
        "lines-token",
        "-n",
        &namespace,
        "-o",
        "go-template={{.data.token | base64decode}}",
    ]);
    assert_eq!(token.len(), 64, "deploy made a 256-bit token");
    assert!(!idle.all().contains(&token), "no command prints the token");
    let pod_ip = |task: &str| {
        kube.kubectl_ok(&[
            "get",
            "pods",
            "-n",
            &namespace,
            "-l",
            &format!("koalja.dev/task={task}"),
            "-o",
            "jsonpath={.items[0].status.podIP}",
        ])
    };
    let (gateway_ip, uniq_ip) = (pod_ip("gateway"), pod_ip("uniq"));
    let ask = |ip: &str, request: &str, header: &str| kube::http_status(&format!("{ip}:7400"), request, header);
    for (ip, request) in [
        (&gateway_ip, "PUT /v1/drop/in/stolen.txt"),
        (&gateway_ip, "GET /v1/outputs"),
        (&gateway_ip, "GET /v1/pipeline/history"),
        (&uniq_ip, "GET /v1/outbox/stripped"),
        (&uniq_ip, "GET /v1/payload/uniq.1.stripped"),
    ] {
        assert_eq!(ask(ip, request, ""), 401, "{request} at {ip} without the token");
        assert_eq!(ask(ip, request, "X-Koalja-Token: 0000000000000000000000000000000000000000"), 401, "{request}");
    }
    assert_eq!(ask(&gateway_ip, "GET /healthz", ""), 200, "probes need no token");
    assert_eq!(ask(&gateway_ip, "GET /v1/outputs", &format!("Authorization: Bearer {token}")), 200);

    // `fetch --follow` brings each output out as it is made, until stopped.
    let followed = write_file(test, "words.txt", "").with_file_name("followed");
    let _ = std::fs::remove_dir_all(&followed);
    let pipeline = format!("{namespace}/lines");
    let follow = kube.koaljac_spawn(&["fetch", "--follow", "--pipeline", &pipeline, "-o", path_str(&followed)]);

    // `koaljac drop` feeds the gateway through the service proxy: both
    // tasks run once, in their own pods, and `status` shows it. The same
    // file again feeds nothing.
    let words = write_file(test, "words.txt", "b\na\nb\n");
    let dropped = kube.koaljac(&["drop", path_str(&file), &format!("in={}", path_str(&words)), "-n", &namespace]);
    assert_eq!(dropped.code, 0, "{}", dropped.all());
    assert_eq!(dropped.out.trim(), "in/words.txt -> gateway.1.in", "{}", dropped.all());
    let again = kube.koaljac(&["drop", path_str(&file), &format!("in={}", path_str(&words)), "-n", &namespace]);
    assert!(again.out.contains("gateway.1.in (dropped before: not fed again)"), "{}", again.all());
    assert!(!again.all().contains(&token), "no command prints the token");
    let runs_shown = |runs: &str, last: &str| {
        let shown = status();
        ["uniq", "count"].iter().all(|task| {
            let row = shown.out.lines().find(|l| l.trim_start().starts_with(task)).unwrap_or_default();
            row.split_whitespace().collect::<Vec<_>>() == [task, "1/1", runs, "0", last, "succeeded"]
        })
    };
    wait_until(Duration::from_secs(60), "a run of each task", || runs_shown("1", "#1"));

    // A file of several parts (the proxy takes a body whole, so drop sends
    // parts of 8 MiB), named by --pipeline instead of the file.
    let lines: String = (0..2_000_000).map(|i| format!("{:07}\n", i % 1_500_000)).collect();
    let big = write_file(test, "big.txt", &lines);
    let dropped = kube.koaljac(&["drop", "--pipeline", &pipeline, &format!("in={}", path_str(&big))]);
    assert_eq!(dropped.code, 0, "{}", dropped.all());
    assert_eq!(dropped.out.trim(), "in/big.txt -> gateway.2.in", "{}", dropped.all());
    wait_until(Duration::from_secs(120), "a second run of each task", || runs_shown("2", "#2"));
    let stored = kube::claim_files(&namespace, "state-lines-uniq-0", "cache");
    let received = stored.iter().find(|(name, _)| name.starts_with("gateway.2.in")).map(|(_, size)| *size);
    assert_eq!(received, Some(lines.len() as u64), "uniq received the whole file: {stored:?}");

    // `koaljac fetch` brings the results out, checked, once.
    let into = write_file(test, "words.txt", "b\na\nb\n").with_file_name("fetched");
    let _ = std::fs::remove_dir_all(&into);
    // The gateway collects as the outputs are made, a moment after the run
    // that status shows: fetch until both are here.
    let mut fetched_new = 0;
    wait_until(Duration::from_secs(60), "both outputs collected and fetched", || {
        let fetched = kube.koaljac(&["fetch", path_str(&file), "out", "-n", &namespace, "-o", path_str(&into)]);
        assert_eq!(fetched.code, 0, "{}", fetched.all());
        let new: usize = fetched
            .out
            .rsplit("fetched ")
            .next()
            .and_then(|s| s.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        fetched_new += new;
        fetched_new >= 2
    });
    assert_eq!(fetched_new, 2, "each output fetched once");
    let read = |name: &str| std::fs::read_to_string(into.join("out").join(name)).unwrap_or_default();
    assert_eq!((read("count.1.out").trim(), read("count.2.out").trim()), ("2", "1500000"));
    let again = kube.koaljac(&["fetch", "--pipeline", &pipeline, "-o", path_str(&into)]);
    assert!(again.out.ends_with("fetched 0, 2 already here\n"), "{}", again.all());
    // The follower had both as they came, and stops cleanly on SIGTERM.
    wait_until(Duration::from_secs(30), "fetch --follow to bring both outputs", || {
        followed.join("out/count.2.out").exists()
    });
    let followed_run = kube::terminate(follow);
    assert_eq!(followed_run.code, 0, "{}", followed_run.all());
    assert!(followed_run.out.ends_with("fetched 2, 0 already here\n"), "{}", followed_run.all());
    assert_eq!(std::fs::read_to_string(followed.join("out/count.2.out")).unwrap().trim(), "1500000");

    // `log` and `trace` of the deployed pipeline, as its gateway gathers
    // them: the same artifacts, lineage and definition digests as a local
    // run of the same two files (times and places aside).
    let logged = kube.koaljac(&["log", "--pipeline", &pipeline, "--json"]);
    assert_eq!(logged.code, 0, "{}", logged.all());
    let runs: Vec<Value> = logged.out.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(runs.len(), 4, "two runs of each task: {}", logged.all());
    assert!(runs.iter().all(|run| run["status"] == "succeeded"), "{}", logged.all());
    let fetched_path = into.join("out/count.2.out");
    let deployed = kube.koaljac(&["trace", "--pipeline", &pipeline, path_str(&fetched_path), "--json"]);
    assert_eq!(deployed.code, 0, "{}", deployed.all());
    let local_state = into.with_file_name("local-state");
    let _ = std::fs::remove_dir_all(&local_state);
    for input in [&words, &big] {
        let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_koaljac"));
        run.args(["run", path_str(&file), "--state", path_str(&local_state), "--drop"])
            .arg(format!("in={}", path_str(input)));
        let ran = kube::run(run, None);
        assert_eq!(ran.code, 0, "{}", ran.all());
    }
    let local = kube.koaljac(&["trace", "count.2.out", "--state", path_str(&local_state), "--json"]);
    assert_eq!(local.code, 0, "{}", local.all());
    assert_eq!(lineage(&deployed.out), lineage(&local.out), "deployed:\n{}\nlocal:\n{}", deployed.out, local.out);
    assert_eq!(lineage(&deployed.out).len(), 3, "count.2.out, uniq.2.stripped, gateway.2.in");
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// With the agents running as pods, a pod's status is its agent's, as a
/// kubelet reports it (tests/cluster/status.go and probes.go): Ready only
/// while the agent answers its readiness probe, a killed agent restarted and
/// counted with its exit code, and one that cannot start shown in a crash
/// loop with its own last error, by `koaljac status` as by `kubectl`.
#[test]
fn a_pods_status_is_its_agents_and_status_shows_a_crash_loop_with_the_agents_error() {
    let test = "pod-status";
    let Some(kube) = local_cluster(test) else { return };
    let namespace = kube.fresh_pods_namespace("koalja-e2e-pod-status");
    let file = write_file(test, "lines.kja", LINES);
    deploy_ready(&kube, &file, &namespace, &[]);
    let pod = |path: &str| {
        kube.kubectl_ok(&["get", "pod", "lines-count-0", "-n", &namespace, "-o", &format!("jsonpath={path}")])
    };
    let ready = || pod("{.status.conditions[?(@.type==\"Ready\")].status}");
    let count_row = || {
        let shown = kube.koaljac(&["status", path_str(&file), "-n", &namespace]);
        assert_eq!(shown.code, 0, "{}", shown.all());
        let mut lines = shown.out.lines().skip_while(|line| !line.trim_start().starts_with("count "));
        let row = lines.next().unwrap_or_default().split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        // The line under the row, when it is not the next task's.
        let under = lines.next().filter(|line| line.starts_with("   ")).unwrap_or_default().trim().to_owned();
        (row, under)
    };
    assert_eq!(ready(), "True");
    assert_eq!(pod("{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].started}"), "0 true");
    assert_eq!(pod("{.status.initContainerStatuses[0].state.terminated.reason}"), "Completed");
    let (row, under) = count_row();
    assert_eq!((row[1].as_str(), under.as_str()), ("1/1", ""), "{row:?} {under}");
    let signal = |name: &str, pid: i32| {
        let sent = std::process::Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap();
        assert!(sent.success(), "kill -{name} {pid}");
    };
    let uid = pod("{.metadata.uid}");
    let agent = kube::agent_pid(&uid).expect("the count agent runs in the pod's network namespace");

    // A stopped agent fails its readiness probe: the pod goes unready (a
    // pod reported Ready whatever runs never would), and comes back.
    signal("STOP", agent);
    wait_until(Duration::from_secs(30), "the stopped agent's pod unready", || ready() == "False");
    assert_eq!(count_row().0[1], "0/1");
    signal("CONT", agent);
    wait_until(Duration::from_secs(30), "the pod ready again", || ready() == "True");
    assert_eq!(pod("{.status.containerStatuses[0].restartCount}"), "0", "readiness restarts nothing");

    // An agent that cannot write its volume cannot start: killed, it is
    // restarted, fails, and loops; status says so in the agent's words.
    let claim = kube::claim_dir(&namespace, "state-lines-count-0").expect("the count task's claim");
    let mode = std::fs::metadata(&claim).unwrap().permissions();
    std::fs::set_permissions(&claim, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    signal("KILL", agent);
    wait_until(Duration::from_secs(60), "a failed start's crash loop shown by status", || {
        let under = count_row().1;
        under.contains("last exit 64") && under.contains("; now CrashLoopBackOff")
    });
    let (row, under) = count_row();
    assert_eq!(row[1], "0/1", "{row:?}");
    assert!(
        under.contains("last exit 64 (Error): cannot create the state directory /var/lib/koalja/"),
        "the agent's own last error: {under}"
    );
    assert!(under.contains("Permission denied"), "{under}");
    assert_eq!(pod("{.status.containerStatuses[0].state.waiting.reason}"), "CrashLoopBackOff");
    let restarts: u32 = pod("{.status.containerStatuses[0].restartCount}").parse().unwrap();
    assert!(restarts >= 2, "the SIGKILL and at least one failed start: {restarts}");

    // The volume mended, the next restart runs: ready, its restarts kept.
    std::fs::set_permissions(&claim, mode).unwrap();
    wait_until(Duration::from_secs(90), "the agent running again", || ready() == "True");
    let (row, under) = count_row();
    assert_eq!(row[1], "1/1", "{row:?}");
    assert!(under.starts_with("restarted ") && !under.contains("now "), "{under}");
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// `trace --json`'s steps without their times and places: each AV's id,
/// inputs, content digest and definition, and its run's definition.
fn lineage(text: &str) -> Vec<(Value, Value, Value, Value, Value)> {
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|step| {
            let av = &step["av"];
            (
                av["id"].clone(),
                av["inputs"].clone(),
                av["content"].clone(),
                av["definition"].clone(),
                step["run"]["definition"].clone(),
            )
        })
        .collect()
}

/// `log --json`'s runs without their times: task, run, status, snapshot
/// and outputs, in order of task and run.
fn runs_of(text: &str) -> Vec<(Value, Value, Value, Value, Value)> {
    let mut runs: Vec<_> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|run| {
            let inputs = run["snapshot"].clone();
            (run["task"].clone(), run["run"].clone(), run["status"].clone(), inputs, run["outputs"].clone())
        })
        .collect();
    runs.sort_by_key(|run| (run.0.to_string(), run.1.as_u64()));
    runs
}

/// examples/sovereign.kja deployed with its agents as pods, its Python
/// tasks (whose scripts live in the user's image) standing in as shell
/// commands: each country's file goes to its region's gateway with
/// `koaljac drop`, the report comes out with `koaljac fetch`, and the runs
/// and the report's lineage are those of a local run of the same files.
/// The raw sales are stored only in their country's region.
#[test]
fn sovereign_deployed_runs_as_locally_and_keeps_raw_sales_in_their_region() {
    let test = "sovereign";
    let Some(kube) = local_cluster(test) else { return };
    let namespace = kube.fresh_pods_namespace("koalja-e2e-sovereign");
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sovereign.kja")).unwrap();
    let mut text = example.replace(r#"image: "python:3.12-slim""#, r#"image: "alpine:3.20""#);
    for (command, shell) in [
        (
            r#"task summarize-ke { command: ["python3", "/app/summarize.py"]"#,
            r#"task summarize-ke { shell: "wc -l < {in_kenya} > {ke_summary}""#,
        ),
        (
            r#"task summarize-gh { command: ["python3", "/app/summarize.py"]"#,
            r#"task summarize-gh { shell: "wc -l < {in_ghana} > {gh_summary}""#,
        ),
        (
            r#"task aggregate    { command: ["python3", "/app/aggregate.py"]"#,
            r#"task aggregate    { shell: "cat {ke_summary} > {out_report}""#,
        ),
    ] {
        assert!(text.contains(command), "examples/sovereign.kja has `{command}`");
        text = text.replace(command, shell);
    }
    let file = write_file(test, "sovereign.kja", &text);
    deploy_ready(&kube, &file, &namespace, &[]);
    let pipeline = format!("{namespace}/monthly-sales");
    let runs = |task: &str| {
        let shown = kube.koaljac(&["status", "--pipeline", &pipeline]);
        let row = shown.out.lines().find(|line| line.trim_start().starts_with(&format!("{task} "))).unwrap_or_default();
        row.split_whitespace().nth(2).and_then(|runs| runs.parse::<u32>().ok()).unwrap_or(0)
    };
    // One file at a time, each waited for: the merge into `aggregate` takes
    // values as they arrive, and the local run gets them in the same order.
    let inputs = [
        ("in_kenya", "ke.csv", "a,1\nb,2\n", "summarize-ke", 1),
        ("in_ghana", "gh1.csv", "c,3\n", "aggregate", 1),
        ("in_ghana", "gh2.csv", "d,4\ne,5\nf,6\n", "summarize-gh", 2),
    ];
    let local_state = file.with_file_name("local-state");
    let _ = std::fs::remove_dir_all(&local_state);
    for (wire, name, content, task, count) in inputs {
        let path = write_file(test, name, content);
        let dropped = kube.koaljac(&["drop", "--pipeline", &pipeline, &format!("{wire}={}", path_str(&path))]);
        assert_eq!(dropped.code, 0, "{}", dropped.all());
        wait_until(Duration::from_secs(60), &format!("{task} to have run {count} times"), || runs(task) >= count);
        let mut run = std::process::Command::new(env!("CARGO_BIN_EXE_koaljac"));
        run.args(["run", path_str(&file), "--state", path_str(&local_state), "--drop"])
            .arg(format!("{wire}={}", path_str(&path)));
        let ran = kube::run(run, None);
        assert_eq!(ran.code, 0, "{}", ran.all());
    }

    let into = local_state.with_file_name("fetched");
    let _ = std::fs::remove_dir_all(&into);
    wait_until(Duration::from_secs(60), "the report collected and fetched", || {
        let fetched = kube.koaljac(&["fetch", "--pipeline", &pipeline, "out_report", "-o", path_str(&into)]);
        assert_eq!(fetched.code, 0, "{}", fetched.all());
        into.join("out_report/aggregate.1.out_report").exists()
    });
    let report = std::fs::read_to_string(into.join("out_report/aggregate.1.out_report")).unwrap();
    let local_report = std::fs::read_to_string(local_state.join("out/out_report/aggregate.1.out_report")).unwrap();
    assert_eq!(report, local_report);
    assert_eq!(report.split_whitespace().collect::<Vec<_>>(), ["2", "1"], "the Kenyan and the first Ghanaian count");

    let deployed_log = kube.koaljac(&["log", "--pipeline", &pipeline, "--json"]);
    let local_log = kube.koaljac(&["log", "--state", path_str(&local_state), "--json"]);
    assert_eq!((deployed_log.code, local_log.code), (0, 0), "{}{}", deployed_log.all(), local_log.all());
    assert_eq!(runs_of(&deployed_log.out), runs_of(&local_log.out), "{}\n{}", deployed_log.out, local_log.out);
    assert_eq!(runs_of(&deployed_log.out).len(), 4, "{}", deployed_log.out);
    let report_path = into.join("out_report/aggregate.1.out_report");
    let deployed = kube.koaljac(&["trace", "--pipeline", &pipeline, path_str(&report_path), "--json"]);
    let local = kube.koaljac(&["trace", "aggregate.1.out_report", "--state", path_str(&local_state), "--json"]);
    assert_eq!((deployed.code, local.code), (0, 0), "{}{}", deployed.all(), local.all());
    assert_eq!(lineage(&deployed.out), lineage(&local.out), "deployed:\n{}\nlocal:\n{}", deployed.out, local.out);
    assert_eq!(lineage(&deployed.out).len(), 5, "the report, two summaries, two drops: {}", deployed.out);

    // Where the raw sales are stored: only on the claims of their region.
    let holding = |needle: &str| kube::claims_holding(&namespace, needle);
    let set = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(holding("in_kenya"), set(&["monthly-sales-gateway-af-east", "state-monthly-sales-summarize-ke-0"]));
    assert_eq!(holding("in_ghana"), set(&["monthly-sales-gateway-af-west", "state-monthly-sales-summarize-gh-0"]));
    let node = |pod_label: &str| {
        kube.kubectl_ok(&["get", "pods", "-n", &namespace, "-l", pod_label, "-o", "jsonpath={.items[0].spec.nodeName}"])
    };
    assert_eq!(node("koalja.dev/task=gateway-af-east"), "node-af-east");
    assert_eq!(node("koalja.dev/task=summarize-ke"), "node-af-east");
    assert_eq!(node("koalja.dev/task=gateway-af-west"), "node-af-west");
    assert_eq!(node("koalja.dev/task=summarize-gh"), "node-af-west");
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// A gigabyte into a deployed pipeline with `koaljac drop` and out again
/// with `koaljac fetch`, through the API server's service proxy, with the
/// agents running as pods: the same bytes come out, and no process of the
/// command line holds more than a part of it in memory.
#[test]
fn a_gigabyte_goes_in_and_out_through_the_service_proxy() {
    let test = "gigabyte";
    let Some(kube) = local_cluster(test) else { return };
    let namespace = kube.fresh_pods_namespace("koalja-e2e-gigabyte");
    let file = write_file(
        test,
        "copy.kja",
        "[demo/copy]\n(in) keep (out)\ndefaults { image: \"alpine:3.20\" }\ntask keep { shell: \"cat {in} > {out}\" }\n",
    );
    deploy_ready(&kube, &file, &namespace, &[]);
    // 1 GiB, each MiB different (a part sent twice or out of order shows).
    let big = write_file(test, "big.bin", "");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            for byte in block.iter_mut() {
                *byte = kube::xorshift(&mut state) as u8;
            }
            out.write_all(&block).unwrap();
        }
    }
    let pipeline = format!("{namespace}/copy");
    let dropped = kube.koaljac(&["drop", "--pipeline", &pipeline, &format!("in={}", path_str(&big))]);
    assert_eq!(dropped.code, 0, "{}", dropped.all());
    assert_eq!(dropped.out.trim(), "in/big.bin -> gateway.1.in", "{}", dropped.all());
    let into = big.with_file_name("fetched");
    let _ = std::fs::remove_dir_all(&into);
    wait_until(Duration::from_secs(300), "the copy of the gigabyte to be fetched", || {
        let fetched = kube.koaljac(&["fetch", "--pipeline", &pipeline, "-o", path_str(&into)]);
        assert_eq!(fetched.code, 0, "{}", fetched.all());
        fetched.out.contains("fetched 1,")
    });
    let digest = |path: &Path| koalja_agent::files::content_digest(path).unwrap();
    assert_eq!(digest(&into.join("out/keep.1.out")), digest(&big), "the bytes fetched are the bytes dropped");
    // The largest child this test process has reaped (drop and fetch
    // among them): parts, not the file, in memory.
    // SAFETY: getrusage fills the struct it is given.
    let peak_kb = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage.ru_maxrss
    };
    assert!(peak_kb < 256 * 1024, "a command held {peak_kb} KiB: more than parts of the file");
    let _ = std::fs::remove_file(&big);
    let _ = std::fs::remove_dir_all(&into);
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// A `dir` output is fetched as the directory it is: the gateway sends it
/// as a tar archive, `fetch` unpacks it, checks the whole against its
/// digest and, a second time, finds it already there.
#[test]
fn a_dir_output_is_fetched_as_a_directory() {
    let test = "dir-output";
    let Some(kube) = local_cluster(test) else { return };
    let namespace = kube.fresh_pods_namespace("koalja-e2e-dir-output");
    let file = write_file(
        test,
        "unpack.kja",
        "[demo/unpack]\ntype tree = dir \"text/plain\"\n(in) unpack (out: tree)\ndefaults { image: \"alpine:3.20\" }\n\
         task unpack { shell: \"mkdir -p {out}/sub && cp {in} {out}/copy && echo two > {out}/sub/two\" }\n",
    );
    deploy_ready(&kube, &file, &namespace, &[]);
    let input = write_file(test, "one.txt", "one\n");
    let pipeline = format!("{namespace}/unpack");
    let dropped = kube.koaljac(&["drop", "--pipeline", &pipeline, &format!("in={}", path_str(&input))]);
    assert_eq!(dropped.code, 0, "{}", dropped.all());
    let into = input.with_file_name("fetched");
    let _ = std::fs::remove_dir_all(&into);
    wait_until(Duration::from_secs(120), "the dir output to be fetched", || {
        let fetched = kube.koaljac(&["fetch", "--pipeline", &pipeline, "-o", path_str(&into)]);
        assert_eq!(fetched.code, 0, "{}", fetched.all());
        fetched.out.contains("fetched 1,")
    });
    let tree = into.join("out/unpack.1.out");
    assert_eq!(std::fs::read_to_string(tree.join("copy")).unwrap(), "one\n");
    assert_eq!(std::fs::read_to_string(tree.join("sub/two")).unwrap(), "two\n");
    let again = kube.koaljac(&["fetch", "--pipeline", &pipeline, "-o", path_str(&into)]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.out.contains("fetched 0, 1 already here"), "{}", again.all());
    let _ = std::fs::remove_dir_all(&into);
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// A task's pod deleted ten times at random moments while it works through
/// twenty drops: the controller makes it again, its agent resumes from its
/// claim, and every input comes out exactly once, each task's runs
/// numbered without gaps, all succeeded (the local SIGKILL test's checks,
/// `crash.rs`, on a real control plane).
#[test]
fn a_task_pod_deleted_ten_times_mid_run_loses_and_doubles_nothing() {
    let test = "pod-deletion";
    let Some(kube) = local_cluster(test) else { return };
    let namespace = kube.fresh_pods_namespace("koalja-e2e-pod-deletion");
    let file = write_file(
        test,
        "double.kja",
        "[demo/double]\n(in) slow (mid)\n(mid) double (out)\ndefaults { image: \"alpine:3.20\" }\n\
         task slow { shell: \"sleep 0.2 && cp {in} {mid}\" }\ntask double { shell: \"cat {mid} {mid} > {out}\" }\n",
    );
    deploy_ready(&kube, &file, &namespace, &[]);
    let inputs = file.with_file_name("inputs");
    let _ = std::fs::remove_dir_all(&inputs);
    std::fs::create_dir_all(&inputs).unwrap();
    for n in 0..20 {
        std::fs::write(inputs.join(format!("{n:02}.txt")), format!("{n}\n")).unwrap();
    }
    let pipeline = format!("{namespace}/double");
    let dropped = kube.koaljac(&["drop", "--pipeline", &pipeline, &format!("in={}", path_str(&inputs))]);
    assert_eq!(dropped.code, 0, "{}", dropped.all());
    // Deleted while it works, at moments a seeded generator picks.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..10 {
        std::thread::sleep(Duration::from_millis(200 + kube::xorshift(&mut state) % 1300));
        let task = if round % 2 == 0 { "slow" } else { "double" };
        // The controller makes a deleted pod again once the old one is
        // gone: wait for it, rather than find none.
        let selector = format!("koalja.dev/task={task}");
        wait_until(Duration::from_secs(60), "the pod made again", || {
            let pods = kube.items(&namespace, "pods", &["-l", &selector]);
            pods.iter().any(|pod| pod["metadata"]["deletionTimestamp"].is_null())
        });
        let said = kube.kubectl_ok(&[
            "delete",
            "pod",
            "-n",
            &namespace,
            "-l",
            &format!("koalja.dev/task={task}"),
            "--wait=false",
        ]);
        assert!(said.contains("deleted"), "round {round}: no pod of {task} to delete: {said}");
    }
    let into = inputs.with_file_name("fetched");
    let _ = std::fs::remove_dir_all(&into);
    wait_until(Duration::from_secs(300), "every input's output", || {
        let fetched = kube.koaljac(&["fetch", "--pipeline", &pipeline, "-o", path_str(&into)]);
        std::fs::read_dir(into.join("out")).map_or(0, |dir| dir.count()) >= 20 || fetched.code != 0
    });
    let outputs: Vec<String> = std::fs::read_dir(into.join("out"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let mut got: Vec<String> = outputs.clone();
    got.sort();
    let mut expected: Vec<String> = (0..20).map(|n| format!("{n}\n{n}\n")).collect();
    expected.sort();
    assert_eq!(got, expected, "every input came out exactly once");
    let logged = kube.koaljac(&["log", "--pipeline", &pipeline, "--json"]);
    assert_eq!(logged.code, 0, "{}", logged.all());
    let mut runs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in logged.out.lines() {
        let run: Value = serde_json::from_str(line).unwrap();
        assert_eq!(run["status"], "succeeded", "{line}");
        runs.entry(run["task"].as_str().unwrap().to_owned()).or_default().push(run["run"].as_u64().unwrap());
    }
    for task in ["slow", "double"] {
        let mut numbers = runs.get(task).cloned().unwrap_or_default();
        numbers.sort();
        assert_eq!(numbers, (1..=20).collect::<Vec<u64>>(), "the runs of {task}: {}", logged.all());
    }
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

#[test]
fn a_refused_object_is_traced_to_its_task_in_the_file() {
    let test = "refused";
    let Some(kube) = cluster(test) else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-refused");
    // A quota admits one StatefulSet: the second task's is refused.
    kube.kubectl_ok(&["create", "quota", "one-task", "--hard=count/statefulsets.apps=1", "-n", &namespace]);
    let file = write_file(test, "lines.kja", LINES);
    let ran = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--no-wait"]);
    assert_eq!(ran.code, 2, "{}", ran.all());
    assert!(ran.err.contains("exceeded quota: one-task"), "{}", ran.all());
    assert!(!ran.err.contains("the credentials may not"), "a quota is not a missing permission: {}", ran.all());
    // The StatefulSets are applied together: either may be the refused one.
    let file_name = file.display().to_string();
    let traced = [("uniq", 2, 5), ("count", 3, 6)].iter().any(|(task, statement, block)| {
        ran.err.contains(&format!(
            "StatefulSet lines-{task} is made for task `{task}` ({file_name}:{statement}:1, its task block at {file_name}:{block}:1)"
        ))
    });
    assert!(traced, "{}", ran.all());
}

#[test]
fn every_service_account_may_do_exactly_what_architecture_md_says() {
    let Some(kube) = cluster("service_accounts") else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-accounts");
    let file = write_file("accounts", "lines.kja", LINES);
    deploy(&kube, &file, &namespace, &["--no-wait"]);
    // What any account may do: the namespace's default one has no binding.
    let everyone = kube.can_i(&namespace, &format!("system:serviceaccount:{namespace}:default"));
    let mut said: BTreeMap<String, std::collections::BTreeSet<(String, String)>> = BTreeMap::new();
    for row in kube::table_in("ARCHITECTURE.md", "service-account-permissions") {
        let account = row[0].replace("p-", "lines-");
        let rules = said.entry(account).or_default();
        if row[1] != "none" {
            rules.insert((row[1].clone(), row[2].replace(',', "")));
        }
    }
    let emitted: Vec<String> = kube
        .items(&namespace, "serviceaccounts", &["-l", "app.kubernetes.io/part-of=lines"])
        .iter()
        .map(|sa| sa["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emitted, said.keys().cloned().collect::<Vec<_>>(), "ARCHITECTURE.md lists every account build emits");
    for (account, expected) in &said {
        let may = kube.can_i(&namespace, &format!("system:serviceaccount:{namespace}:{account}"));
        let beyond: std::collections::BTreeSet<(String, String)> = may.difference(&everyone).cloned().collect();
        assert_eq!(&beyond, expected, "{account}");
    }
}

/// A Role granting `rows` (README's table: resource, verbs), bound to user
/// `user`, applied to `namespace`.
fn grant(kube: &Kube, namespace: &str, user: &str, rows: &[(String, Vec<String>)]) {
    let mut rules = String::new();
    for (resource, verbs) in rows {
        let (resource, group) = match resource.split_once('.') {
            Some((resource, group)) => (resource, group),
            None => (resource.as_str(), ""),
        };
        rules.push_str(&format!(
            "- apiGroups: [\"{group}\"]\n  resources: [\"{resource}\"]\n  verbs: [{}]\n",
            verbs.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
        ));
    }
    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: deployer\n  namespace: {namespace}\nrules:\n{rules}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: deployer\n  namespace: {namespace}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: deployer\nsubjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: {user}\n"
    );
    let applied = kube
        .kubectl_with(&["apply", "--server-side", "--force-conflicts", "--field-manager=test", "-f", "-"], Some(&role));
    assert_eq!(applied.code, 0, "{}", applied.all());
}

/// deploy, diff, status and delete as `user`; the first that fails (exit
/// code, what it printed) or `None`. None of them waits: readiness is not
/// what this is about, and a wait would cost seconds per permission.
fn every_command_as(user: &Kube, file: &Path, namespace: &str) -> Option<(String, Ran)> {
    let file = path_str(file);
    let pipeline = format!("{namespace}/lines");
    let commands: [(&str, Vec<&str>); 4] = [
        ("deploy", vec!["deploy", file, "-n", namespace, "--no-wait"]),
        ("diff", vec!["diff", file, "-n", namespace]),
        ("status", vec!["status", file, "-n", namespace]),
        ("delete", vec!["delete", "--pipeline", &pipeline, "--delete-data"]),
    ];
    for (name, args) in commands {
        let ran = user.koaljac(&args);
        // status reports a refused proxy in its output and exits 0: that is
        // still the command failing at what it is for.
        if ran.code != 0 || ran.out.contains("forbidden") {
            return Some((name.to_owned(), ran));
        }
    }
    None
}

#[test]
fn a_user_with_exactly_the_readme_permissions_can_do_everything_and_with_one_less_cannot() {
    let test = "deployer";
    let Some(kube) = kube::local_cluster(test) else { return };
    let namespace = kube.fresh_namespace("koalja-e2e-deployer");
    let user_config = kube.script(&["user", "koalja-deployer"]);
    assert_eq!(user_config.code, 0, "{}", user_config.all());
    let user = Kube { kubeconfig: user_config.out.trim().into(), kubectl: kube.kubectl.clone(), local: None };
    let file = write_file(test, "lines.kja", LINES);
    let rows: Vec<(String, Vec<String>)> = kube::table_in("README.md", "deploying-user-permissions")
        .into_iter()
        .map(|row| (row[0].clone(), row[1].split(',').map(|v| v.trim().to_owned()).collect()))
        .collect();
    assert_eq!(rows.len(), 12, "{rows:?}");

    // Exactly the table, from an empty namespace: every command works.
    grant(&kube, &namespace, "koalja-deployer", &rows);
    if let Some((command, ran)) = every_command_as(&user, &file, &namespace) {
        panic!("with exactly the README's permissions, {command} failed: {}", ran.all());
    }

    // Then each permission left out in turn, in a namespace of its own: an
    // empty one for `create` (the server checks `create` only when an apply
    // makes the object) and for what the gateway's Role grants (RBAC checks
    // that its creator holds it only when the Role is made or changed); for
    // the others, one where an administrator has deployed the pipeline and
    // then taken a label off every object, so that the user's deploy must
    // patch each one (an object already as the file says gets no request).
    let gateway_role: Vec<(String, String)> = kube::table_in("ARCHITECTURE.md", "service-account-permissions")
        .into_iter()
        .filter(|row| row[0] == "p-gateway")
        .flat_map(|row| {
            let resource = row[1].clone();
            row[2].split(',').map(move |verb| (resource.clone(), verb.trim().to_owned())).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(gateway_role.len(), 9, "{gateway_role:?}");
    let mut tries = 0;
    for (index, (resource, verbs)) in rows.iter().enumerate() {
        for verb in verbs {
            tries += 1;
            let namespace = kube.fresh_namespace(&format!("koalja-e2e-deployer-{tries}"));
            let granted_by_the_gateway_role = gateway_role.iter().any(|(r, v)| r == resource && v == verb);
            if verb != "create" && !granted_by_the_gateway_role {
                kube::deploy(&kube, &file, &namespace, &["--no-wait"]);
                kube.kubectl_ok(&[
                    "label",
                    kube::KINDS,
                    "-n",
                    &namespace,
                    "-l",
                    "app.kubernetes.io/part-of=lines",
                    "app.kubernetes.io/name-",
                ]);
            }
            let mut fewer = rows.clone();
            fewer[index].1.retain(|v| v != verb);
            fewer.retain(|(_, verbs)| !verbs.is_empty());
            grant(&kube, &namespace, "koalja-deployer", &fewer);
            let Some((command, ran)) = every_command_as(&user, &file, &namespace) else {
                panic!("without {verb} on {resource}, every command still worked");
            };
            // What the user reads: the verb and resource refused, in koaljac's
            // words, or in the API server's where it names them (RBAC's
            // escalation check, for a Role granting what the user lacks).
            let plural = resource.split('.').next().unwrap();
            let said = format!("{}{}", ran.err, ran.out);
            let named = said.contains(&format!("may not {verb} {plural}"))
                || said.contains(&format!("cannot {verb} resource \"{plural}\""))
                || (said.contains("attempting to grant RBAC permissions not currently held") && said.contains(plural));
            assert!(named, "without {verb} on {resource}, {command} did not say so clearly: {}", ran.all());
            let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
        }
    }
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// `drop` and `fetch` as a user holding exactly the README's second table,
/// on a pipeline an administrator deployed (with its agents running as
/// pods): both work; without any one of its verbs, one of them fails and
/// says which permission it lacked.
#[test]
fn a_user_with_exactly_the_readme_data_permissions_can_drop_and_fetch_and_with_one_less_cannot() {
    let test = "data-user";
    let Some(kube) = local_cluster(test) else { return };
    let namespace = kube.fresh_pods_namespace("koalja-e2e-data-user");
    let user_config = kube.script(&["user", "koalja-data-user"]);
    assert_eq!(user_config.code, 0, "{}", user_config.all());
    let user = Kube { kubeconfig: user_config.out.trim().into(), kubectl: kube.kubectl.clone(), local: None };
    let file = write_file(test, "lines.kja", LINES);
    deploy_ready(&kube, &file, &namespace, &[]);
    let rows: Vec<(String, Vec<String>)> = kube::table_in("README.md", "data-user-permissions")
        .into_iter()
        .map(|row| (row[0].clone(), row[1].split(',').map(|v| v.trim().to_owned()).collect()))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let pipeline = format!("{namespace}/lines");
    let into = file.with_file_name("fetched");
    let mut drops = 0;
    let mut both = || -> Option<(String, Ran)> {
        drops += 1;
        let data = write_file(test, &format!("{drops}.txt"), &format!("{drops}\n"));
        let dropped = user.koaljac(&["drop", "--pipeline", &pipeline, &format!("in={}", path_str(&data))]);
        if dropped.code != 0 {
            return Some(("drop".to_owned(), dropped));
        }
        let fetched = user.koaljac(&["fetch", "--pipeline", &pipeline, "-o", path_str(&into)]);
        (fetched.code != 0).then(|| ("fetch".to_owned(), fetched))
    };

    grant(&kube, &namespace, "koalja-data-user", &rows);
    if let Some((command, ran)) = both() {
        panic!("with exactly the README's data permissions, {command} failed: {}", ran.all());
    }
    // The drop went through af-east's gateway and came out counted.
    wait_until(Duration::from_secs(60), "the first output", || {
        let fetched = user.koaljac(&["fetch", "--pipeline", &pipeline, "-o", path_str(&into)]);
        fetched.code == 0 && std::fs::read_dir(into.join("out")).is_ok_and(|mut dir| dir.next().is_some())
    });

    for (index, (resource, verbs)) in rows.iter().enumerate() {
        for verb in verbs {
            let mut fewer = rows.clone();
            fewer[index].1.retain(|v| v != verb);
            fewer.retain(|(_, verbs)| !verbs.is_empty());
            grant(&kube, &namespace, "koalja-data-user", &fewer);
            let Some((command, ran)) = both() else {
                panic!("without {verb} on {resource}, drop and fetch still worked");
            };
            let said = format!("{}{}", ran.err, ran.out);
            let named = said.contains(&format!("may not {verb} {resource}"))
                || said.contains(&format!("cannot {verb} resource \"{resource}\""));
            assert!(named, "without {verb} on {resource}, {command} did not say so clearly: {}", ran.all());
        }
    }
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}
