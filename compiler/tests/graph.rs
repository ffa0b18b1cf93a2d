//! `koaljac graph`: snapshots of every example in each format, drawings of
//! broken files, DOT accepted by real Graphviz, and an SVG layout that
//! reads at least as well as Graphviz's (no edge through a node, no more
//! crossings than `dot`).

#[path = "support/drawing.rs"]
mod drawing;
#[path = "support/examples.rs"]
mod examples;
use examples::example_paths;
use std::process::Command;

use koalja_compiler::analysis::analyze_text;
use koalja_compiler::graph::layout::Direction;
use koalja_compiler::graph::{dot, json, mermaid, svg, GraphView, NodeKind};
use koalja_compiler::ir::Ir;

fn view(text: &str) -> GraphView {
    GraphView::from_ir(&Ir::from_analysis(&analyze_text(text, "p")))
}

#[test]
fn snapshots_of_every_example_in_every_format() {
    insta::glob!("../../examples", "*.kja", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let analysis = analyze_text(&text, "example");
        let view = GraphView::from_ir(&Ir::from_analysis(&analysis));
        insta::assert_snapshot!("dot", format!("----- SOURCE CODE\n{text}\n----- DOT\n{}", dot::render(&view)));
        insta::assert_snapshot!(
            "mermaid",
            format!("----- SOURCE CODE\n{text}\n----- MERMAID\n{}", mermaid::render(&view))
        );
        insta::assert_snapshot!(
            "json",
            format!("----- SOURCE CODE\n{text}\n----- JSON\n{}", json::render(&view, &analysis))
        );
    });
}

#[test]
fn a_broken_file_is_still_drawn_with_its_error_nodes() {
    let view = view("(in) a (x)\n(x) b (y\n)) stray\n(y) c (out)\ndefaults { command: [\"p\"] }\n");
    let errors: Vec<_> = view.nodes.iter().filter(|n| n.kind == NodeKind::Error).collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.as_deref().unwrap().contains("expected"));
    assert_eq!(view.nodes.iter().filter(|n| n.kind == NodeKind::Task).count(), 3);
    let drawing = dot::render(&view);
    assert!(drawing.contains("shape=octagon"), "{drawing}");
    assert!(mermaid::render(&view).contains("class n"), "error nodes are classed");
}

#[test]
fn inputs_and_outputs_sit_in_their_tasks_region() {
    let view = view(
        "(in_a) t (out)\n(in_a) u (out2)\ntask t { command: [\"t\"] region: \"x\" }\ntask u { command: [\"u\"] }\n",
    );
    let input = view.nodes.iter().find(|n| n.label == "in_a").unwrap();
    assert_eq!(input.region, None, "consumed in two regions: drawn outside both");
    let output = view.nodes.iter().find(|n| n.label == "out").unwrap();
    assert_eq!(output.region.as_deref(), Some("x"));
}

/// Graphviz's SVG of `source`, or `None` when `dot` is missing (allowed
/// only outside scripts/test.sh).
fn dot_if_installed(source: &str) -> Option<String> {
    if Command::new("dot").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("KOALJA_REQUIRE_TOOLS").is_none(),
            "Graphviz `dot` is required (scripts/test.sh installs it)"
        );
        eprintln!("NOT RUN: Graphviz `dot` is not installed; scripts/test.sh installs it and runs this check");
        return None;
    }
    Some(drawing::graphviz_svg(source))
}

#[test]
fn graphviz_accepts_the_dot_of_every_example() {
    for path in example_paths() {
        let text = std::fs::read_to_string(path).unwrap();
        let Some(drawing) = dot_if_installed(&dot::render(&view(&text))) else { return };
        assert!(drawing.contains("<svg"));
    }
}

#[test]
fn the_drawing_measure_sees_an_edge_through_a_node_and_a_crossing() {
    // The layout tests below count with this measure; it must be able to
    // find what they assert is absent.
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg">
<g class="node task" data-id="a"><rect x="0" y="0" width="40" height="20"/></g>
<g class="node task" data-id="b"><rect x="100" y="0" width="40" height="20"/></g>
<g class="node task" data-id="c"><rect x="200" y="0" width="40" height="20"/></g>
<g class="node task" data-id="d"><rect x="100" y="100" width="40" height="20"/></g>
<g class="node task" data-id="e"><rect x="0" y="50" width="40" height="20"/></g>
<g class="node task" data-id="f"><rect x="200" y="50" width="40" height="20"/></g>
<g class="node task" data-id="g"><rect x="40" y="200" width="40" height="20"/></g>
<g class="node task" data-id="h"><rect x="160" y="200" width="40" height="20"/></g>
<g class="edge" data-from="a" data-to="c"><path d="M 40 10 L 200 10"/></g>
<g class="edge" data-from="b" data-to="d"><path d="M 120 20 C 120 40, 120 60, 120 100"/></g>
<g class="edge" data-from="e" data-to="f"><path d="M 40 60 L 200 60"/></g>
<g class="edge" data-from="d" data-to="g"><path d="M 120 120 L 60 200"/></g>
<g class="edge" data-from="d" data-to="h"><path d="M 120 120 L 180 200"/></g>
</svg>"#;
    let quality = drawing::measure(&drawing::read_koalja(svg));
    // a→c runs through b; e→f crosses b→d; d→g and d→h part at d, which
    // is no crossing.
    assert_eq!(quality, drawing::Quality { through_nodes: 1, crossings: 1 });
}

/// Seeds of the random pipelines the layout is held to `dot` on. The
/// bench (bench/graph.sh) runs many more.
const RANDOM_SEEDS: std::ops::RangeInclusive<u64> = 1..=12;

