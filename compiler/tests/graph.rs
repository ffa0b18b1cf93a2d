//! `koaljac graph`: snapshots of every example in each format, drawings of
//! broken files, and DOT accepted by real Graphviz.

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
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
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
