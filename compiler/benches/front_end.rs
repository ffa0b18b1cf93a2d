//! Front-end throughput on generated pipelines of 1,000, 10,000 and 100,000
//! tasks, reported in bytes per second by divan: lexing alone, lexing and
//! parsing, and the full analysis (lex, parse, check), in one run so the
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
