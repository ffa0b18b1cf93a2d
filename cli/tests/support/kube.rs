//! The harness of the real-cluster tests (`real_cluster.rs`,
//! `real_cluster_faults.rs`): the cluster the environment names, kubectl and
//! koaljac run against it, namespaces made anew, and what is there to see.
//!
//! `KOALJA_E2E_KUBECONFIG` names the cluster, `KOALJA_E2E_KUBECTL` its
//! kubectl (default: `kubectl` on PATH), and `KOALJA_E2E_LOCAL_CLUSTER`
//! `scripts/cluster.sh` when the cluster is the local one, for what only it
//! can do: restart its API server, issue user certificates, run processes in
//! its pods' network.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The kinds `build` emits, as kubectl names them (for listing a pipeline).
pub const KINDS: &str =
    "serviceaccounts,roles,rolebindings,configmaps,persistentvolumeclaims,services,networkpolicies,statefulsets,deployments";

/// A two-task pipeline whose commands run anywhere (`sort`, `wc`).
pub const LINES: &str = r#"[demo/lines]
(in)        uniq  (stripped)
(stripped)  count (out)
defaults { image: "alpine:3.20" }
task uniq  { shell: "sort {in} | uniq > {stripped}"  region: "af-east" }
task count { shell: "wc -l < {stripped} > {out}"     region: "af-east" }
"#;

/// `LINES` without its `count` task.
pub fn without_count() -> String {
    LINES
        .replace("(stripped)  count (out)\n", "")
        .replace("task count { shell: \"wc -l < {stripped} > {out}\"     region: \"af-east\" }\n", "")
}

/// The cluster under test.
pub struct Kube {
    pub kubeconfig: PathBuf,
    pub kubectl: PathBuf,
    /// `scripts/cluster.sh` when the cluster is the local one.
    pub local: Option<PathBuf>,
}

/// What a command did.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Ran {
    pub fn of(output: Output) -> Ran {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        Ran { code: output.status.code().unwrap_or(-1), out: text(&output.stdout), err: text(&output.stderr) }
    }

    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!("exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.out, self.err)
    }
}

