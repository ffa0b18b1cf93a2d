//! `koaljac run`, `log` and `trace` end to end: the real binary, real
//! processes, real loopback HTTP between the agents, a real state directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn koaljac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_koaljac")).args(args).output().expect("koaljac runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory under the target dir for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `pipeline.kja` and the given data files; returns the directory.
fn project(name: &str, pipeline: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch(name);
    std::fs::write(dir.join("pipeline.kja"), pipeline).unwrap();
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

/// `koaljac run pipeline.kja EXTRA...` in the project directory (so drop
/// paths are relative to it, as a user types them).
fn run(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_koaljac"))
        .current_dir(dir)
        .args(["run", "pipeline.kja"])
        .args(extra)
        .output()
        .expect("koaljac runs")
}

fn state(dir: &Path) -> String {
    dir.join(".koalja").to_string_lossy().into_owned()
}

/// The pipeline outputs of `wire`, as (file name, content), in name order.
/// The finished outputs on `wire`: a download in progress has a dot name
/// (`.<file>.<pid>-<n>.partial`, renamed when whole), which shell globs skip
/// too, and may be renamed away between the listing and the read.
fn outputs(dir: &Path, wire: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(dir.join(".koalja/out").join(wire))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter_map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    if name.starts_with('.') {
                        return None;
                    }
                    Some((name, std::fs::read_to_string(&p).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    text(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

const LINECOUNT: &str = r#"
(in)        uniq-lines  (stripped)
(stripped)  count-lines (out)

task uniq-lines  { shell: "sort {in} | uniq > {stripped}" }
task count-lines { shell: "wc -l < {stripped} | tr -d ' ' > {out}" }
"#;

#[test]
fn a_run_flows_every_dropped_file_to_the_outputs_with_provenance() {
    let dir = project("linecount", LINECOUNT, &[("data/a.txt", "x\ny\nx\n"), ("data/b.txt", "1\n2\n3\n4\n")]);
    let output = run(&dir, &["--drop", "in=data"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("4 run(s) succeeded, 0 failed"), "{}", text(&output.stderr));
    // Files are fed in name order, so a.txt is drop 1 and b.txt drop 2.
    assert_eq!(
        outputs(&dir, "out"),
        vec![("count-lines.1.out".to_owned(), "2\n".to_owned()), ("count-lines.2.out".to_owned(), "4\n".to_owned())]
    );

    let log = koaljac(&["log", "--state", &state(&dir), "--json"]);
    assert_eq!(log.status.code(), Some(0));
    let runs = json_lines(&log);
    assert_eq!(runs.len(), 4);
    assert!(runs
        .iter()
        .all(|run| run["status"] == "succeeded" && run["definition"].as_str().unwrap().starts_with("sha256:")));
    let only = json_lines(&koaljac(&["log", "count-lines", "--state", &state(&dir), "--json"]));
    assert_eq!(only.len(), 2);
    assert_eq!(only[0]["snapshot"][0]["avs"][0], "uniq-lines.1.stripped");

    let out_file = dir.join(".koalja/out/out/count-lines.2.out");
    let trace = koaljac(&["trace", "--state", &state(&dir), out_file.to_str().unwrap(), "--json"]);
    assert_eq!(trace.status.code(), Some(0), "{}", text(&trace.stderr));
    let steps = json_lines(&trace);
    let walked: Vec<(&str, &str)> =
        steps.iter().map(|s| (s["av"]["id"].as_str().unwrap(), s["av"]["task"].as_str().unwrap())).collect();
    assert_eq!(
        walked,
        vec![
            ("count-lines.2.out", "count-lines"),
            ("uniq-lines.2.stripped", "uniq-lines"),
            ("gateway.2.in", "gateway")
        ]
    );
    assert_eq!(steps[2]["av"]["name"], "b.txt");
    assert_eq!(steps[0]["run"]["definition"], steps[0]["av"]["definition"]);
    let human = text(&koaljac(&["trace", "--state", &state(&dir), "count-lines.2.out"]).stdout);
    assert!(human.contains("made by task `uniq-lines` run 2"), "{human}");
    assert!(human.contains("pipeline input `b.txt`"), "{human}");
}

/// The files directly in `dir` (none when it does not exist), by name.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn retention_keeps_the_newest_payloads_and_every_record() {
    let pipeline = format!("defaults {{ keep: 3 }}\n{LINECOUNT}");
    let data: Vec<(String, String)> = (1..=12).map(|n| (format!("data/{n:02}.txt"), "a\n".repeat(n))).collect();
    let files: Vec<(&str, &str)> = data.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let dir = project("retention", &pipeline, &files);
    let output = run(&dir, &["--drop", "in=data"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("24 run(s) succeeded, 0 failed"), "{}", text(&output.stderr));
    // Every run saw its own input: outputs 10–12 remain, with their counts.
    let kept = outputs(&dir, "out");
    assert_eq!(kept, (10..=12).map(|n| (format!("count-lines.{n}.out"), "1\n".to_owned())).collect::<Vec<_>>());
    let state_dir = dir.join(".koalja");
    assert_eq!(files_in(&state_dir.join("gateway/payloads")).len(), 3);
    assert_eq!(
        files_in(&state_dir.join("agents/uniq-lines/payloads")),
        ["uniq-lines.10.stripped", "uniq-lines.11.stripped", "uniq-lines.12.stripped"]
    );
    assert_eq!(files_in(&state_dir.join("agents/count-lines/cache")).len(), 3);

    // Every record stays; a removed payload is named as such.
    let log = json_lines(&koaljac(&["log", "--state", &state(&dir), "--json"]));
    assert_eq!(log.len(), 24);
    let trace = text(&koaljac(&["trace", "--state", &state(&dir), "count-lines.1.out"]).stdout);
    assert_eq!(trace.matches("payload removed by retention at").count(), 3, "{trace}");
    assert!(trace.contains("pipeline input `01.txt`"), "{trace}");
    let trace = text(&koaljac(&["trace", "--state", &state(&dir), "count-lines.12.out"]).stdout);
    assert!(!trace.contains("removed"), "{trace}");
    let steps = json_lines(&koaljac(&["trace", "--state", &state(&dir), "count-lines.2.out", "--json"]));
    assert!(steps.iter().all(|step| step["av"]["removed"].is_string()), "{steps:?}");

    // A file fed before stays fed before, though its payload is gone.
    let again = run(&dir, &["--drop", "in=data"]);
    assert!(text(&again.stderr).contains("12 dropped file(s) were fed before"), "{}", text(&again.stderr));
}

#[test]
fn retention_never_removes_a_value_a_window_still_holds() {
    // Keep one, slide a window of three: every window must still find its
    // three inputs, and the gateway may drop only what was taken.
    let pipeline = r#"
defaults { keep: 1 }
(in[3/1]) window (out)
task window { shell: "cat {in} | tr -d '\n' > {out}" }
"#;
    let data: Vec<(String, String)> = (1..=8).map(|n| (format!("data/{n}.txt"), n.to_string())).collect();
    let files: Vec<(&str, &str)> = data.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let dir = project("retention-window", pipeline, &files);
    let output = run(&dir, &["--drop", "in=data"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("6 run(s) succeeded, 0 failed"), "{}", text(&output.stderr));
    let windows: Vec<String> = json_lines(&koaljac(&["log", "--state", &state(&dir), "--json"]))
        .iter()
        .map(|run| {
            run["snapshot"][0]["avs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|av| av.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_eq!(windows[5], "gateway.6.in,gateway.7.in,gateway.8.in");
    assert_eq!(outputs(&dir, "out"), [("window.6.out".to_owned(), "678".to_owned())]);
    // The window still holds the last three; it may need them again.
    assert_eq!(files_in(&dir.join(".koalja/agents/window/cache")).len(), 3);
}

#[test]
fn running_again_continues_and_never_feeds_a_file_twice() {
    let dir = project("again", LINECOUNT, &[("data/a.txt", "x\n")]);
    assert_eq!(run(&dir, &["--drop", "in=data"]).status.code(), Some(0));
    let again = run(&dir, &["--drop", "in=data"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stderr).contains("1 dropped file(s) were fed before"), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("0 run(s) succeeded"));
    std::fs::write(dir.join("data/b.txt"), "p\nq\n").unwrap();
    assert_eq!(run(&dir, &["--drop", "in=data"]).status.code(), Some(0));
    let names: Vec<String> = outputs(&dir, "out").into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, vec!["count-lines.1.out", "count-lines.2.out"]);
}

#[test]
fn a_failed_run_exits_one_naming_the_task_status_and_stderr() {
    let pipeline = "(in) fail (out)\ntask fail { shell: \"echo 'no such column' >&2; exit 3\" retries: 1 }\n";
    let dir = project("failure", pipeline, &[("x.csv", "a")]);
    let output = run(&dir, &["--drop", "in=x.csv"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("failed: task `fail` run 1 (exit status 3, 2 attempt(s))"), "{stderr}");
    assert!(stderr.contains("| no such column"), "{stderr}");
    assert!(outputs(&dir, "out").is_empty(), "a failed run publishes nothing");
    let runs = json_lines(&koaljac(&["log", "--state", &state(&dir), "--json"]));
    assert_eq!(runs[0]["status"], "failed");
    assert_eq!(runs[0]["exit_status"], 3);
}

#[test]
fn a_merge_takes_both_inputs_first_come_first_served() {
    let pipeline = "(in_a + in_b) tag (out)\ntask tag { shell: \"cat {in_a} > {out}\" }\n";
    let dir = project("merge", pipeline, &[("a", "from a"), ("b", "from b")]);
    let output = run(&dir, &["--drop", "in_a=a", "--drop", "in_b=b"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // Arrival order between the two links is first come, first served.
    let mut contents: Vec<String> = outputs(&dir, "out").into_iter().map(|(_, content)| content).collect();
    contents.sort();
    assert_eq!(contents, vec!["from a", "from b"]);
}

#[test]
fn a_sliding_window_sees_every_window_in_order() {
    let pipeline = "(in[3/1]) window (out)\ntask window { shell: \"cat {in} > {out}\" }\n";
    let files: Vec<(String, String)> = (1..=5).map(|i| (format!("data/{i}"), format!("{i}\n"))).collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let dir = project("window", pipeline, &files);
    assert_eq!(run(&dir, &["--drop", "in=data"]).status.code(), Some(0));
    let contents: Vec<String> = outputs(&dir, "out").into_iter().map(|(_, content)| content).collect();
    assert_eq!(contents, vec!["1\n2\n3\n", "2\n3\n4\n", "3\n4\n5\n"]);
}

#[test]
fn a_buffer_of_two_takes_values_in_pairs() {
    let pipeline = "(in[2]) pair (out)\ntask pair { shell: \"cat {in} > {out}\" }\n";
    let dir = project("pairs", pipeline, &[("d/1", "1"), ("d/2", "2"), ("d/3", "3"), ("d/4", "4"), ("d/5", "5")]);
    assert_eq!(run(&dir, &["--drop", "in=d"]).status.code(), Some(0));
    let contents: Vec<String> = outputs(&dir, "out").into_iter().map(|(_, content)| content).collect();
    assert_eq!(contents, vec!["12", "34"], "the fifth value waits for a sixth");
}

#[test]
fn directory_payloads_travel_between_agents() {
    let pipeline = r#"
type model = dir "application/x-model"
(in) train (model: model)
(model) use (out)
task train { shell: "mkdir -p {model}/sub && cp {in} {model}/weights && echo v1 > {model}/sub/version" }
task use { shell: "cat {model}/weights {model}/sub/version > {out}" }
"#;
    let dir = project("dirs", pipeline, &[("w", "0.5\n")]);
    let output = run(&dir, &["--drop", "in=w"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(outputs(&dir, "out"), vec![("use.1.out".to_owned(), "0.5\nv1\n".to_owned())]);
}

#[test]
fn two_payloads_of_one_run_are_never_taken_for_each_other() {
    // Both `dir` payloads of one `split` run travel to `join` at once; each
    // must arrive as itself (they once shared a temporary name, and one in
    // ten `join` runs saw `b` as `a`).
    let pipeline = r#"
type part = dir "text/plain"
(in) split (a: part, b: part)
(a, b) join (out)
task split { shell: "mkdir -p {a} {b} && sed 's/^/a:/' {in} > {a}/x && sed 's/^/b:/' {in} > {b}/x" }
task join { shell: "cat {a}/x {b}/x > {out}" }
"#;
    let files: Vec<(String, String)> = (0..20).map(|i| (format!("data/{i:02}"), format!("{i}\n"))).collect();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let dir = project("two-payloads", pipeline, &borrowed);
    let output = run(&dir, &["--drop", "in=data/"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let joined = outputs(&dir, "out");
    assert_eq!(joined.len(), 20, "{joined:?}");
    for (name, content) in &joined {
        let lines: Vec<&str> = content.lines().collect();
        let value = lines.first().and_then(|l| l.strip_prefix("a:")).unwrap_or("?");
        assert_eq!(lines, [format!("a:{value}"), format!("b:{value}")], "{name}: a payload was taken for another");
    }
}

#[test]
fn a_file_with_errors_runs_nothing() {
    let dir = project("errors", "(x) a (out)\ntask a { shell: \"true\" }\n", &[]);
    let output = run(&dir, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("nothing was run"), "{}", text(&output.stderr));
    assert!(!dir.join(".koalja").exists());
}

#[test]
fn dropping_into_a_wire_that_is_not_an_input_is_a_usage_error() {
    let dir = project("bad-drop", LINECOUNT, &[("a", "x")]);
    let output = run(&dir, &["--drop", "stripped=a"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("`stripped` is not a pipeline input; the inputs are `in`"),
        "{}",
        text(&output.stderr)
    );
    let output = run(&dir, &["--drop", "in"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("is not WIRE=PATH"));
}

#[test]
fn outside_names_never_escape_the_state_directory() {
    let dir = project("names", LINECOUNT, &[("data/..hidden", "a\n")]);
    assert_eq!(run(&dir, &["--drop", "in=data"]).status.code(), Some(0));
    let trace = json_lines(&koaljac(&["trace", "--state", &state(&dir), "gateway.1.in", "--json"]));
    assert_eq!(trace[0]["av"]["name"], "hidden");
    let stored = PathBuf::from(trace[0]["av"]["stored"].as_str().unwrap());
    assert!(stored.starts_with(dir.join(".koalja").canonicalize().unwrap()), "{}", stored.display());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A client that prints the HTTP status its service answers with. Retried:
/// a call that races a service's restart is refused once.
const CLIENT: &str = r#"task client { shell: "python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).status)' $KOALJA_SERVICE_API > {out}" retries: 3 }"#;

#[test]
fn a_service_is_started_announced_called_recorded_and_stopped() {
    let port = free_port();
    let pipeline = format!(
        "()                  server (api implicit)\n(in, api implicit)  client (out)\n\
         task server {{ command: [\"python3\", \"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"] service: {port} }}\n{CLIENT}\n"
    );
    let dir = project("service", &pipeline, &[("d/1", "x"), ("d/2", "y")]);
    let output = run(&dir, &["--drop", "in=d"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let contents: Vec<String> = outputs(&dir, "out").into_iter().map(|(_, content)| content).collect();
    assert_eq!(contents, vec!["200\n", "200\n"], "each run called the service");

    let runs = json_lines(&koaljac(&["log", "--state", &state(&dir), "--json"]));
    let server: Vec<_> = runs.iter().filter(|run| run["task"] == "server").collect();
    assert_eq!(server.len(), 1);
    assert_eq!(server[0]["status"], "running", "the service was up when the run ended");
    for client in runs.iter().filter(|run| run["task"] == "client") {
        assert_eq!(client["services"][0]["task"], "server");
        assert_eq!(client["services"][0]["revision"], 1);
        assert_eq!(client["services"][0]["address"], format!("http://127.0.0.1:{port}"));
    }
    let trace = text(&koaljac(&["trace", "--state", &state(&dir), "client.1.out"]).stdout);
    assert!(trace.contains("calling service `api` revision 1 of task `server`"), "{trace}");
    // The service was stopped with the run: its port is free again.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "the service outlived koaljac run");
}

#[test]
fn a_new_snapshot_restarts_a_service_as_a_new_revision() {
    let port = free_port();
    let pipeline = format!(
        "(in)  server (api implicit)\n\
         task server {{ shell: \"exec python3 -m http.server {port} --bind 127.0.0.1\" service: {port} }}\n\
         (in_calls, api implicit) client (out)\n{CLIENT}\n"
    );
    let dir = project("restart", &pipeline, &[("models/a", "1"), ("models/b", "2"), ("call", "c")]);
    let output = run(&dir, &["--drop", "in=models", "--drop", "in_calls=call"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let runs = json_lines(&koaljac(&["log", "server", "--state", &state(&dir), "--json"]));
    let statuses: Vec<&str> = runs.iter().map(|run| run["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["replaced", "running"], "the first model's server gave way to the second's");
    let client = json_lines(&koaljac(&["log", "client", "--state", &state(&dir), "--json"]));
    assert_eq!(client[0]["status"], "succeeded");
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "the service outlived koaljac run");
}

#[test]
fn watch_feeds_files_put_into_the_in_directory_until_stopped() {
    let dir = project("watch", LINECOUNT, &[]);
    // Killed if the test fails before it stops it: a `--watch` run left
    // behind would run forever.
    let mut child = KillOnDrop::watching(&dir);
    let inbox = dir.join(".koalja/in/in");
    let started = std::time::Instant::now();
    while !inbox.exists() {
        assert!(started.elapsed().as_secs() < 20, "the in/ directory never appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Written under a dot name, then renamed: a half-written file is never fed.
    std::fs::write(inbox.join(".part"), "a\nb\na\n").unwrap();
    std::fs::rename(inbox.join(".part"), inbox.join("first.txt")).unwrap();
    while outputs(&dir, "out").is_empty() {
        assert!(started.elapsed().as_secs() < 20, "no output arrived");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(outputs(&dir, "out"), vec![("count-lines.1.out".to_owned(), "2\n".to_owned())]);
    assert!(!inbox.join("first.txt").exists(), "a fed file is removed from in/");
    let output = child.terminate();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("2 run(s) succeeded"), "{}", text(&output.stderr));
}

/// The payload files an agent's state holds (what retention bounds; the
/// state database holds the records, which are kept), as (files, bytes).
fn payload_use(state: &Path) -> (usize, u64) {
    let mut dirs = vec![state.join("gateway/payloads"), state.join("out/out")];
    for task in ["uniq-lines", "count-lines"] {
        dirs.push(state.join("agents").join(task).join("payloads"));
        dirs.push(state.join("agents").join(task).join("cache"));
    }
    let (mut files, mut bytes) = (0, 0);
    for dir in dirs {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            files += 1;
            bytes += entry.metadata().map_or(0, |m| m.len());
        }
    }
    (files, bytes)
}

/// The soak test of retention: 10,000 drops streamed through linecount
/// under `keep: 10`, fed by `run --watch` a batch at a time. The payloads
/// on disk stay flat (the records grow, and are kept), every drop is
/// counted by its own run, and the kept outputs are the right ones.
#[test]
fn ten_thousand_drops_under_keep_ten_use_flat_disk_and_lose_nothing() {
    const DROPS: usize = 10_000;
    const BATCH: usize = 250;
    let pipeline = LINECOUNT.replace("(out)\n", "(out)\ndefaults { keep: 10 }\n");
    let dir = project("soak", &pipeline, &[]);
    let mut child = KillOnDrop::watching(&dir);
    let state = dir.join(".koalja");
    let inbox = state.join("in/in");
    let started = std::time::Instant::now();
    let waited = |what: &str| {
        assert!(started.elapsed().as_secs() < 600, "{what} took more than ten minutes");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    while !inbox.exists() {
        waited("the in/ directory");
    }
    // Drop n has n % 7 + 1 distinct lines (and a duplicate line).
    let lines = |n: usize| (n % 7 + 1).to_string();
    let mut use_after_batch = Vec::new();
    for batch in 0..DROPS / BATCH {
        for i in 1..=BATCH {
            let n = batch * BATCH + i;
            let content: String = (0..n % 7 + 1).map(|line| format!("{line}\n")).collect::<String>() + "0\n";
            let name = format!("{n:05}.txt");
            std::fs::write(inbox.join(format!(".{name}")), content).unwrap();
            std::fs::rename(inbox.join(format!(".{name}")), inbox.join(name)).unwrap();
        }
        // Paced: the next batch goes in once this one came out.
        let last = format!("count-lines.{}.out", (batch + 1) * BATCH);
        while !state.join("out/out").join(&last).exists() {
            waited(&last);
        }
        use_after_batch.push(payload_use(&state));
    }
    let output = child.terminate();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(&format!("{} run(s) succeeded, 0 failed", 2 * DROPS)),
        "{}",
        text(&output.stderr)
    );

    // Flat: six places keep ten each, and the sweeps (at most five a
    // second) trail the runs by at most about a batch. No growth: the last
    // ten batches hold no more than the first ten, give or take noise.
    let most = use_after_batch.iter().map(|(files, _)| *files).max().unwrap();
    assert!(most <= 6 * 10 + BATCH, "payload files on disk went up to {most}: {use_after_batch:?}");
    let mean = |batches: &[(usize, u64)]| batches.iter().map(|(files, _)| *files).sum::<usize>() / batches.len();
    let (early, late) = (mean(&use_after_batch[..10]), mean(&use_after_batch[use_after_batch.len() - 10..]));
    assert!(late <= early * 3 / 2 + 10, "payload files grew from {early} to {late} a batch: {use_after_batch:?}");
    let records: u64 = ["gateway/state.db", "agents/uniq-lines/state.db", "agents/count-lines/state.db"]
        .iter()
        .map(|db| std::fs::metadata(state.join(db)).map_or(0, |m| m.len()))
        .sum();
    eprintln!(
        "soak: {DROPS} drops in {:.1} s; payload files after a batch: at most {most}, a mean of {early} in the first ten batches and {late} in the last ten; records {} KiB",
        started.elapsed().as_secs_f64(),
        records / 1024
    );

    // Nothing untaken was removed: every count-lines run took the stripped
    // file of its own drop, and the ten kept outputs count the right lines.
    let runs = json_lines(&koaljac(&["log", "count-lines", "--state", &state.to_string_lossy(), "--json"]));
    assert_eq!(runs.len(), DROPS);
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run["status"], "succeeded");
        assert_eq!(run["snapshot"][0]["avs"][0], format!("uniq-lines.{}.stripped", i + 1), "run {}", i + 1);
    }
    let kept = outputs(&dir, "out");
    let mut expected: Vec<(String, String)> =
        (DROPS - 9..=DROPS).map(|n| (format!("count-lines.{n}.out"), format!("{}\n", lines(n)))).collect();
    expected.sort();
    assert_eq!(kept, expected);
}

/// A child process killed when dropped, unless taken out first.
struct KillOnDrop(Option<std::process::Child>);

impl KillOnDrop {
    /// `koaljac run pipeline.kja --watch` in `dir`, its stderr kept.
    fn watching(dir: &Path) -> KillOnDrop {
        KillOnDrop(Some(
            Command::new(env!("CARGO_BIN_EXE_koaljac"))
                .current_dir(dir)
                .args(["run", "pipeline.kja", "--watch"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        ))
    }

    /// Stops the child with SIGTERM, as a user's Ctrl-C would, and waits.
    fn terminate(&mut self) -> Output {
        let child = self.0.take().expect("the child is still running");
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_failed_drop_still_stops_the_services_it_started() {
    let port = free_port();
    let pipeline = format!(
        "()                  server (api implicit)\n(in, api implicit)  client (out)\n\
         task server {{ command: [\"python3\", \"-m\", \"http.server\", \"{port}\", \"--bind\", \"127.0.0.1\"] service: {port} }}\n{CLIENT}\n"
    );
    let dir = project("drop-error", &pipeline, &[("x", "1")]);
    let output = run(&dir, &["--drop", "nope=x"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("`nope` is not a pipeline input"), "{}", text(&output.stderr));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "the service outlived koaljac run");
}

/// A local run of a pipeline pinned to regions: one gateway agent plays
/// every region's gateway, drops are numbered per wire, and retention
/// still frees what each consumer took (the consumers' names are those of
/// the wire's gateway, as on a cluster).
#[test]
fn a_run_across_regions_plays_every_gateway_and_keeps_within_keep() {
    let pipeline = r#"
type summary = file export
(in_a)                   count-a (a: summary)
(in_b)                   count-b (b: summary)
(a + b)                  report  (out)
defaults { keep: 1 }
task count-a { shell: "wc -l < {in_a} | tr -d ' ' > {a}" region: "af-east" }
task count-b { shell: "wc -l < {in_b} | tr -d ' ' > {b}" region: "af-west" }
task report  { shell: "cat {a} > {out}" region: "eu-north" }
"#;
    let dir = project(
        "regions",
        pipeline,
        &[("a/1.txt", "x\n"), ("a/2.txt", "x\ny\n"), ("a/3.txt", "x\ny\nz\n"), ("b/1.txt", "p\n")],
    );
    let output = run(&dir, &["--drop", "in_a=a", "--drop", "in_b=b"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("8 run(s) succeeded, 0 failed"), "{}", text(&output.stderr));
    // Numbered per wire: the first file of each input is drop 1 of it.
    let log = json_lines(&koaljac(&["log", "count-b", "--state", &state(&dir), "--json"]));
    assert_eq!(log[0]["snapshot"][0]["avs"][0], "gateway.1.in_b");
    // Every agent kept one payload per wire once it was taken.
    let state_dir = dir.join(".koalja");
    assert_eq!(files_in(&state_dir.join("gateway/payloads")).len(), 2, "one of in_a, one of in_b");
    for task in ["count-a", "report"] {
        assert_eq!(files_in(&state_dir.join("agents").join(task).join("payloads")).len(), 1, "{task}");
    }
    assert_eq!(outputs(&dir, "out").len(), 1);
}
