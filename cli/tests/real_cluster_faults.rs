//! Faults of the whole local control plane (`scripts/cluster.sh`), in a test
//! binary of their own so that no other cluster test runs while the API
//! server is down or a node is cordoned (cargo runs test binaries one after
//! another); within this binary the tests take turns (`ONE_AT_A_TIME`).
//!
//! - the API server killed (SIGKILL) in the middle of a deploy and started
//!   again on the same etcd: deploying again converges, nothing is
//!   duplicated, nothing the file still has is pruned;
//! - a rollout that cannot finish (its region's only node cordoned): a
//!   timeout naming the workload, exit 1.

#[path = "support/kube.rs"]
mod kube;

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use koalja_compiler::analysis::analyze_text;
use koalja_compiler::lower::{build, BuildOptions};
use kube::{deploy_ready, path_str, write_file, Kube, LINES};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A chain of `tasks` tasks, `step-1` … `step-N`, all in region af-west.
fn chain(tasks: usize) -> String {
    let mut text = String::from("[demo/chain]\ndefaults { image: \"alpine:3.20\"  region: \"af-west\" }\n");
    for step in 1..=tasks {
        let input = if step == 1 { "in".to_owned() } else { format!("w{step}") };
        let output = if step == tasks { "out".to_owned() } else { format!("w{}", step + 1) };
        text.push_str(&format!(
            "({input}) step-{step} ({output})\ntask step-{step} {{ shell: \"cp {{{input}}} {{{output}}}\" }}\n"
        ));
    }
    text
}

#[test]
fn a_deploy_cut_off_by_an_api_server_crash_converges_when_run_again() {
    let test = "api-server-crash";
    let Some(kube) = kube::local_cluster(test) else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let namespace = kube.fresh_namespace("koalja-e2e-crash");
    let file = write_file(test, "chain.kja", &chain(40));
    let options = BuildOptions { namespace: Some(namespace.clone()), ..BuildOptions::default() };
    let objects = build(&analyze_text(&chain(40), "chain"), &options).expect("the chain builds").len();

    // The deploy runs while the API server is killed under it.
    let deploying = Command::new(env!("CARGO_BIN_EXE_koaljac"))
        .args(["deploy", path_str(&file), "-n", &namespace, "--no-wait", "--kubeconfig"])
        .arg(&kube.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill it once part of the pipeline is there, not all of it.
    let start = Instant::now();
    loop {
        let there = kube.versions(&namespace, "chain").len();
        if there >= 10 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the deploy made only {there} objects in a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    let restarted = kube.script(&["restart-apiserver"]);
    assert_eq!(restarted.code, 0, "{}", restarted.all());
    let cut = deploying.wait_with_output().unwrap();
    let cut_err = String::from_utf8_lossy(&cut.stderr).into_owned();
    let there = kube.versions(&namespace, "chain").len();
    if cut.status.success() {
        // It finished before the API server went down: the test did not
        // test what it says.
        panic!("the deploy was not interrupted (it applied everything before the crash); {there} objects");
    }
    assert_eq!(cut.status.code(), Some(2), "{cut_err}");
    assert!(cut_err.contains("not applied ("), "a cut-off deploy lists what it did not apply: {cut_err}");

    // Deploying again converges: every object once, each task's pod once.
    let again = deploy_ready(&kube, &file, &namespace, &[]);
    assert!(!again.out.contains("  prune "), "nothing the file has is pruned: {}", again.all());
    let versions = kube.versions(&namespace, "chain");
    let built_objects: Vec<&String> =
        versions.keys().filter(|k| !k.starts_with("PersistentVolumeClaim/state-")).collect();
    assert_eq!(built_objects.len(), objects, "{versions:?}");
    let pods = kube.items(&namespace, "pods", &[]);
    let workloads = kube.items(&namespace, "statefulsets,deployments", &[]).len();
    assert_eq!(pods.len(), workloads, "one pod per workload");
    let once = deploy_ready(&kube, &file, &namespace, &[]);
    // The build's objects and the link token's Secret.
    assert!(once.out.contains(&format!("applied: {} unchanged", objects + 1)), "{}", once.all());
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}

/// Uncordons a node when dropped, however the test ends.
struct Cordoned<'k> {
    kube: &'k Kube,
    node: &'static str,
}

impl Drop for Cordoned<'_> {
    fn drop(&mut self) {
        let _ = self.kube.kubectl(&["uncordon", self.node]);
    }
}

#[test]
fn a_rollout_that_cannot_finish_times_out_naming_the_workload() {
    let test = "cordoned";
    let Some(kube) = kube::local_cluster(test) else { return };
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let namespace = kube.fresh_namespace("koalja-e2e-cordoned");
    let file = write_file(test, "lines.kja", LINES);
    deploy_ready(&kube, &file, &namespace, &[]);

    // The tasks live in af-east, whose only node now takes no new pods; a
    // changed command makes the controller replace `count`'s pod.
    kube.kubectl_ok(&["cordon", "node-af-east"]);
    let _uncordon = Cordoned { kube: &kube, node: "node-af-east" };
    write_file(test, "lines.kja", &LINES.replace("wc -l <", "wc -c <"));
    let ran = kube.koaljac(&["deploy", path_str(&file), "-n", &namespace, "--timeout", "15s"]);
    assert_eq!(ran.code, 1, "{}", ran.all());
    assert!(ran.err.contains("error: not ready after 15s:"), "{}", ran.all());
    // Depending on how far the controller got in 15 s, the old pod is still
    // Ready and none is updated, or the updated one waits unscheduled.
    let named = ran.err.lines().find(|l| l.starts_with("  StatefulSet lines-count: ")).unwrap_or_default();
    assert!(named.contains("0/1 ready") || named.contains(", 0 updated"), "{}", ran.all());
    assert!(!ran.err.contains("lines-uniq"), "only the workload that cannot finish is named: {}", ran.all());
    drop(_uncordon);
    // Once the node takes pods again, the same deploy finishes.
    deploy_ready(&kube, &file, &namespace, &[]);
    let _ = kube.kubectl(&["delete", "namespace", &namespace, "--wait=false"]);
}