/// The cluster named by the environment, or `None` (and NOT RUN on the
/// terminal) when there is none. Under `KOALJA_REQUIRE_TOOLS=1` (the test
/// script) a missing cluster fails instead.
pub fn cluster(test: &str) -> Option<Kube> {
    let Some(kubeconfig) = std::env::var_os("KOALJA_E2E_KUBECONFIG") else {
        assert!(
            std::env::var("KOALJA_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{test}: KOALJA_REQUIRE_TOOLS=1 but KOALJA_E2E_KUBECONFIG is not set (scripts/test.sh starts the local cluster)"
        );
        // Straight to the terminal: the harness captures the output of
        // passing tests, and this must never pass silently.
        let _ = writeln!(
            std::io::stderr(),
            "NOT RUN: {test} needs KOALJA_E2E_KUBECONFIG (README, \"Testing against a cluster\")"
        );
        return None;
    };
    let kubectl = std::env::var_os("KOALJA_E2E_KUBECTL").map_or_else(|| PathBuf::from("kubectl"), PathBuf::from);
    let local = std::env::var_os("KOALJA_E2E_LOCAL_CLUSTER").map(PathBuf::from);
    Some(Kube { kubeconfig: PathBuf::from(kubeconfig), kubectl, local })
}

/// The local cluster of `scripts/cluster.sh`, or NOT RUN.
pub fn local_cluster(test: &str) -> Option<Kube> {
    let kube = cluster(test)?;
    if kube.local.is_none() {
        let _ = writeln!(std::io::stderr(), "NOT RUN: {test} needs the local cluster (KOALJA_E2E_LOCAL_CLUSTER)");
        return None;
    }
    Some(kube)
}

impl Kube {
    pub fn kubectl_with(&self, args: &[&str], stdin: Option<&str>) -> Ran {
        let mut command = Command::new(&self.kubectl);
        command.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        run(command, stdin)
    }

    pub fn kubectl(&self, args: &[&str]) -> Ran {
        self.kubectl_with(args, None)
    }

    /// kubectl's standard output; the test fails if it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let ran = self.kubectl(args);
        assert_eq!(ran.code, 0, "kubectl {}\n{}", args.join(" "), ran.all());
        ran.out
    }

    /// The items of `kubectl get WHAT -n NAMESPACE -o json [EXTRA…]`.
    pub fn items(&self, namespace: &str, what: &str, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["get", what, "-n", namespace, "-o", "json"];
        args.extend_from_slice(extra);
        let list: Value = serde_json::from_str(&self.kubectl_ok(&args)).expect("kubectl prints JSON");
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// `koaljac ARGS… --kubeconfig K` (every cluster command takes it).
    pub fn koaljac(&self, args: &[&str]) -> Ran {
        run(self.koaljac_command(args), None)
    }

    fn koaljac_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_koaljac"));
        command.args(args).arg("--kubeconfig").arg(&self.kubeconfig);
        command
    }

    /// `koaljac ARGS --kubeconfig …` started and left running, its output
    /// piped (end it with `terminate`).
    pub fn koaljac_spawn(&self, args: &[&str]) -> std::process::Child {
        self.koaljac_command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start koaljac {args:?}: {e}"))
    }

    /// The local API server's audit log (`scripts/cluster.sh` has it write
    /// every request of the admin user), or `None` on another cluster.
    fn audit_log(&self) -> Option<PathBuf> {
        let script = self.local.as_ref()?;
        Some(script.parent()?.parent()?.join("target/cluster/logs/audit.log"))
    }

    /// Where the audit log ends now: `requests_since` counts from here.
    pub fn audit_mark(&self) -> Option<u64> {
        Some(std::fs::metadata(self.audit_log()?).map_or(0, |m| m.len()))
    }

    /// The requests `koaljac` (by its User-Agent) sent about `namespace`
    /// since `mark`, as `verb resource[/name]`, in order.
    pub fn koaljac_requests_since(&self, mark: u64, namespace: &str) -> Vec<String> {
        let log = std::fs::read(self.audit_log().expect("the local cluster")).expect("the audit log");
        let start = usize::try_from(mark).unwrap().min(log.len());
        String::from_utf8_lossy(&log[start..])
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|event| event["userAgent"].as_str().is_some_and(|agent| agent.starts_with("koaljac/")))
            .filter(|event| event["objectRef"]["namespace"] == namespace)
            .map(|event| {
                let resource = event["objectRef"]["resource"].as_str().unwrap_or("?");
                match event["objectRef"]["name"].as_str() {
                    Some(name) => format!("{} {resource}/{name}", event["verb"].as_str().unwrap_or("?")),
                    None => format!("{} {resource}", event["verb"].as_str().unwrap_or("?")),
                }
            })
            .collect()
    }

    /// `scripts/cluster.sh ARGS…` of the local cluster.
    pub fn script(&self, args: &[&str]) -> Ran {
        let script = self.local.as_ref().expect("the local cluster");
        let mut command = Command::new(script);
        command.args(args);
        run(command, None)
    }

    /// `koaljac build FILE -n NAMESPACE`'s YAML.
    pub fn koaljac_build(&self, file: &Path, namespace: &str) -> String {
        let mut command = Command::new(env!("CARGO_BIN_EXE_koaljac"));
        command.args(["build", path_str(file), "-n", namespace]);
        let ran = run(command, None);
        assert_eq!(ran.code, 0, "{}", ran.all());
        ran.out
    }

    /// What `who` may do in `namespace` as the API server's authorizer
    /// reports it (`kubectl auth can-i --list`): (resource, verbs) pairs.
    /// Non-resource URLs are left out: every account may read the same ones.
    pub fn can_i(&self, namespace: &str, who: &str) -> BTreeSet<(String, String)> {
        let table = self.kubectl_ok(&["auth", "can-i", "--list", &format!("--as={who}"), "-n", namespace]);
        table
            .lines()
            .skip(1)
            .filter(|line| !line.starts_with(' '))
            .filter_map(|line| {
                let resource = line.split_whitespace().next()?.to_owned();
                let verbs = line.rsplit_once('[')?.1.trim_end().trim_end_matches(']').to_owned();
                Some((resource, verbs))
            })
            .collect()
    }

    /// A namespace made anew, labelled for the restricted Pod Security
    /// Standard, with its default ServiceAccount made (pods wait for it).
    pub fn fresh_namespace(&self, name: &str) -> String {
        self.kubectl_ok(&["delete", "namespace", name, "--ignore-not-found", "--wait", "--timeout=180s"]);
        self.kubectl_ok(&["create", "namespace", name]);
        self.kubectl_ok(&[
            "label",
            "namespace",
            name,
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/warn=restricted",
            "pod-security.kubernetes.io/audit=restricted",
        ]);
        wait_until(Duration::from_secs(60), "the namespace's default ServiceAccount", || {
            self.kubectl(&["get", "serviceaccount", "default", "-n", name]).code == 0
        });
        name.to_owned()
    }

    /// `fresh_namespace`, labelled `koalja.dev/pods=run`: the local
    /// cluster's node runs its pods as real processes (tests/cluster/pods.go).
    pub fn fresh_pods_namespace(&self, name: &str) -> String {
        let namespace = self.fresh_namespace(name);
        self.kubectl_ok(&["label", "namespace", &namespace, "koalja.dev/pods=run"]);
        namespace
    }

    /// `Kind/name` → resourceVersion of every object of pipeline `pipeline`.
    pub fn versions(&self, namespace: &str, pipeline: &str) -> BTreeMap<String, String> {
        let selector = format!("app.kubernetes.io/part-of={pipeline}");
        self.items(namespace, KINDS, &["-l", &selector])
            .iter()
            .map(|o| {
                let key = format!("{}/{}", o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap());
                (key, o["metadata"]["resourceVersion"].as_str().unwrap().to_owned())
            })
            .collect()
    }

    /// Task label → (pod uid, node) of every pod in `namespace`.
    pub fn pods(&self, namespace: &str) -> BTreeMap<String, (String, String)> {
        self.items(namespace, "pods", &[])
            .iter()
            .filter(|pod| pod["metadata"]["deletionTimestamp"].is_null())
            .map(|pod| {
                let task = pod["metadata"]["labels"]["koalja.dev/task"].as_str().unwrap_or_default().to_owned();
                let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
                let node = pod["spec"]["nodeName"].as_str().unwrap_or_default().to_owned();
                (task, (uid, node))
            })
            .collect()
    }
}

