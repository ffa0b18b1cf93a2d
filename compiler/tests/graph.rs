//! `koaljac graph`: snapshots of every example in each format, drawings of
//! broken files, and DOT accepted by real Graphviz.

#[path = "support/examples.rs"]
mod examples;
use examples::example_paths;
use std::process::Command;

use koalja_compiler::analysis::analyze_text;
use koalja_compiler::graph::{dot, json, mermaid, GraphView, NodeKind};
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

#[test]
fn graphviz_accepts_the_dot_of_every_example() {
    let have_dot = Command::new("dot").arg("-V").output().is_ok();
    if !have_dot {
        assert!(
            std::env::var_os("KOALJA_REQUIRE_TOOLS").is_none(),
            "Graphviz `dot` is required (scripts/test.sh installs it)"
        );
        eprintln!("NOT RUN: Graphviz `dot` is not installed; scripts/test.sh installs it and runs this check");
        return;
    }
    for path in example_paths() {
        let text = std::fs::read_to_string(path).unwrap();
        let drawing = dot::render(&view(&text));
        let mut child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(drawing.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}\n{drawing}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"));
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
