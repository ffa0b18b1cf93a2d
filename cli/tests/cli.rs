//! `koaljac` as a user runs it: the real binary, real files, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn koaljac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_koaljac")).args(args).output().expect("koaljac runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A fresh directory under the target dir for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn examples() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../examples").to_owned()
}

#[test]
fn check_examples_exits_zero_with_a_summary() {
    let output = koaljac(&["check", &examples()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("checked 6 files: 0 errors, 0 warnings"));
}

#[test]
fn errors_exit_one_and_warnings_only_with_deny() {
    let dir = scratch("exit-codes");
    let error = dir.join("error.kja");
    std::fs::write(&error, "(x) a (out)\ntask a { command: [\"a\"] }\n").unwrap();
    let warning = dir.join("warning.kja");
    std::fs::write(&warning, "(in) a (out)\ntask a { shell: \"cp {in} {out}\" }\ntask b { shell: \"true\" }\n")
        .unwrap();
    assert_eq!(koaljac(&["check", error.to_str().unwrap()]).status.code(), Some(1));
    assert_eq!(koaljac(&["check", warning.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(koaljac(&["check", "--deny", "warnings", warning.to_str().unwrap()]).status.code(), Some(1));
}

#[test]
fn missing_files_and_bad_usage_exit_two() {
    let missing = koaljac(&["check", "/nonexistent/pipeline.kja"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/pipeline.kja"));
    assert_eq!(koaljac(&["check"]).status.code(), Some(2));
    assert_eq!(koaljac(&["check", "--message-format", "xml", "x.kja"]).status.code(), Some(2));
    assert_eq!(koaljac(&["frobnicate"]).status.code(), Some(2));
    let empty = scratch("empty-dir");
    assert_eq!(koaljac(&["check", empty.to_str().unwrap()]).status.code(), Some(2));
}

#[test]
fn json_format_is_the_documented_contract() {
    let dir = scratch("json");
    let file = dir.join("p.kja");
    // `é` before the error makes byte and character columns differ.
    std::fs::write(&file, "# é\n(in) clean (cleaned)\n(claned) total (out)\ndefaults { command: [\"p\"] }\n").unwrap();
    let output = koaljac(&["check", "--message-format", "json", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<&str> = std::str::from_utf8(&output.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1, "one object per diagnostic, nothing else: {lines:?}");
    let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let object = value.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "byte_end",
            "byte_start",
            "code",
            "column",
            "end_column",
            "end_line",
            "file",
            "help",
            "labels",
            "line",
            "message",
            "severity"
        ]
    );
    assert_eq!(value["severity"], "error");
    assert_eq!(value["code"], "K0016");
    assert_eq!(value["message"], "wire `claned` is consumed but never produced");
    assert_eq!((value["line"].as_u64(), value["column"].as_u64()), (Some(3), Some(2)));
    assert_eq!((value["end_line"].as_u64(), value["end_column"].as_u64()), (Some(3), Some(8)));
    let text = std::fs::read_to_string(&file).unwrap();
    let start = value["byte_start"].as_u64().unwrap() as usize;
    let end = value["byte_end"].as_u64().unwrap() as usize;
    assert_eq!(&text[start..end], "claned");
    assert_eq!(value["help"], "did you mean `cleaned`?");
    assert_eq!(value["labels"], serde_json::json!([]));
    assert_eq!(value["file"], file.to_str().unwrap());
}

#[test]
fn json_help_is_null_and_labels_have_positions() {
    let dir = scratch("json-labels");
    let file = dir.join("p.kja");
    std::fs::write(&file, "(in) a (out)\n(in) b (out)\ndefaults { command: [\"p\"] }\n").unwrap();
    let output = koaljac(&["check", "--message-format", "json", file.to_str().unwrap()]);
    let value: serde_json::Value = serde_json::from_str(stdout(&output).lines().next().unwrap()).unwrap();
    assert_eq!(value["code"], "K0015");
    assert_eq!(value["labels"][0]["line"], 1);
    assert_eq!(value["labels"][0]["column"], 9);
    assert!(value["labels"][0]["message"].as_str().unwrap().contains("also produced by `a`"));

    std::fs::write(&file, "(in) a (out)\ntask a { shell: \"cp {in} {out}\" }\n(in) b (out2)\ntask b { shell: \"true\" }\ntask b2 { shell: \"true\" }\n").unwrap();
    let output = koaljac(&["check", "--message-format", "json", file.to_str().unwrap()]);
    let nulls = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["help"].is_null())
        .count();
    let all = stdout(&output).lines().count();
    assert!(all > 0);
    assert_eq!(nulls, 0, "every diagnostic here has help");
}

#[test]
fn invalid_utf8_is_a_diagnostic_not_a_crash() {
    let dir = scratch("utf8");
    let file = dir.join("latin1.kja");
    std::fs::write(&file, b"(in) a (out) # caf\xe9\ntask a { shell: \"cp {in} {out}\" }\n").unwrap();
    let output = koaljac(&["check", "--message-format", "json", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_str(stdout(&output).lines().next().unwrap()).unwrap();
    assert_eq!(value["code"], "K0001");
    assert_eq!(value["byte_start"], 18);
}

#[test]
fn sarif_is_a_single_2_1_0_log_with_rules_and_results() {
    let dir = scratch("sarif");
    let file = dir.join("p.kja");
    std::fs::write(&file, "(in) a (out)\n(in) b (out)\ndefaults { command: [\"p\"] }\n").unwrap();
    let output = koaljac(&["check", "--message-format", "sarif", file.to_str().unwrap(), &examples()]);
    assert_eq!(output.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "koaljac");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "K0015");
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "K0015");
    assert_eq!(result["level"], "error");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
    assert_eq!(result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"], 1);
}

#[test]
fn fmt_check_prints_a_diff_and_fmt_rewrites_idempotently() {
    let dir = scratch("fmt");
    let file = dir.join("p.kja");
    let messy = "[p]\n(in)   a   (x)\n(x) longer-name (out)   # keep me\ndefaults{image:\"alpine:3.20\" shell:\"cp {in} {out}\"}\n";
    std::fs::write(&file, messy).unwrap();
    let check = koaljac(&["fmt", "--check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    let diff = stdout(&check);
    assert!(diff.contains("-(x) longer-name (out)   # keep me\n"), "{diff}");
    assert!(diff.contains("+(x)   longer-name  (out) # keep me\n"), "{diff}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), messy, "--check changes nothing");

    assert_eq!(koaljac(&["fmt", file.to_str().unwrap()]).status.code(), Some(0));
    let formatted = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        formatted,
        "[p]\n(in)  a            (x)\n(x)   longer-name  (out) # keep me\n\ndefaults {\n  image: \"alpine:3.20\"\n  shell: \"cp {in} {out}\"\n}\n"
    );
    assert_eq!(koaljac(&["fmt", "--check", file.to_str().unwrap()]).status.code(), Some(0));
}

#[test]
fn fmt_leaves_files_with_syntax_errors_untouched() {
    let dir = scratch("fmt-broken");
    let file = dir.join("p.kja");
    let broken = "(in[10/]) a   (out)\n";
    std::fs::write(&file, broken).unwrap();
    let output = koaljac(&["fmt", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("left unchanged"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
}

#[test]
fn fmt_reads_stdin_and_writes_stdout() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_koaljac"))
        .args(["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"(in) a (out)\ntask a {shell:\"cp {in} {out}\"}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "(in)  a  (out)\n\ntask a {\n  shell: \"cp {in} {out}\"\n}\n");
}

#[test]
fn explain_prints_every_code_and_rejects_unknown_ones() {
    for code in koalja_compiler::diagnostic::Code::ALL {
        let output = koaljac(&["explain", code.as_str()]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(stdout(&output), code.explanation());
    }
    assert_eq!(koaljac(&["explain", "K9999"]).status.code(), Some(2));
    let list = koaljac(&["explain"]);
    assert_eq!(stdout(&list).lines().count(), koalja_compiler::diagnostic::Code::ALL.len());
}

#[test]
fn check_emit_ir_prints_json_and_keeps_the_exit_code() {
    let output = koaljac(&["check", "--emit", "ir", &format!("{}/tfmodel.kja", examples())]);
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["ir_version"], 1);
    let dir = scratch("emit-ir");
    let file = dir.join("broken.kja");
    std::fs::write(&file, "(in) a (out)\n(x[1/]) b (y)\ndefaults { command: [\"p\"] }\n").unwrap();
    let output = koaljac(&["check", "--emit", "ir", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "errors still fail");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["has_errors"], true);
    assert!(String::from_utf8_lossy(&output.stderr).contains("K0005"));
    assert_eq!(koaljac(&["check", "--emit", "ir", &examples()]).status.code(), Some(2), "one file only");
}

#[test]
fn describe_prints_contracts_and_rejects_unknown_tasks() {
    let file = format!("{}/tfmodel.kja", examples());
    let output = koaljac(&["describe", &file, "convert"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("task convert\n"));
    assert!(text.contains("runs after every 2 new values on `in_images`; each run sees the 10 newest, oldest first"));
    assert!(!text.contains("task predict"));
    assert_eq!(koaljac(&["describe", &file, "nope"]).status.code(), Some(2));
}

#[test]
fn graph_draws_to_stdout_or_a_file_and_exits_one_on_errors() {
    let file = format!("{}/sovereign.kja", examples());
    let output = koaljac(&["graph", &file]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).starts_with("digraph \"telecom/monthly-sales\" {"));
    let dir = scratch("graph");
    let target = dir.join("map.mmd");
    let output = koaljac(&["graph", "--format", "mermaid", &file, "-o", target.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(std::fs::read_to_string(&target).unwrap().starts_with("flowchart LR\n"));
    let broken = dir.join("broken.kja");
    std::fs::write(&broken, "(in) a (x)\n)) junk\n(x) b (out)\ndefaults { command: [\"p\"] }\n").unwrap();
    let output = koaljac(&["graph", "--format", "json", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<&str> = value["nodes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"error") && kinds.iter().filter(|k| **k == "task").count() == 2, "{kinds:?}");
    assert_eq!(value["nodes"][0]["range"]["start"]["line"], 1);
}

#[test]
fn graph_direction_turns_the_svg_dot_and_mermaid_drawings() {
    let file = format!("{}/linecount.kja", examples());
    let dot = stdout(&koaljac(&["graph", &file, "--direction", "down"]));
    assert!(dot.contains("  rankdir=TB;\n"), "{dot}");
    let mermaid = stdout(&koaljac(&["graph", &file, "--format", "mermaid", "--direction", "down"]));
    assert!(mermaid.starts_with("flowchart TD\n"));
    // The SVG's layers run down: taller than wide, where the default is
    // wider than tall (linecount is a chain).
    let size = |svg: &str| -> (i64, i64) {
        let number = |key: &str| svg.split(key).nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        (number("width=\""), number("height=\""))
    };
    let (wide, low) = size(&stdout(&koaljac(&["graph", &file, "--format", "svg"])));
    let (narrow, high) = size(&stdout(&koaljac(&["graph", &file, "--format", "svg", "--direction", "down"])));
    assert!(wide > low && high > narrow, "right {wide}x{low}, down {narrow}x{high}");
    assert_eq!(koaljac(&["graph", &file, "--direction", "up"]).status.code(), Some(2));
}

#[test]
fn build_writes_one_stream_per_pipeline_and_nothing_on_errors() {
    let output = koaljac(&["build", &format!("{}/linecount.kja", examples())]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("---\napiVersion: v1\n"));
    assert!(text.contains("kind: StatefulSet"));
    let dir = scratch("build");
    let out = dir.join("manifests");
    let output = koaljac(&[
        "build",
        &examples(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
        "--agent-image",
        "registry.local/agent:1",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let mut written: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    written.sort();
    assert_eq!(written.len(), 6);
    assert!(written.contains(&"ml-tfmodel.json".to_owned()));
    assert!(std::fs::read_to_string(out.join("ml-tfmodel.json")).unwrap().contains("registry.local/agent:1"));

    let broken = dir.join("no-image.kja");
    std::fs::write(&broken, "(in) a (out)\ntask a { shell: \"cp {in} {out}\" }\n").unwrap();
    let target = dir.join("nothing");
    let output = koaljac(&[
        "build",
        &format!("{}/linecount.kja", examples()),
        broken.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("K0043"));
    assert!(!target.exists(), "nothing is written when any file fails");
}

/// A kube config whose cluster refuses connections.
fn unreachable_kubeconfig() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("unreachable-kubeconfig.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
    )
    .unwrap();
    path
}

#[test]
fn cluster_commands_name_an_unreachable_cluster_and_exit_2() {
    let kubeconfig = unreachable_kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/linecount.kja");
    let deploy = koaljac(&["deploy", example, "--kubeconfig", kubeconfig]);
    let stderr = String::from_utf8_lossy(&deploy.stderr);
    assert_eq!(deploy.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cluster https://127.0.0.1:1/ is unreachable"), "{stderr}");
    assert!(stderr.contains("done before the error (0): none"), "{stderr}");
    assert!(stderr.contains("not applied (16): ServiceAccount linecount-gateway"), "{stderr}");
    for args in [
        vec!["diff", example],
        vec!["status", "--pipeline", "default/linecount"],
        vec!["delete", "--pipeline", "default/linecount"],
    ] {
        let output = koaljac(&[args.as_slice(), &["--kubeconfig", kubeconfig]].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("is unreachable"), "{args:?}: {stderr}");
    }
}

#[test]
fn deploy_refuses_a_file_with_errors_before_any_request() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let broken = dir.join("broken-deploy.kja");
    std::fs::write(&broken, "(in) t (out\n").unwrap();
    let kubeconfig = unreachable_kubeconfig();
    let output = koaljac(&["deploy", broken.to_str().unwrap(), "--kubeconfig", kubeconfig.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nothing was sent to the cluster"), "{stderr}");
    assert!(!stderr.contains("unreachable"), "no request was made: {stderr}");
    let missing = koaljac(&["deploy", "x.kja", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(missing.status.code(), Some(2));
}
