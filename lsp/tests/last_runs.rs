//! The last local runs beside the code: a real `koaljac run` store (the
//! runtime's local run, real processes) beside the file, then hover on a
//! wire shows its newest values and a code lens on each task its runs and
//! last failure; a later run on the same state makes the server ask the
//! editor to fetch the lenses again, and shows in the next answers.

mod support;

use std::path::Path;
use std::time::Duration;

use koalja_agent::local::{self, Options};
use koalja_agent::plan::Plan;
use koalja_compiler::analysis::analyze_text;
use koalja_compiler::ir::Ir;
use serde_json::{json, Value};
use support::Client;

const PIPELINE: &str = r#"[lasts]

(in)   measure (size)
(size) judge   (verdict)

defaults {
  image: "alpine:3.20"
}

task measure {
  shell: "wc -c < {in} > {size}"
}

task judge {
  shell: "if [ $(cat {size}) -lt 10 ]; then echo small > {verdict}; else echo \"too big: $(cat {size})\" >&2; exit 3; fi"
}
"#;

/// `koaljac run FILE --drop in=PATH`, as the CLI does it.
async fn run(file: &Path, drop: &Path) {
    let ir = Ir::from_analysis(&analyze_text(PIPELINE, "lasts"));
    let plan = Plan::from_ir_json(ir.to_json().as_bytes()).unwrap();
    let options = Options {
        state: file.parent().unwrap().join(".koalja"),
        drops: vec![("in".to_owned(), drop.to_path_buf())],
        jobs: 2,
        watch: false,
        progress: false,
    };
    local::run(plan, options).await.unwrap();
}

fn lenses(answer: &Value) -> Vec<(u64, String)> {
    let mut found: Vec<(u64, String)> = answer
        .as_array()
        .unwrap()
        .iter()
        .map(|lens| {
            (lens["range"]["start"]["line"].as_u64().unwrap(), lens["command"]["title"].as_str().unwrap().to_owned())
        })
        .collect();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_and_code_lenses_show_the_last_local_runs_and_follow_new_ones() {
    let dir = std::env::temp_dir().join(format!("koalja-lsp-last-runs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let drops = dir.join("drops");
    std::fs::create_dir_all(&drops).unwrap();
    let file = dir.join("lasts.kja");
    std::fs::write(&file, PIPELINE).unwrap();
    let uri = format!("file://{}", file.display());
    let mut client = Client::start_with(json!({ "workspace": { "codeLens": { "refreshSupport": true } } })).await;
    client.open_at(&uri, PIPELINE).await;
    let lens_request = json!({ "textDocument": { "uri": uri } });

    // No run yet: no lenses, and hover says nothing of runs.
    assert!(client.request("textDocument/codeLens", lens_request.clone()).await.is_null());
    let size_at = json!({ "textDocument": { "uri": uri }, "position": { "line": 2, "character": 16 } });
    let hover = client.request("textDocument/hover", size_at.clone()).await;
    assert!(!hover["contents"]["value"].as_str().unwrap().contains("last run"), "{hover}");

    // Two files: 5 bytes, then 20 (too big for `judge`, which exits 3).
    std::fs::write(drops.join("a"), "small").unwrap();
    std::fs::write(drops.join("b"), "twenty bytes of text").unwrap();
    run(&file, &drops).await;
    let answer = client.request("textDocument/codeLens", lens_request.clone()).await;
    assert_eq!(lenses(&answer), [(2, "2 runs · last ok".to_owned()), (3, "2 runs · last failed: exit 3".to_owned())]);
    let judge = answer.as_array().unwrap().iter().find(|lens| lens["range"]["start"]["line"] == 3).unwrap();
    assert_eq!(judge["command"]["command"], "koalja.showRun");
    let shown = &judge["command"]["arguments"][0];
    assert_eq!(shown["task"], "judge");
    assert_eq!(shown["run"], 2);
    assert_eq!(shown["exitStatus"], 3);
    assert!(shown["stderrTail"].as_str().unwrap().contains("too big: 20"), "{shown}");

    // Hover on `size`: its newest values, newest first, with run and size.
    let hover = client.request("textDocument/hover", size_at.clone()).await;
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("**wire** `size`"), "{text}");
    let listed: Vec<&str> = text.lines().filter(|line| line.starts_with("- `measure.")).collect();
    assert_eq!(listed.len(), 2, "{text}");
    assert!(listed[0].starts_with("- `measure.2.size`: run 2 of `measure`, 3 B, "), "{text}");
    assert!(listed[1].starts_with("- `measure.1.size`: run 1 of `measure`, 2 B, "), "{text}");
    assert!(listed[0].ends_with(" s ago"), "{text}");
    // A dropped value says so.
    let in_at = json!({ "textDocument": { "uri": uri }, "position": { "line": 2, "character": 1 } });
    let hover = client.request("textDocument/hover", in_at).await;
    assert!(hover["contents"]["value"].as_str().unwrap().contains("dropped in (drop 2), 20 B"), "{hover}");

    // Another run on the same state: the server asks the editor to fetch
    // the lenses again, and the next answers follow it. (What the first run
    // caused is let settle and forgotten first: the watcher looks each
    // second.)
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    client.drain();
    std::fs::remove_file(drops.join("a")).unwrap();
    std::fs::remove_file(drops.join("b")).unwrap();
    std::fs::write(drops.join("c"), "tiny").unwrap();
    run(&file, &drops).await;
    assert!(
        client.next_from_server("workspace/codeLens/refresh", Duration::from_secs(10)).await.is_some(),
        "a new run makes the server ask for the lenses again"
    );
    let answer = client.request("textDocument/codeLens", lens_request).await;
    assert_eq!(lenses(&answer), [(2, "3 runs · last ok".to_owned()), (3, "3 runs · last ok · 1 failed".to_owned())]);
    let _ = std::fs::remove_dir_all(&dir);
}
