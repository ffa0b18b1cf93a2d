//! Crash safety of local runs: `koaljac run` killed with SIGKILL at random
//! moments, at least 20 times, then restarted on the same state until it
//! finishes. Every input must reach the outputs exactly once, no AV may be
//! lost or duplicated, and provenance must stay consistent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const FILES: usize = 30;
const KILLS: usize = 20;

const PIPELINE: &str = r#"
(in) slow  (x)
(x)  twice (out)

task slow  { shell: "sleep 0.02; cat {in} > {x}" }
task twice { shell: "cat {x} {x} > {out}" }
"#;

/// A small deterministic generator (seed printed on failure).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn koaljac(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koaljac"));
    command.current_dir(dir).args(args);
    command
}

#[test]
fn killing_a_run_at_random_moments_loses_and_duplicates_nothing() {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut random = Lcg(seed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("pipeline.kja"), PIPELINE).unwrap();
    for i in 0..FILES {
        std::fs::write(dir.join(format!("data/{i:03}.txt")), format!("file-{i:03}\n")).unwrap();
    }
    let run = ["run", "pipeline.kja", "--drop", "in=data"];

    let mut killed = 0;
    let mut files = FILES;
    let started = Instant::now();
    while killed < KILLS {
        let mut child = koaljac(&dir, &run).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(10 + random.below(300)));
        match child.try_wait().unwrap() {
            Some(_) => {
                // It finished before the kill: add fresh inputs (about 0.2 s
                // of work) so the next kill lands in a run with work to do.
                for _ in 0..10 {
                    std::fs::write(dir.join(format!("data/{files:03}.txt")), format!("file-{files:03}\n")).unwrap();
                    files += 1;
                }
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                killed += 1;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(240), "seed {seed}: too slow");
    }

    let last = koaljac(&dir, &run).output().unwrap();
    assert_eq!(last.status.code(), Some(0), "seed {seed}: {}", String::from_utf8_lossy(&last.stderr));

    let inputs: BTreeSet<String> = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let outputs: Vec<String> = std::fs::read_dir(dir.join(".koalja/out/out"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(outputs.len(), inputs.len(), "seed {seed}: one output per input");
    let expected: BTreeSet<String> = inputs.iter().map(|text| format!("{text}{text}")).collect();
    let got: BTreeSet<String> = outputs.iter().cloned().collect();
    assert_eq!(got, expected, "seed {seed}: every input reached the outputs exactly once");

    // Provenance: each task ran exactly once per input, numbered 1..=n
    // without gaps, all succeeded; every output traces to its own drop.
    let log = koaljac(&dir, &["log", "--json"]).output().unwrap();
    let mut runs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&log.stdout).lines() {
        let run: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(run["status"], "succeeded", "seed {seed}: {line}");
        runs.entry(run["task"].as_str().unwrap().to_owned()).or_default().push(run["run"].as_u64().unwrap());
    }
    for (task, mut numbers) in runs {
        numbers.sort();
        assert_eq!(numbers, (1..=inputs.len() as u64).collect::<Vec<_>>(), "seed {seed}: runs of {task}");
    }
    let mut drops = BTreeSet::new();
    for entry in std::fs::read_dir(dir.join(".koalja/out/out")).unwrap() {
        let path = entry.unwrap().path();
        let trace = koaljac(&dir, &["trace", path.to_str().unwrap(), "--json"]).output().unwrap();
        let steps: Vec<serde_json::Value> =
            String::from_utf8_lossy(&trace.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(steps.len(), 3, "seed {seed}: {}", path.display());
        let drop = &steps[2]["av"];
        let dropped = std::fs::read_to_string(dir.join("data").join(drop["name"].as_str().unwrap())).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{dropped}{dropped}"), "seed {seed}");
        assert!(drops.insert(drop["id"].as_str().unwrap().to_owned()), "seed {seed}: two outputs from one drop");
    }
}