pub fn run(mut command: Command, stdin: Option<&str>) -> Ran {
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    Ran::of(child.wait_with_output().unwrap())
}

/// The next number of a xorshift64 generator: seeded, so a test's "random"
/// moments and bytes are the same on every run.
pub fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// SIGTERM to `child`, then everything it printed.
pub fn terminate(child: std::process::Child) -> Ran {
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    Ran::of(child.wait_with_output().unwrap())
}

/// The status code of one plain HTTP/1.1 request (`METHOD PATH`, with an
/// extra `header` line unless empty and no body) to `address`: what any
/// client on the pod network gets, with no credential of the cluster's.
pub fn http_status(address: &str, request: &str, header: &str) -> u16 {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address).unwrap_or_else(|e| panic!("cannot reach {address}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let header = if header.is_empty() { String::new() } else { format!("{header}\r\n") };
    let length = if request.starts_with("PUT ") { "Content-Length: 0\r\n" } else { "" };
    write!(stream, "{request} HTTP/1.1\r\nHost: {address}\r\n{header}{length}Connection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("{address}: {answer}"))
}

pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The directory that holds claim `claim` of the local cluster's pods that
/// koalja-pods runs (`target/cluster/pods/claims/NS/CLAIM-UID/`).
pub fn claim_dir(namespace: &str, claim: &str) -> Option<PathBuf> {
    let claims = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/cluster/pods/claims").join(namespace);
    std::fs::read_dir(&claims)
        .ok()?
        .flatten()
        .find(|entry| entry.file_name().to_string_lossy().starts_with(&format!("{claim}-")))
        .map(|entry| entry.path())
}

/// The files (name, size) in directory `sub` of claim `claim` (see `claim_dir`).
pub fn claim_files(namespace: &str, claim: &str, sub: &str) -> Vec<(String, u64)> {
    let Some(dir) = claim_dir(namespace, claim) else { return Vec::new() };
    let mut found = Vec::new();
    for file in std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten() {
        let size = file.metadata().map_or(0, |m| m.len());
        found.push((file.file_name().to_string_lossy().into_owned(), size));
    }
    found.sort();
    found
}

/// The claims (by name) of `namespace` in the local cluster's pods that
/// hold a file whose name contains `needle`, at any depth.
pub fn claims_holding(namespace: &str, needle: &str) -> std::collections::BTreeSet<String> {
    fn holds(dir: &Path, needle: &str) -> bool {
        std::fs::read_dir(dir).into_iter().flatten().flatten().any(|entry| {
            let path = entry.path();
            if path.is_dir() {
                holds(&path, needle)
            } else {
                entry.file_name().to_string_lossy().contains(needle)
            }
        })
    }
    let claims = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/cluster/pods/claims").join(namespace);
    std::fs::read_dir(&claims)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| holds(&entry.path(), needle))
        // `CLAIM-UID`: a uid is 36 characters.
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.len().checked_sub(37).map(|end| name[..end].to_owned())
        })
        .collect()
}

