//! Language-server latency on generated documents of 100 and 10,000 tasks
//! (`compiler/benches/generate.rs`), in process through the tower service:
//! from `didChange` to its `publishDiagnostics`, and of `hover` and
//! `koalja/graph`, each over 100 requests, median and p95; then what VS
//! Code asks again after every keystroke (semantic tokens, the outline,
//! folding ranges, code lenses, and inlay hints and code actions for one
//! screenful), with the size of each answer. Beside them, in
//! the same run, the baseline: the compiler's `analyze_text` alone on the
//! same text, what a change would cost if the server analysed the whole
//! document again (it re-parses only the edited region, `reanalyze`).
//!
//!   cargo bench -p koalja-lsp --bench latency [-- RUNS]

#[path = "../../compiler/benches/generate.rs"]
mod generate;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

/// The allocator of the `koalja-lsp` binary (src/main.rs), so the service
/// measured here allocates as the one editors start.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::json;
use support::{Client, URI};

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!("median {:>8.2} ms   p95 {:>8.2} ms", ms(at(0.5)), ms(at(0.95)))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn measure(tasks: usize, runs: usize) {
    let text = generate::pipeline(tasks);
    let baseline: Vec<Duration> = (0..runs.min(30))
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(koalja_compiler::analysis::analyze_text(&text, "demo"));
            start.elapsed()
        })
        .collect();
    let mut client = Client::start().await;
    client.open(&text).await;
    // The middle wiring statement: line 10 is the first.
    let line = 10 + tasks / 2;
    let mut changes = Vec::with_capacity(runs);
    for run in 0..runs {
        // Insert a space before the statement, then take it out again.
        let (range, new_text) = if run % 2 == 0 {
            (json!({ "start": { "line": line, "character": 0 }, "end": { "line": line, "character": 0 } }), " ")
        } else {
            (json!({ "start": { "line": line, "character": 0 }, "end": { "line": line, "character": 1 } }), "")
        };
        let params = json!({
            "textDocument": { "uri": URI, "version": run + 2 },
            "contentChanges": [{ "range": range, "text": new_text }]
        });
        let start = Instant::now();
        client.notify("textDocument/didChange", params).await;
        client.diagnostics().await;
        changes.push(start.elapsed());
    }
    // Let the freeing of replaced versions (off the request path) finish, so
    // it does not compete with what is measured next.
    tokio::time::sleep(Duration::from_secs(2)).await;
    // After an odd number of changes the statement keeps its leading space.
    let character = 1 + runs % 2;
    let position = json!({ "textDocument": { "uri": URI }, "position": { "line": line, "character": character } });
    let mut hovers = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let hover = client.request("textDocument/hover", position.clone()).await;
        hovers.push(start.elapsed());
        assert!(!hover.is_null(), "the hover lands on a wire");
    }
    let mut graphs = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        client.request("koalja/graph", json!({ "textDocument": { "uri": URI } })).await;
        graphs.push(start.elapsed());
    }
    // What VS Code asks again after every keystroke, on the whole document
    // (the inlay hints and code actions for the first screenful).
    let document = json!({ "textDocument": { "uri": URI } });
    let screen = json!({ "start": { "line": line, "character": 0 }, "end": { "line": line + 60, "character": 0 } });
    let mut asked = Vec::new();
    for (method, params) in [
        ("textDocument/semanticTokens/full", document.clone()),
        ("textDocument/documentSymbol", document.clone()),
        ("textDocument/foldingRange", document.clone()),
        ("textDocument/codeLens", document.clone()),
        ("textDocument/inlayHint", json!({ "textDocument": { "uri": URI }, "range": screen })),
        (
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": URI }, "range": screen, "context": { "diagnostics": [] } }),
        ),
    ] {
        let mut samples = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let answer = client.request(method, params.clone()).await;
            samples.push(start.elapsed());
            bytes = answer.to_string().len();
        }
        asked.push((method, samples, bytes));
    }
    println!("{tasks:>6} tasks  baseline analyze_text   {}", summary(baseline));
    println!("{tasks:>6} tasks  didChange → diagnostics {}", summary(changes));
    println!("{tasks:>6} tasks  hover                   {}", summary(hovers));
    println!("{tasks:>6} tasks  koalja/graph            {}", summary(graphs));
    for (method, samples, bytes) in asked {
        let method = method.trim_start_matches("textDocument/");
        println!("{tasks:>6} tasks  {method:<23} {}   {:>9} bytes", summary(samples), bytes);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a number is the run count.
    let runs = std::env::args().skip(1).find_map(|arg| arg.parse().ok()).unwrap_or(100);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for tasks in [100, 10_000] {
        runtime.block_on(measure(tasks, runs));
    }
}
