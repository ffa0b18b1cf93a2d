//! Front-end throughput on generated pipelines of 1,000, 10,000 and 100,000
//! tasks, reported in bytes per second by divan: lexing alone, lexing and
//! parsing, the full analysis (lex, parse, check), and re-analysis after one
//! edit (the language server's path), in one run so the
//! ratios between them are meaningful. `bench/check.sh` adds whole-process
//! timings against a `wc -l` floor.

mod generate;

use divan::counter::BytesCount;
use divan::Bencher;
use koalja_compiler::analysis::analyze;
use koalja_compiler::diagnostic::Diagnostics;
use koalja_compiler::syntax;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn main() {
    divan::main();
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn lex(bencher: Bencher, tasks: usize) {
    let text = generate::pipeline(tasks);
    bencher.counter(BytesCount::of_str(&text)).bench(|| {
        let mut diagnostics = Diagnostics::default();
        syntax::lexer::lex(divan::black_box(&text), &mut diagnostics)
    });
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn parse(bencher: Bencher, tasks: usize) {
    let text = generate::pipeline(tasks);
    bencher.counter(BytesCount::of_str(&text)).bench(|| {
        let mut diagnostics = Diagnostics::default();
        syntax::parse(divan::black_box(&text), &mut diagnostics)
    });
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn check(bencher: Bencher, tasks: usize) {
    let text = generate::pipeline(tasks);
    bencher.counter(BytesCount::of_str(&text)).bench(|| {
        let analysis = analyze(divan::black_box(text.as_bytes()), "generated");
        assert!(analysis.diagnostics.is_empty());
        analysis
    });
}

/// The language server's path: one character typed in the middle of the
/// file, analysed again from the previous version (`reanalyze`), beside
/// `check` (a whole analysis) above.
#[divan::bench(args = SIZES, sample_count = 20)]
fn reanalyze_one_edit(bencher: Bencher, tasks: usize) {
    let text = generate::pipeline(tasks);
    let previous = koalja_compiler::analysis::analyze_text(&text, "generated");
    // The middle wiring statement, as in `lsp/benches/latency.rs`.
    let middle = text.match_indices("\n(").nth(tasks / 2).unwrap().0 + 1;
    let mut edited = text.clone();
    edited.insert(middle, ' ');
    bencher.counter(BytesCount::of_str(&text)).bench(|| {
        let analysis = koalja_compiler::analysis::reanalyze(&previous, divan::black_box(edited.clone()), "generated");
        assert!(analysis.diagnostics.is_empty());
        analysis
    });
}
