//! The agent binary as pods run it: one process per task plus the gateway,
//! talking real HTTP on loopback, reading the IR the way it is mounted
//! (gzipped and split over `ir.json`, `ir.json.1`). The IR is
//! `tests/data/linecount.ir.json`, which a compiler test keeps equal to
//! `koaljac check --emit ir examples/linecount.kja`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use koalja_agent::auth::Credential;
use koalja_agent::link::Link;
use koalja_agent::record::RunStatus;

const AGENT: &str = env!("CARGO_BIN_EXE_koalja-agent");

/// The pipeline's link token in these tests (a mounted Secret on a cluster).
const TOKEN: &str = "7e57ab1e7e57ab1e7e57ab1e7e57ab1e";

/// A link client that carries the token, as every agent's does.
fn link() -> Link {
    Link::new(&Credential::new(TOKEN).unwrap())
}

/// A plain HTTP client that carries the token.
fn client() -> reqwest::Client {
    let headers = reqwest::header::HeaderMap::from_iter([(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    )]);
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("agents").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Writes the IR gzipped and split in two, as `koaljac build` does for a
/// large IR; returns the path of the first part.
fn mount_ir(dir: &Path) -> PathBuf {
    let json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/linecount.ir.json")).unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&json).unwrap();
    let gz = encoder.finish().unwrap();
    let (first, second) = gz.split_at(gz.len() / 2);
    std::fs::write(dir.join("ir.json"), first).unwrap();
    std::fs::write(dir.join("ir.json.1"), second).unwrap();
    dir.join("ir.json")
}

struct Agents(Vec<Child>);

impl Drop for Agents {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The command line of agent `name` (`gateway`, or a task) as pods run it,
/// with its state under `dir/state/<name>`, the token in `dir/token`, on
/// `port`, told where `peers` (`AGENT=URL`) are.
fn agent_args(dir: &Path, ir: &Path, name: &str, port: u16, peers: &[String]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = match name {
        "gateway" => vec!["gateway".into()],
        task => vec!["task".into(), "--task".into(), task.into()],
    };
    args.extend(["--ir".into(), ir.into(), "--state".into(), dir.join("state").join(name).into()]);
    args.extend(["--listen".into(), format!("127.0.0.1:{port}").into()]);
    args.extend(["--token-file".into(), dir.join("token").into()]);
    args.extend(peers.iter().flat_map(|peer| ["--peer".into(), peer.into()]));
    args
}

/// Writes the test token where `agent_args` has agents read it.
fn write_token(dir: &Path) {
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
}

/// One agent process per name (`gateway`, or a task), each on a port of its
/// own and told every other's address; their ports, in `names`' order.
fn start_agents(dir: &Path, ir: &Path, names: &[&str]) -> (Agents, Vec<u16>) {
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let peers: Vec<String> =
        names.iter().zip(&ports).map(|(name, port)| format!("{name}=http://127.0.0.1:{port}")).collect();
    write_token(dir);
    let mut agents = Agents(Vec::new());
    for (name, port) in names.iter().zip(&ports) {
        let mut command = Command::new(AGENT);
        command.args(agent_args(dir, ir, name, *port, &peers)).stderr(Stdio::inherit());
        agents.0.push(command.spawn().unwrap());
    }
    (agents, ports)
}

/// A gateway alone (on linecount's IR) in a fresh directory of its own.
fn start_gateway(name: &str) -> (PathBuf, Agents, Vec<u16>) {
    let dir = scratch(name);
    let ir = mount_ir(&dir);
    let (agents, ports) = start_agents(&dir, &ir, &["gateway"]);
    (dir, agents, ports)
}

fn terminate(child: &mut Child) -> Option<i32> {
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    child.wait().unwrap().code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_agents_and_the_gateway_run_a_pipeline_as_separate_processes() {
    let dir = scratch("linecount");
    let ir = mount_ir(&dir);
    let (mut agents, ports) = start_agents(&dir, &ir, &["gateway", "uniq-lines", "count-lines"]);

    let gateway = format!("http://127.0.0.1:{}", ports[0]);
    let link = link();
    let started = Instant::now();
    let av = loop {
        match link.drop_file(&gateway, "in", "my data.txt", b"b\na\nb\nc\n".to_vec()).await {
            Ok(av) => break av,
            Err(error) if started.elapsed() > Duration::from_secs(20) => panic!("the gateway never answered: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(av, "gateway.1.in");
    let refused = link.drop_file(&gateway, "stripped", "x", b"x".to_vec()).await.unwrap_err();
    assert!(refused.message.contains("not a pipeline input"), "{refused}");

    let out = dir.join("state/gateway/out/out/count-lines.1.out");
    while !out.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "no output arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "3");
    // The gateway serves what it collected.
    let listed: serde_json::Value =
        client().get(format!("{gateway}/v1/outputs")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["id"], "count-lines.1.out");
    let bytes =
        client().get(format!("{gateway}/v1/outputs/count-lines.1.out")).send().await.unwrap().text().await.unwrap();
    assert_eq!(bytes.trim(), "3");
    // …and the provenance of the whole pipeline, gathered from the agents.
    let gathered: serde_json::Value =
        client().get(format!("{gateway}/v1/pipeline/runs")).send().await.unwrap().json().await.unwrap();
    let tasks: Vec<&str> = gathered["runs"].as_array().unwrap().iter().map(|r| r["task"].as_str().unwrap()).collect();
    assert_eq!(tasks, ["uniq-lines", "count-lines"]);
    assert_eq!(gathered["unreachable"], serde_json::json!([]));
    let runs = link.runs(&format!("http://127.0.0.1:{}", ports[2]), 0).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outputs, vec!["count-lines.1.out"]);
    // Paged: none after the last.
    let after: serde_json::Value = client()
        .get(format!("http://127.0.0.1:{}/v1/runs?after=1&limit=1", ports[2]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, serde_json::json!([]));

    for child in &mut agents.0 {
        assert_eq!(terminate(child), Some(0), "SIGTERM stops an agent cleanly");
    }
    agents.0.clear();
}

/// `split` makes two `dir` payloads per run and `join` takes both: each
/// must arrive as itself, every time (they once went through one temporary
/// name, and `join` now and then saw `b`'s payload as `a`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_payloads_of_one_run_reach_a_consumer_each_as_itself() {
    let dir = scratch("split-join");
    let ir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/split-join.ir.json");
    let (mut agents, ports) = start_agents(&dir, Path::new(ir), &["gateway", "split", "join"]);
    let gateway = format!("http://127.0.0.1:{}", ports[0]);
    let link = link();
    let started = Instant::now();
    for i in 0..20 {
        loop {
            match link.drop_file(&gateway, "in", &format!("{i:02}"), format!("{i}\n").into_bytes()).await {
                Ok(_) => break,
                Err(error) if started.elapsed() > Duration::from_secs(20) => {
                    panic!("the gateway never answered: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    let out = dir.join("state/gateway/out/out");
    let joined = loop {
        let found: Vec<PathBuf> =
            std::fs::read_dir(&out).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        let done: Vec<PathBuf> =
            found.into_iter().filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')).collect();
        if done.len() == 20 {
            break done;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{} of 20 outputs arrived", done.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for path in joined {
        let content = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = content.lines().collect();
        let value = lines.first().and_then(|l| l.strip_prefix("a:")).unwrap_or("?");
        assert_eq!(
            lines,
            [format!("a:{value}"), format!("b:{value}")],
            "{}: a payload taken for another",
            path.display()
        );
    }
    for child in &mut agents.0 {
        assert_eq!(terminate(child), Some(0), "SIGTERM stops an agent cleanly");
    }
    agents.0.clear();
}

/// A drop is streamed to disk: it has no size limit of its own (axum's
/// default once refused anything over 2 MB with 413).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_drop_is_taken_whole() {
    let (dir, mut agents, ports) = start_gateway("large-drop");
    let gateway = format!("http://127.0.0.1:{}", ports[0]);
    let bytes: Vec<u8> = (0..24 << 20).map(|i: u32| b'a' + (i % 26) as u8).collect();
    let link = link();
    let started = Instant::now();
    let av = loop {
        match link.drop_file(&gateway, "in", "big.txt", bytes.clone()).await {
            Ok(av) => break av,
            Err(error) if started.elapsed() > Duration::from_secs(20) || error.message.contains("413") => {
                panic!("the drop was refused: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(av, "gateway.1.in");
    let stored: Vec<PathBuf> =
        std::fs::read_dir(dir.join("state/gateway/gateway/payloads")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), bytes, "the payload is the bytes dropped");
    assert_eq!(terminate(&mut agents.0[0]), Some(0));
    agents.0.clear();
}

/// A client that stops in the middle of an upload feeds nothing and leaves
/// nothing staged; the next drop is the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_breaks_off_feeds_nothing() {
    use tokio::io::AsyncWriteExt;
    let (dir, mut agents, ports) = start_gateway("broken-upload");
    let gateway = format!("http://127.0.0.1:{}", ports[0]);
    let started = Instant::now();
    let mut stream = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", ports[0])).await {
            Ok(stream) => break stream,
            Err(error) if started.elapsed() > Duration::from_secs(20) => panic!("the gateway never listened: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    // A million bytes announced, a few sent, then the connection closed.
    let head = format!(
        "PUT /v1/drop/in/half.txt HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 1000000\r\n\r\nonly a few bytes"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.shutdown().await.unwrap();
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let staging = dir.join("state/gateway/gateway/staging");
    let staged: Vec<_> = std::fs::read_dir(&staging).expect("the gateway's staging directory").flatten().collect();
    assert!(staged.is_empty(), "a broken upload left {staged:?}");
    let av = link().drop_file(&gateway, "in", "whole.txt", b"whole\n".to_vec()).await.unwrap();
    assert_eq!(av, "gateway.1.in", "the broken upload fed nothing");
    assert_eq!(terminate(&mut agents.0[0]), Some(0));
    agents.0.clear();
}

/// A file sent in parts: each part lands only at the end of what arrived
/// (a part sent twice is refused with the size so far), and the upload is
/// dropped only at the size the client says it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_in_parts_is_dropped_whole_and_never_doubles_a_part() {
    let (dir, mut agents, ports) = start_gateway("upload-parts");
    let gateway = format!("http://127.0.0.1:{}", ports[0]);
    let client = client();
    let put = |offset: u64, body: &'static str| {
        client.put(format!("{gateway}/v1/uploads/u1?offset={offset}")).body(body).send()
    };
    let started = Instant::now();
    let first = loop {
        match put(0, "abc").await {
            Ok(response) => break response,
            Err(error) if started.elapsed() > Duration::from_secs(20) => panic!("the gateway never answered: {error}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(first.status(), 200);
    let again = put(0, "abc").await.unwrap();
    assert_eq!(again.status(), 409, "a part sent twice is not added twice");
    let answer: serde_json::Value = again.json().await.unwrap();
    assert_eq!(answer["size"], 3);
    let second: serde_json::Value = put(3, "def").await.unwrap().json().await.unwrap();
    assert_eq!(second["size"], 6);
    let drop = |size: u64| client.post(format!("{gateway}/v1/uploads/u1/drop/in/parts.txt?size={size}")).send();
    assert_eq!(drop(5).await.unwrap().status(), 409, "dropped only at the size the client sent");
    let dropped: serde_json::Value = drop(6).await.unwrap().json().await.unwrap();
    assert_eq!(dropped["av"], "gateway.1.in");
    let stored = dir.join("state/gateway/gateway/payloads/gateway.1.in--parts.txt");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), "abcdef");
    let bad = client.put(format!("{gateway}/v1/uploads/..%2Fx?offset=0")).body("x").send().await.unwrap();
    assert_eq!(bad.status(), 400, "an upload id is a plain name");
    assert_eq!(terminate(&mut agents.0[0]), Some(0));
    agents.0.clear();
}

#[test]
fn an_unreadable_ir_or_token_is_an_agent_fault_exit_64() {
    let dir = scratch("fault");
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let agent = |args: &[&str], ir: &Path, token: &Path| {
        Command::new(AGENT)
            .args(args)
            .arg("--ir")
            .arg(ir)
            .arg("--state")
            .arg(dir.join("state"))
            .arg("--token-file")
            .arg(token)
            .output()
            .unwrap()
    };
    let output = agent(&["task", "--task", "t"], &dir.join("missing.json"), &dir.join("token"));
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the IR"));
    std::fs::write(dir.join("ir.json"), "{\"ir_version\": 9}").unwrap();
    let output = agent(&["gateway"], &dir.join("ir.json"), &dir.join("token"));
    assert_eq!(output.status.code(), Some(64));
    // An agent never serves without the pipeline's credential.
    let ir = mount_ir(&dir);
    let output = agent(&["gateway"], &ir, &dir.join("no-token"));
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the link token"));
    std::fs::write(dir.join("short"), "secret").unwrap();
    let output = agent(&["gateway"], &ir, &dir.join("short"));
    assert_eq!(output.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("at least 32"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The children of `pid` and their states (`/proc/*/stat`).
fn children_of(pid: u32) -> Vec<(u32, char)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid …; comm may hold spaces, so after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(parent)) = (fields.first(), fields.get(1)) else { continue };
        if parent.parse::<u32>().ok() == Some(pid) {
            let child = head.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(0);
            found.push((child, state.chars().next().unwrap_or('?')));
        }
    }
    found
}

/// As PID 1 of a PID namespace of its own (a container's), the agent reaps
/// the orphans its runs leave (a background job whose shell exited) and
/// passes SIGTERM on to the agent behind its init. The same agent made PID
/// 1 without its init (as before it had one) leaves them zombies: the
/// check can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_pid_1_the_agent_reaps_orphans_and_passes_sigterm_on() {
    for with_init in [true, false] {
        let dir = scratch(if with_init { "pid-1" } else { "pid-1-without-init" });
        let ir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/orphans.ir.json"));
        let (gateway_port, port) = (free_port(), free_port());
        let peers = [format!("gateway=http://127.0.0.1:{gateway_port}"), format!("spawn=http://127.0.0.1:{port}")];
        write_token(&dir);
        let mut agents = Agents(vec![Command::new(AGENT)
            .args(agent_args(&dir, ir, "gateway", gateway_port, &peers))
            .spawn()
            .unwrap()]);
        let gateway = format!("http://127.0.0.1:{gateway_port}");
        let mut command = Command::new("unshare");
        command
            .args(["--pid", "--fork", "--kill-child"])
            .arg(AGENT)
            .args(agent_args(&dir, ir, "spawn", port, &peers))
            .stderr(Stdio::null());
        if !with_init {
            command.env("KOALJA_AGENT_UNDER_INIT", "1");
        }
        // In `agents` too, so that a failing test leaves no agent behind.
        agents.0.push(command.spawn().unwrap());
        let unshare = agents.0.len() - 1;
        let started = Instant::now();
        for n in 0..3 {
            loop {
                match link().drop_file(&gateway, "in", &format!("f{n}"), format!("{n}\n").into_bytes()).await {
                    Ok(_) => break,
                    Err(error) if started.elapsed() > Duration::from_secs(20) => panic!("no gateway: {error}"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }
        let out = dir.join("state/gateway/out/out");
        loop {
            let done = std::fs::read_dir(&out)
                .map(|d| d.flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count())
                .unwrap_or(0);
            if done == 3 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{done} of 3 outputs arrived");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The namespace's PID 1 is unshare's child.
        let init = children_of(agents.0[unshare].id()).first().map(|(pid, _)| *pid).expect("unshare's child");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let zombies = children_of(init).iter().filter(|(_, state)| *state == 'Z').count();
        if with_init {
            assert_eq!(zombies, 0, "the init reaped every orphan: {:?}", children_of(init));
        } else {
            assert!(zombies >= 3, "without the init, each run's orphan stays a zombie: {:?}", children_of(init));
        }
        // SAFETY: signalling the namespace's PID 1, a process of this test.
        unsafe {
            libc::kill(init as i32, libc::SIGTERM);
        }
        let stopped = agents.0[unshare].wait().unwrap();
        assert_eq!(stopped.code(), Some(0), "SIGTERM to PID 1 stops the agent cleanly");
        assert_eq!(terminate(&mut agents.0[0]), Some(0));
        agents.0.clear();
    }
}

/// Drops `name` into `wire` at the gateway, retrying while it comes up.
async fn drop_when_up(gateway: &str, wire: &str, name: &str, content: &[u8]) {
    let started = Instant::now();
    while let Err(error) = link().drop_file(gateway, wire, name, content.to_vec()).await {
        assert!(started.elapsed() < Duration::from_secs(20), "the gateway never answered: {error}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many runs of `task` have started code so far (each run's code
/// touches `started` in its private working directory).
fn started_runs(dir: &Path, task: &str) -> usize {
    let runs = dir.join("state").join(task).join("runs");
    let pids = std::fs::read_dir(runs).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>()).unwrap_or_default();
    pids.iter()
        .flat_map(|pid| std::fs::read_dir(pid).into_iter().flatten().flatten())
        .filter(|slot| slot.path().join("started").exists())
        .count()
}

async fn wait_for_started(dir: &Path, task: &str, count: usize) {
    let started = Instant::now();
    while started_runs(dir, task) < count {
        assert!(started.elapsed() < Duration::from_secs(30), "run {count} of `{task}` never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM to an agent whose code is running drains it: the code gets
/// SIGTERM too, and a run whose code finishes on it (exit 0) is kept with
/// its output; code that ignores it is killed after `--drain-seconds`, its
/// run left pending, and run again by the next start. The agent exits 0
/// both times. (Before, the code was killed at once and every run repeated.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_running_code_and_keeps_what_finishes() {
    let dir = scratch("drain");
    let ir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/drain.ir.json"));
    let (gateway_port, port) = (free_port(), free_port());
    let peers = [format!("gateway=http://127.0.0.1:{gateway_port}"), format!("slow=http://127.0.0.1:{port}")];
    write_token(&dir);
    let gateway = format!("http://127.0.0.1:{gateway_port}");
    let slow = format!("http://127.0.0.1:{port}");
    let start_slow = || {
        Command::new(AGENT)
            .args(agent_args(&dir, ir, "slow", port, &peers))
            .args(["--drain-seconds", "2"])
            .spawn()
            .unwrap()
    };
    let mut agents =
        Agents(vec![Command::new(AGENT).args(agent_args(&dir, ir, "gateway", gateway_port, &peers)).spawn().unwrap()]);
    agents.0.push(start_slow());

    drop_when_up(&gateway, "in", "f1", b"finish\n").await;
    wait_for_started(&dir, "slow", 1).await;
    let stopping = Instant::now();
    assert_eq!(terminate(&mut agents.0[1]), Some(0), "a drained agent exits 0");
    assert!(stopping.elapsed() < Duration::from_secs(2), "the code was not told to stop: {:?}", stopping.elapsed());

    agents.0[1] = start_slow();
    wait_healthy(&slow).await;
    let runs = link().runs(&slow, 0).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, koalja_agent::record::RunStatus::Succeeded, "{runs:?}");
    assert_eq!(runs[0].outputs, vec!["slow.1.out"]);
    let out = dir.join("state/gateway/out/out/slow.1.out");
    let collected = Instant::now();
    while std::fs::read_to_string(&out).ok().as_deref() != Some("finish\n") {
        assert!(collected.elapsed() < Duration::from_secs(20), "the drained run's output never reached the gateway");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(started_runs(&dir, "slow"), 1, "the finished run was not run again");

    drop_when_up(&gateway, "in", "f2", b"stubborn\n").await;
    wait_for_started(&dir, "slow", 2).await;
    let stopping = Instant::now();
    assert_eq!(terminate(&mut agents.0[1]), Some(0), "an agent whose code had to be killed exits 0 too");
    let took = stopping.elapsed();
    assert!(took >= Duration::from_secs(2), "killed before its grace: {took:?}");
    assert!(took < Duration::from_secs(15), "the drain did not end: {took:?}");

    agents.0[1] = start_slow();
    wait_healthy(&slow).await;
    let runs = link().runs(&slow, 0).await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_ne!(runs[1].status, koalja_agent::record::RunStatus::Failed, "a cut-short run is no failure: {runs:?}");
    wait_for_started(&dir, "slow", 3).await;
    assert_eq!(terminate(&mut agents.0[0]), Some(0));
}

/// The agent with `args`, its state directory `state` a 2 MiB tmpfs in a
/// mount namespace of its own (the agent is the process spawned: `exec`).
fn on_small_volume(state: &Path, args: Vec<std::ffi::OsString>) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=2m koalja-full "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(state)
        .arg(AGENT)
        .args(args);
    command
}

/// The agent at `base`'s `/v1/status` once it reports a last error.
async fn wait_for_trouble(base: &str) -> serde_json::Value {
    let started = Instant::now();
    loop {
        if let Ok(answer) = client().get(format!("{base}/v1/status")).send().await {
            let status: serde_json::Value = answer.json().await.unwrap();
            if !status["last_error"].is_null() {
                return status;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no trouble reported");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The runs of the task agent at `base` once `count` of them have finished.
async fn wait_for_finished_runs(base: &str, count: usize) -> Vec<koalja_agent::record::RunRecord> {
    let started = Instant::now();
    loop {
        let runs = link().runs(base, 0).await.unwrap_or_default();
        if runs.iter().filter(|run| !matches!(run.status, RunStatus::Pending | RunStatus::Running)).count() >= count {
            return runs;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{count} finished runs at {base}: {runs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A gateway whose volume fills up (a 2 MiB tmpfs, in a mount namespace of
/// its own) refuses the drop that does not fit with 507 and says why, and
/// loses nothing: what was fed before is still served whole, the refused
/// file's staging is gone, and the next drop that fits is fed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_the_drop_that_does_not_fit_and_loses_nothing() {
    let dir = scratch("full-disk");
    let ir = mount_ir(&dir);
    write_token(&dir);
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let port = free_port();
    let mut agents =
        Agents(vec![on_small_volume(&state, agent_args(&dir, &ir, "gateway", port, &[])).spawn().unwrap()]);
    let gateway = format!("http://127.0.0.1:{port}");
    let small = |n: u8| vec![b'a' + n; 100 << 10];
    drop_when_up(&gateway, "in", "f1", &small(0)).await;
    let refused = link().drop_file(&gateway, "in", "big", vec![b'x'; 3 << 20]).await.unwrap_err();
    assert_eq!(refused.status, Some(507), "{refused}");
    assert!(refused.message.contains("volume is full"), "{refused}");
    link().drop_file(&gateway, "in", "f2", small(1)).await.expect("a drop that fits after the refusal");
    let fed = link().poll(&gateway, "in", 0, Duration::ZERO, None).await.unwrap();
    let names: Vec<&str> = fed.iter().map(|entry| entry.av.name.as_str()).collect();
    assert_eq!(names, ["f1", "f2"]);
    for (entry, n) in fed.iter().zip(0..) {
        let url = format!("{gateway}/v1/payload/{}?consumer=uniq-lines", entry.av.id);
        let bytes = client().get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(bytes.to_vec(), small(n), "{} is served whole", entry.av.id);
    }
    assert_eq!(terminate(&mut agents.0[0]), Some(0));
    agents.0.clear();
}

/// A task agent whose volume (a 2 MiB tmpfs, in a mount namespace of its
/// own) cannot hold a payload it must take keeps running and says why in
/// `/v1/status`, keeps what it had, and takes the payload once the volume
/// has room (grown in place, as a resized claim is): no crash loop, nothing
/// lost or taken twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_agent_on_a_full_volume_waits_for_room_and_loses_nothing() {
    let dir = scratch("task-full-disk");
    let ir = mount_ir(&dir);
    write_token(&dir);
    let (gateway_port, uniq_port) = (free_port(), free_port());
    let peers =
        [format!("gateway=http://127.0.0.1:{gateway_port}"), format!("uniq-lines=http://127.0.0.1:{uniq_port}")];
    let state = dir.join("state").join("uniq-lines");
    std::fs::create_dir_all(&state).unwrap();
    let mut gateway = Command::new(AGENT);
    gateway.args(agent_args(&dir, &ir, "gateway", gateway_port, &peers));
    let mut uniq = on_small_volume(&state, agent_args(&dir, &ir, "uniq-lines", uniq_port, &peers));
    let mut agents = Agents(vec![gateway.spawn().unwrap(), uniq.spawn().unwrap()]);
    let (gateway, task) = (format!("http://127.0.0.1:{gateway_port}"), format!("http://127.0.0.1:{uniq_port}"));
    drop_when_up(&gateway, "in", "small", b"b\na\nb\n").await;
    assert_eq!(wait_for_finished_runs(&task, 1).await[0].status, RunStatus::Succeeded);

    // 3 MB of sorted, distinct lines: `sort | uniq` gives them back as they are.
    let big: Vec<u8> = (0..375_000).flat_map(|i: u32| format!("{i:07}\n").into_bytes()).collect();
    link().drop_file(&gateway, "in", "big", big.clone()).await.expect("the gateway's volume has room");
    let status = wait_for_trouble(&task).await;
    let trouble = status["last_error"]["message"].as_str().unwrap_or_default();
    assert!(trouble.contains("gateway.2.in") && trouble.contains("No space left"), "{trouble}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(agents.0[1].try_wait().unwrap().is_none(), "the agent keeps running on a full volume");
    assert_eq!(link().runs(&task, 0).await.unwrap().len(), 1, "no run without its input");

    // The volume grown: the payload comes, whole, and runs once.
    let grown = Command::new("nsenter")
        .args(["-t", &agents.0[1].id().to_string(), "-m", "mount", "-o", "remount,size=32m"])
        .arg(&state)
        .status()
        .unwrap();
    assert!(grown.success(), "remount the agent's tmpfs larger");
    let done = wait_for_finished_runs(&task, 2).await;
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(done[1].status, RunStatus::Succeeded, "{done:?}");
    let output = format!("{task}/v1/payload/uniq-lines.2.stripped?consumer=count-lines");
    let bytes = client().get(output).send().await.unwrap().bytes().await.unwrap();
    assert!(bytes.to_vec() == big, "the run saw the whole payload ({} bytes of {})", bytes.len(), big.len());
    for child in &mut agents.0 {
        assert_eq!(terminate(child), Some(0));
    }
    agents.0.clear();
}

/// An agent whose producer cannot be reached keeps trying, and says so:
/// `/v1/status` carries the trouble and the disk, and stderr one JSON line
/// for it (not one per retry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trouble_is_logged_as_json_once_and_shown_in_the_status() {
    let dir = scratch("trouble");
    let ir = mount_ir(&dir);
    write_token(&dir);
    let (port, nobody) = (free_port(), free_port());
    let mut agent = Command::new(AGENT)
        .args(agent_args(&dir, &ir, "uniq-lines", port, &[format!("gateway=http://127.0.0.1:{nobody}")]))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for_trouble(&format!("http://127.0.0.1:{port}")).await;
    let message = status["last_error"]["message"].as_str().unwrap();
    assert!(message.contains("cannot take `in` from `gateway`"), "{status}");
    assert!(status["disk"]["total_bytes"].as_u64().unwrap() > 0, "{status}");
    // A few more retries of the same trouble: still one line for it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(terminate(&mut agent), Some(0));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut agent.stderr.take().unwrap(), &mut stderr).unwrap();
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))).collect();
    let troubles: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"].as_str().is_some_and(|m| m.contains("cannot take")))
        .collect();
    assert_eq!(troubles.len(), 1, "{stderr}");
    assert_eq!(troubles[0]["level"], "WARN");
    assert_eq!(troubles[0]["fields"]["agent"], "uniq-lines");
    assert!(lines.iter().any(|line| line["fields"]["message"] == "stopping on a signal"), "{stderr}");
}

/// Without the pipeline's token every route but `/healthz` answers 401,
/// on the gateway and on a task agent alike, and a refused drop feeds
/// nothing; with it (either header) the same requests are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_healthz_refuses_a_request_without_the_token() {
    let dir = scratch("auth");
    let ir = mount_ir(&dir);
    let (mut agents, ports) = start_agents(&dir, &ir, &["gateway", "uniq-lines"]);
    let (gateway, task) = (format!("http://127.0.0.1:{}", ports[0]), format!("http://127.0.0.1:{}", ports[1]));
    let anyone = reqwest::Client::new();
    let started = Instant::now();
    for base in [&gateway, &task] {
        loop {
            match anyone.get(format!("{base}/healthz")).send().await {
                Ok(response) => break assert_eq!(response.status(), 200, "probes need no token"),
                Err(error) if started.elapsed() > Duration::from_secs(20) => panic!("{base} never answered: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    let requests = |client: &reqwest::Client| {
        vec![
            client.get(format!("{gateway}/v1/outputs")),
            client.get(format!("{gateway}/v1/outputs/gateway.1.in")),
            client.get(format!("{gateway}/v1/pipeline/runs")),
            client.get(format!("{gateway}/v1/status")),
            client.put(format!("{gateway}/v1/drop/in/stolen.txt")).body("not fed"),
            client.put(format!("{gateway}/v1/uploads/u1?offset=0")).body("not staged"),
            client.post(format!("{gateway}/v1/uploads/u1/drop/in/stolen.txt?size=10")),
            client.get(format!("{task}/v1/outbox/stripped")),
            client.get(format!("{task}/v1/payload/uniq-lines.1.stripped")),
            client.get(format!("{task}/v1/runs")),
        ]
    };
    let wrong = reqwest::Client::builder()
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::HeaderName::from_static("x-koalja-token"),
            reqwest::header::HeaderValue::from_static("0000000000000000000000000000000000"),
        )]))
        .build()
        .unwrap();
    for client in [&anyone, &wrong] {
        for request in requests(client) {
            let response = request.send().await.unwrap();
            let url = response.url().to_string();
            assert_eq!(response.status(), 401, "{url}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer", "{url}");
        }
    }
    let staged = std::fs::read_dir(dir.join("state/gateway/gateway/staging")).map_or(0, |d| d.count());
    assert_eq!(staged, 0, "a refused drop stages nothing");
    // With the token: the first drop is the first AV, and everything answers
    // (404 where there is nothing yet, never 401).
    let av = link().drop_file(&gateway, "in", "mine.txt", b"a\n".to_vec()).await.unwrap();
    assert_eq!(av, "gateway.1.in", "the refused drops fed nothing");
    let plain = reqwest::Client::builder()
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::HeaderName::from_static("x-koalja-token"),
            reqwest::header::HeaderValue::from_static(TOKEN),
        )]))
        .build()
        .unwrap();
    for client in [&client(), &plain] {
        for request in requests(client) {
            let response = request.send().await.unwrap();
            assert_ne!(response.status(), 401, "{}", response.url());
        }
    }
    for child in &mut agents.0 {
        assert_eq!(terminate(child), Some(0));
    }
    agents.0.clear();
}

#[test]
fn install_copies_the_binary_and_version_prints() {
    let dir = scratch("install");
    let dest = dir.join("koalja/bin/koalja-agent");
    let status = Command::new(AGENT).arg("install").arg(&dest).status().unwrap();
    assert!(status.success());
    let version = Command::new(&dest).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("koalja-agent {}", env!("CARGO_PKG_VERSION")));
}

/// One batch feeds each (name, content) once, in order, with dense drop
/// numbers; a file fed before is reported, not fed again.
#[tokio::test]
async fn a_batch_of_drops_feeds_each_file_once() {
    use std::sync::Arc;
    let dir = scratch("batch");
    let json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/linecount.ir.json")).unwrap();
    let plan = Arc::new(koalja_agent::plan::Plan::from_ir_json(&json).unwrap());
    let progress = koalja_agent::agent::Progress::new(1, koalja_agent::agent::DRAIN_GRACE);
    let gateway = koalja_agent::agent::Agent::gateway(plan, dir.join("gateway"), dir.join("out"), progress).unwrap();
    for (name, content) in [("a", "1"), ("b", "2"), ("c", "1")] {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let batch = |names: &[&str]| names.iter().map(|n| (n.to_string(), dir.join(n))).collect::<Vec<_>>();
    let fed = gateway.drop_files("in", batch(&["a", "b", "a", "c"])).await.unwrap();
    let seen: Vec<(String, bool)> = fed.into_iter().map(|f| (f.av, f.new)).collect();
    assert_eq!(
        seen,
        vec![
            ("gateway.1.in".to_owned(), true),
            ("gateway.2.in".to_owned(), true),
            ("gateway.1.in".to_owned(), false),
            ("gateway.3.in".to_owned(), true),
        ]
    );
    let again = gateway.drop_files("in", batch(&["b"])).await.unwrap();
    assert_eq!((again[0].av.as_str(), again[0].new), ("gateway.2.in", false));
    let listed: Vec<String> = gateway.outbox_after("in", 0, 10).unwrap().into_iter().map(|(_, av)| av.name).collect();
    assert_eq!(listed, ["a", "b", "c"]);
}

/// Data stay in their region at run time too: each region's gateway takes
/// only its own wires, and an agent serves the payload of a wire that is
/// not `export` only to a consumer in the wire's region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regions_gateway_keeps_its_data_in_its_region() {
    let dir = scratch("regions");
    let ir = dir.join("ir.json");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sovereign.ir.json"), &ir).unwrap();
    write_token(&dir);
    let port = free_port();
    let mut args = agent_args(&dir, &ir, "gateway", port, &[]);
    args.extend(["--region".into(), "af-east".into()]);
    let _agents = Agents(vec![Command::new(AGENT).args(args).stderr(Stdio::inherit()).spawn().unwrap()]);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;

    let av = link().drop_file(&base, "in_kenya", "sales.csv", b"nairobi,3\n".to_vec()).await.unwrap();
    assert_eq!(av, "gateway.1.in_kenya");
    // Ghana's raw sales belong to af-west's gateway.
    let refused = link().drop_file(&base, "in_ghana", "sales.csv", b"accra,2\n".to_vec()).await.unwrap_err();
    assert!(refused.to_string().contains("drop it into gateway `gateway-af-west`"), "{refused}");

    let payload = |consumer: &str| {
        let url = format!("{base}/v1/payload/{av}{consumer}");
        async move { client().get(url).send().await.unwrap() }
    };
    let home = payload("?consumer=summarize-ke").await;
    assert_eq!(home.status(), 200);
    assert_eq!(home.text().await.unwrap(), "nairobi,3\n");
    for (asker, region) in [
        ("?consumer=summarize-gh", "`summarize-gh`, in region `af-west`"),
        ("?consumer=aggregate", "`aggregate`, in region `eu-north`"),
        ("", "a peer that did not say"),
    ] {
        let answer = payload(asker).await;
        assert_eq!(answer.status(), 403, "{asker}");
        let text = answer.text().await.unwrap();
        assert!(text.contains("is not `export`: it stays in region `af-east`") && text.contains(region), "{text}");
    }
    // The wire list that `koaljac drop` routes by.
    let gateways: serde_json::Value =
        client().get(format!("{base}/v1/pipeline/gateways")).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> =
        gateways.as_array().unwrap().iter().map(|g| g["kubernetes_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["gateway", "gateway-af-east", "gateway-af-west", "gateway-eu-north"]);
}

/// Waits until the agent at `base` answers its liveness probe.
async fn wait_healthy(base: &str) {
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "the agent at {base} never came up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