/// The process id of the `koalja-agent` that koalja-pods runs for the pod
/// of uid `uid`: the one process of that name in the pod's network
/// namespace (`kp-` and the uid's first 8 characters).
pub fn agent_pid(uid: &str) -> Option<i32> {
    let pids = std::process::Command::new("ip").args(["netns", "pids", &format!("kp-{}", &uid[..8])]).output().ok()?;
    String::from_utf8_lossy(&pids.stdout).split_whitespace().filter_map(|pid| pid.parse().ok()).find(|pid: &i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == "koalja-agent")
    })
}

/// A file `name` holding `text` in this test's own directory.
pub fn write_file(test: &str, name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-cluster").join(test);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Deploys `file` into `namespace` and waits for it; the test fails unless
/// every workload becomes ready.
pub fn deploy_ready(kube: &Kube, file: &Path, namespace: &str, extra: &[&str]) -> Ran {
    let ran = deploy(kube, file, namespace, extra);
    assert!(ran.out.contains("ready: "), "{}", ran.all());
    ran
}

/// Deploys `file` into `namespace`; the test fails unless it exits 0.
pub fn deploy(kube: &Kube, file: &Path, namespace: &str, extra: &[&str]) -> Ran {
    let mut args = vec!["deploy", path_str(file), "-n", namespace, "--timeout", "180s"];
    args.extend_from_slice(extra);
    let ran = kube.koaljac(&args);
    assert_eq!(ran.code, 0, "{}", ran.all());
    ran
}

/// Waits until every StatefulSet and Deployment in `namespace` has all its
/// replicas ready (their status, and so their resourceVersion, settles).
pub fn wait_for_workloads(kube: &Kube, namespace: &str) {
    wait_until(Duration::from_secs(180), "the workloads' readiness", || {
        kube.items(namespace, "statefulsets,deployments", &[]).iter().all(|w| {
            w["status"]["readyReplicas"].as_i64() == w["spec"]["replicas"].as_i64()
                && w["status"]["observedGeneration"] == w["metadata"]["generation"]
        })
    });
}

/// The region of each region-pinned task of `file`, by its Kubernetes
/// name (the pods' task label), as the checker reads the file.
pub fn regions(file: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(file).unwrap();
    koalja_compiler::analysis::analyze_text(&text, "p")
        .pipeline
        .tasks
        .iter()
        .filter_map(|task| {
            let region = task.settings.region.as_ref()?;
            Some((koalja_compiler::check::names::kubernetes_name(&task.name).to_string(), region.to_string()))
        })
        .collect()
}

/// The rows of the Markdown table that follows `<!-- MARKER` in `file`
/// (relative to the repository), up to `<!-- end -->`, as trimmed cells
/// with backticks removed; the header and its rule are skipped.
pub fn table_in(file: &str, marker: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(&format!("<!-- {marker}")).unwrap_or_else(|| panic!("no {marker} table in {file}"));
    let body = &text[start..];
    let body = &body[..body.find("<!-- end -->").expect("the table's end marker")];
    body.lines()
        .filter(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| line.trim_matches('|').split('|').map(|cell| cell.trim().replace('`', "")).collect())
        .collect()
}
