//! Compares `koaljac graph --format svg` with Graphviz `dot` on random
//! pipelines, both counted from their SVGs by one measure (edges through a
//! node not their own, crossings), and times both layouts:
//! `graph_quality [--seeds N] [--tasks T] [--first SEED] [--save DIR] [--no-dot]`
//! (`--save` keeps each pipeline and both drawings, to look at; `--no-dot`
//! only lays out, for counting instructions under callgrind). bench/graph.sh
//! runs it; compiler/tests/graph.rs asserts the same measure.

#[path = "../tests/support/drawing.rs"]
mod drawing;

use std::time::{Duration, Instant};

use koalja_compiler::analysis::analyze_text;
use koalja_compiler::graph::{dot, svg, GraphView};
use koalja_compiler::ir::Ir;

fn main() {
    let mut seeds = 20u64;
    let mut tasks = 50usize;
    let mut first = 1u64;
    let mut save: Option<std::path::PathBuf> = None;
    let mut args = std::env::args().skip(1);
    let mut with_dot = true;
    while let Some(arg) = args.next() {
        if arg == "--no-dot" {
            with_dot = false;
            continue;
        }
        let value = args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--seeds" => seeds = value.parse().expect("--seeds N"),
            "--tasks" => tasks = value.parse().expect("--tasks T"),
            "--first" => first = value.parse().expect("--first SEED"),
            "--save" => save = Some(value.into()),
            other => panic!("unknown option {other}"),
        }
    }
    println!(
        "{:>6} {:>6} {:>6} | {:>8} {:>9} {:>9} | {:>8} {:>9} {:>9}",
        "seed", "nodes", "edges", "through", "crossings", "layout", "through", "crossings", "dot"
    );
    println!("{:>22} | {:^28} | {:^28}", "", "koaljac", "dot");
    let (mut ours_total, mut dot_total) = (drawing::Quality::default(), drawing::Quality::default());
    let (mut ours_times, mut dot_times): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    let mut worse = 0;
    for seed in first..first + seeds {
        let text = drawing::random_pipeline(seed, tasks);
        let view = GraphView::from_ir(&Ir::from_analysis(&analyze_text(&text, "random")));
        let started = Instant::now();
        let ours_svg = svg::render(&view);
        ours_times.push(started.elapsed());
        if !with_dot {
            println!(
                "{seed:>6} {:>6} {:>6} | {:>9.2}ms",
                view.nodes.len(),
                view.edges.len(),
                ours_times.last().unwrap().as_secs_f64() * 1e3
            );
            continue;
        }
        let started = Instant::now();
        let dot_svg = drawing::graphviz_svg(&dot::render(&view));
        dot_times.push(started.elapsed());
        let ours = drawing::measure(&drawing::read_koalja(&ours_svg));
        let theirs = drawing::measure(&drawing::read_graphviz(&dot_svg));
        if let Some(dir) = &save {
            std::fs::create_dir_all(dir).expect("--save DIR can be made");
            std::fs::write(dir.join(format!("random-{seed}.kja")), &text).unwrap();
            std::fs::write(dir.join(format!("random-{seed}.svg")), &ours_svg).unwrap();
            std::fs::write(dir.join(format!("random-{seed}.dot")), dot::render(&view)).unwrap();
            std::fs::write(dir.join(format!("random-{seed}.dot.svg")), &dot_svg).unwrap();
        }
        worse += usize::from(ours.crossings > theirs.crossings || ours.through_nodes > 0);
        println!(
            "{seed:>6} {:>6} {:>6} | {:>8} {:>9} {:>7.2}ms | {:>8} {:>9} {:>7.1}ms",
            view.nodes.len(),
            view.edges.len(),
            ours.through_nodes,
            ours.crossings,
            ours_times.last().unwrap().as_secs_f64() * 1e3,
            theirs.through_nodes,
            theirs.crossings,
            dot_times.last().unwrap().as_secs_f64() * 1e3
        );
        ours_total.through_nodes += ours.through_nodes;
        ours_total.crossings += ours.crossings;
        dot_total.through_nodes += theirs.through_nodes;
        dot_total.crossings += theirs.crossings;
    }
    if !with_dot {
        return;
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64() * 1e3
    };
    let (ours_median, dot_median) = (median(&mut ours_times), median(&mut dot_times));
    println!(
        "total: koaljac {} through nodes, {} crossings; dot {} through nodes, {} crossings; crossings ratio {:.2}",
        ours_total.through_nodes,
        ours_total.crossings,
        dot_total.through_nodes,
        dot_total.crossings,
        ours_total.crossings as f64 / dot_total.crossings.max(1) as f64
    );
    println!(
        "median layout time: koaljac {ours_median:.2} ms, dot {dot_median:.1} ms (a process each), ratio {:.3}",
        ours_median / dot_median
    );
    println!("graphs where koaljac is worse than dot: {worse} of {seeds}");
}
