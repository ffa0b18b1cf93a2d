//! The pipeline map's layout (`graph::layout`, what `koaljac graph --format
//! svg` and the editor's graph panel draw) on generated pipelines of 100,
//! 1,000 and 10,000 tasks, beside building the graph view it starts from,
//! in one run. bench/graph.sh compares the drawings with Graphviz `dot`.

mod generate;

use divan::Bencher;
use koalja_compiler::analysis::analyze_text;
use koalja_compiler::graph::layout::{layout, Direction};
use koalja_compiler::graph::GraphView;
use koalja_compiler::ir::Ir;

const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn main() {
    divan::main();
}

fn ir(tasks: usize) -> Ir {
    Ir::from_analysis(&analyze_text(&generate::pipeline(tasks), "generated"))
}

/// The floor: the graph view alone, which every drawing needs.
#[divan::bench(args = SIZES, sample_count = 10)]
fn view(bencher: Bencher, tasks: usize) {
    let ir = ir(tasks);
    bencher.bench(|| GraphView::from_ir(divan::black_box(&ir)));
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn lay_out(bencher: Bencher, tasks: usize) {
    let view = GraphView::from_ir(&ir(tasks));
    bencher.bench(|| layout(divan::black_box(&view), Direction::Right));
}
