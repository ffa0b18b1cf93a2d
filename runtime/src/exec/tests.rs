//! The executor against real processes: argv expansion, shell quoting,
//! exit statuses, timeouts that kill the whole process group, retries.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::plan::{Launch, Policy};

fn task(run: Run, shell_template: Option<Vec<Arg>>) -> TaskPlan {
    TaskPlan {
        name: "t".into(),
        kubernetes_name: "t".into(),
        image: None,
        run,
        shell_template,
        policy: Policy::AllNew,
        launch: Launch::Auto,
        service_port: None,
        env: BTreeMap::from([("GREETING".to_owned(), "hello".to_owned())]),
        timeout_ms: None,
        retries: 0,
        keep: crate::plan::Keep::All,
        region: None,
        digest: "sha256:x".into(),
        inputs: vec![],
        outputs: vec![],
    }
}

fn lit(text: &str) -> Arg {
    Arg::Literal(text.into())
}

fn wire(name: &str) -> Arg {
    Arg::Wire(name.into())
}

fn invocation<'a>(task: &'a TaskPlan, dir: &std::path::Path) -> Invocation<'a> {
    Invocation {
        task,
        inputs: vec![("in".into(), vec![PathBuf::from("/d/a 1"), PathBuf::from("/d/b'2")])],
        services: vec![("model".into(), "http://127.0.0.1:9".into())],
        outputs: vec![("out".into(), dir.join("out"))],
        env: vec![("KOALJA_TASK".into(), "t".into())],
        dir: dir.to_path_buf(),
    }
}

#[test]
fn command_wire_names_expand_to_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let task = task(
        Run::Command {
            args: vec![lit("prog"), wire("in"), lit("--to"), wire("out"), wire("model")],
            append_wire_paths: false,
        },
        None,
    );
    let argv = invocation(&task, dir.path()).argv();
    let out = dir.path().join("out").to_string_lossy().into_owned();
    assert_eq!(argv, vec!["prog", "/d/a 1", "/d/b'2", "--to", &out, "http://127.0.0.1:9"]);
}

#[test]
fn a_command_naming_no_wire_gets_inputs_then_outputs_appended() {
    let dir = tempfile::tempdir().unwrap();
    let task = task(Run::Command { args: vec![lit("prog")], append_wire_paths: true }, None);
    let argv = invocation(&task, dir.path()).argv();
    assert_eq!(argv.len(), 4);
    assert_eq!(&argv[1..3], ["/d/a 1", "/d/b'2"]);
    assert!(argv[3].ends_with("/out"));
}

/// Paths with spaces and quotes reach the program as single words.
#[tokio::test]
async fn shell_placeholders_are_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let task = task(Run::Shell(String::new()), Some(vec![lit("printf '%s\\n' "), wire("in"), lit(" > "), wire("out")]));
    let invocation = invocation(&task, dir.path());
    assert_eq!(invocation.argv()[..2], ["/bin/sh", "-c"]);
    assert!(run_to_end(&invocation).await.succeeded);
    assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "/d/a 1\n/d/b'2\n");
}

#[tokio::test]
async fn a_run_writes_its_output_with_env_and_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let task = task(
        Run::Shell(String::new()),
        Some(vec![lit("printf '%s %s' \"$GREETING\" \"$KOALJA_TASK\" > "), wire("out")]),
    );
    let outcome = run_to_end(&invocation(&task, dir.path())).await;
    assert_eq!(
        outcome,
        Outcome { succeeded: true, attempts: 1, exit_status: Some(0), stdout_tail: None, stderr_tail: None }
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "hello t");
}

#[tokio::test]
async fn a_failing_run_keeps_its_status_and_stderr_tail_after_every_retry() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = task(Run::Shell(String::new()), Some(vec![lit("echo attempt >> tries; echo broken >&2; exit 3")]));
    task.retries = 2;
    let outcome = run_to_end(&invocation(&task, dir.path())).await;
    assert!(!outcome.succeeded);
    assert_eq!(outcome.attempts, 3);
    assert_eq!(outcome.exit_status, Some(3));
    assert_eq!(outcome.stderr_tail.as_deref(), Some("broken"));
    assert_eq!(std::fs::read_to_string(dir.path().join("tries")).unwrap().lines().count(), 3);
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    // The shell starts a grandchild that would write a file after 2 s.
    let mut task = task(Run::Shell(String::new()), Some(vec![lit("(sleep 2; touch late) & sleep 30")]));
    task.timeout_ms = Some(200);
    let started = std::time::Instant::now();
    let outcome = run_to_end(&invocation(&task, dir.path())).await;
    assert!(!outcome.succeeded);
    assert!(outcome.stderr_tail.unwrap().starts_with("timed out after 200 ms"));
    assert!(started.elapsed() < Duration::from_secs(20), "the run was not killed");
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!dir.path().join("late").exists(), "the grandchild survived the timeout");
}

#[tokio::test]
async fn a_program_that_cannot_start_is_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let task = task(Run::Command { args: vec![lit("/no/such/program")], append_wire_paths: false }, None);
    let outcome = run_to_end(&invocation(&task, dir.path())).await;
    assert!(!outcome.succeeded);
    assert_eq!(outcome.exit_status, None);
    assert!(outcome.stderr_tail.unwrap().contains("cannot start `/no/such/program`"));
}

/// Runs with a drain that never comes.
async fn run_to_end(invocation: &Invocation<'_>) -> Outcome {
    invocation.run(&Drain::new(Duration::from_secs(1))).await.expect("nothing stops this run")
}

/// Code that is still running when the agent stops: SIGTERM reaches its
/// group, and code that finishes its work on it (exit 0) has run.
#[tokio::test]
async fn a_drain_passes_sigterm_and_keeps_code_that_finishes_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let task =
        task(Run::Shell(String::new()), Some(vec![lit("trap 'echo drained > out; exit 0' TERM; sleep 30 & wait")]));
    let drain = Drain::new(Duration::from_secs(10));
    let invocation = invocation(&task, dir.path());
    let started = std::time::Instant::now();
    let stop = drain.stopping.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.cancel();
    });
    let outcome = invocation.run(&drain).await.expect("exit 0 on SIGTERM is a finished run");
    assert!(outcome.succeeded);
    assert_eq!(std::fs::read_to_string(dir.path().join("out")).unwrap(), "drained\n");
    assert!(started.elapsed() < Duration::from_secs(10), "SIGTERM did not reach the code");
}

/// Code that ignores SIGTERM is killed after the grace, and the run counts
/// as interrupted (not failed): no retry starts, whatever `retries` says.
#[tokio::test]
async fn a_drain_kills_code_that_ignores_sigterm_after_the_grace_and_retries_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = task(Run::Shell(String::new()), Some(vec![lit("echo try >> tries; trap '' TERM; sleep 30")]));
    task.retries = 3;
    let drain = Drain::new(Duration::from_millis(500));
    drain.stopping.cancel();
    assert_eq!(invocation(&task, dir.path()).run(&drain).await, Err(Interrupted), "nothing starts once stopping");
    assert!(!dir.path().join("tries").exists());
    let drain = Drain::new(Duration::from_millis(500));
    let stop = drain.stopping.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.cancel();
    });
    let started = std::time::Instant::now();
    assert_eq!(invocation(&task, dir.path()).run(&drain).await, Err(Interrupted));
    assert!(started.elapsed() >= Duration::from_millis(800), "killed before its grace: {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(20), "never killed");
    assert_eq!(std::fs::read_to_string(dir.path().join("tries")).unwrap().lines().count(), 1);
}