#[test]
fn random_50_task_pipelines_have_no_edge_through_a_node_and_cross_no_more_than_dot() {
    for seed in RANDOM_SEEDS {
        let text = drawing::random_pipeline(seed, 50);
        let view = view(&text);
        let ours = drawing::measure(&drawing::read_koalja(&svg::render(&view)));
        assert_eq!(ours.through_nodes, 0, "seed {seed}: an edge passes through a node\n{text}");
        let Some(theirs) = dot_if_installed(&dot::render(&view)) else { return };
        let theirs = drawing::measure(&drawing::read_graphviz(&theirs));
        assert!(
            ours.crossings <= theirs.crossings,
            "seed {seed}: {} crossings, dot {}\n{text}",
            ours.crossings,
            theirs.crossings
        );
    }
}

#[test]
fn every_example_is_drawn_both_ways_with_no_edge_through_a_node_and_no_more_crossings_than_dot() {
    for path in example_paths() {
        let text = std::fs::read_to_string(&path).unwrap();
        let view = view(&text);
        let mut crossings = Vec::new();
        for direction in [Direction::Right, Direction::Down] {
            let drawing = svg::render_in(&view, direction);
            assert_eq!(drawing, svg::render_in(&view, direction), "deterministic");
            let quality = drawing::measure(&drawing::read_koalja(&drawing));
            assert_eq!(quality.through_nodes, 0, "{} ({direction:?}): an edge through a node", path.display());
            crossings.push(quality.crossings);
        }
        let Some(theirs) = dot_if_installed(&dot::render(&view)) else { return };
        let theirs = drawing::measure(&drawing::read_graphviz(&theirs));
        assert!(
            crossings[0] <= theirs.crossings,
            "{}: {crossings:?} crossings, dot {}",
            path.display(),
            theirs.crossings
        );
    }
}

/// Renders `svg` in headless Debian Chromium and returns the screenshot, or
/// `None` when Chromium is missing (allowed only outside scripts/test.sh).
fn screenshot(svg: &str, name: &str) -> Option<Vec<u8>> {
    let chromium =
        ["chromium", "chromium-browser"].into_iter().find(|c| Command::new(c).arg("--version").output().is_ok());
    let Some(chromium) = chromium else {
        assert!(
            std::env::var_os("KOALJA_REQUIRE_TOOLS").is_none(),
            "Chromium is required (scripts/test.sh installs it)"
        );
        eprintln!("NOT RUN: Chromium is not installed; scripts/test.sh installs it and runs this check");
        return None;
    };
    // Screenshots stay behind as test artefacts for a person to look at.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("svg-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let svg_path = dir.join(format!("{name}.svg"));
    let png_path = dir.join(format!("{name}.png"));
    std::fs::write(&svg_path, svg).unwrap();
    let _ = std::fs::remove_file(&png_path);
    let profile = dir.join(format!("profile-{name}"));
    let status = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,600"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg(format!("file://{}", svg_path.display()))
        .output()
        .unwrap();
    assert!(png_path.exists(), "no screenshot: {}", String::from_utf8_lossy(&status.stderr));
    Some(std::fs::read(png_path).unwrap())
}

/// How many pixels differ from white.
fn ink(png_bytes: &[u8]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    buffer[..info.buffer_size()].chunks(channels).filter(|pixel| pixel[..3].iter().any(|&c| c < 240)).count()
}

#[test]
fn svg_of_every_example_renders_in_chromium_with_every_task_label() {
    for path in example_paths() {
        let text = std::fs::read_to_string(&path).unwrap();
        let analysis = analyze_text(&text, "example");
        let view = GraphView::from_ir(&Ir::from_analysis(&analysis));
        let drawing = koalja_compiler::graph::svg::render(&view);
        assert_eq!(drawing, koalja_compiler::graph::svg::render(&view), "deterministic");
        for task in &analysis.pipeline.tasks {
            assert!(drawing.contains(&format!(">{}</text>", task.name)), "{} missing in {}", task.name, path.display());
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(png_bytes) = screenshot(&drawing, &name) else { return };
        let inked = ink(&png_bytes);
        assert!(inked > 2_000, "{name}: only {inked} pixels drawn");
    }
}

#[test]
fn a_blank_page_really_has_no_ink() {
    // The check above must be able to fail: an empty SVG draws nothing.
    let empty = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\"></svg>";
    if let Some(png_bytes) = screenshot(empty, "blank") {
        assert!(ink(&png_bytes) < 100);
    }
}

#[test]
fn a_cycles_back_edge_is_drawn_from_its_source_to_its_target() {
    let view = view("(in, back) a (x)\n(x) b (back, out)\ndefaults { command: [\"p\"] }\n");
    let drawn = koalja_compiler::graph::layout::layout(&view, Direction::Right);
    assert!(drawn.edges.iter().any(|edge| edge.reversed), "the cycle has a back edge");
    let drawing = drawing::read_koalja(&svg::render(&view));
    assert_eq!(drawing::measure(&drawing).through_nodes, 0);
    let near = |point: (f64, f64), node: &str| {
        let r = drawing.nodes[node];
        point.0 >= r.left - 3.0 && point.0 <= r.right + 3.0 && point.1 >= r.top - 3.0 && point.1 <= r.bottom + 3.0
    };
    for edge in &drawing.edges {
        assert!(near(edge.points[0], &edge.from), "{} → {} starts at its source", edge.from, edge.to);
        assert!(near(*edge.points.last().unwrap(), &edge.to), "{} → {} ends at its target", edge.from, edge.to);
    }
}
