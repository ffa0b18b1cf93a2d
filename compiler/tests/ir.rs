//! The graph IR: structure, firing contracts, digests, error nodes, and
//! snapshots of the IR and `describe` for every example.

#[path = "support/examples.rs"]
mod examples;
use examples::example_paths;
use koalja_compiler::analysis::analyze_text;
use koalja_compiler::format::format;
use koalja_compiler::ir::{Ir, Node};
use koalja_compiler::render::describe::describe;

fn ir(text: &str) -> Ir {
    Ir::from_analysis(&analyze_text(text, "p"))
}

fn task<'a>(ir: &'a Ir, name: &str) -> &'a koalja_compiler::ir::TaskNode {
    ir.graph
        .node_weights()
        .find_map(|node| match node {
            Node::Task(task) if task.name == name => Some(task),
            _ => None,
        })
        .unwrap()
}

#[test]
fn the_design_briefs_sentence_for_a_sliding_window() {
    let ir = ir("(in_images[10/2]) convert (json)\ntask convert { shell: \"c {in_images} > {json}\" }\n");
    assert_eq!(
        task(&ir, "convert").contract.sentence,
        "runs after every 2 new values on `in_images`; each run sees the 10 newest, oldest first"
    );
    let input = &task(&ir, "convert").contract.inputs[0];
    assert_eq!(input.paths, [10, 10]);
    assert!(input.triggers);
}

#[test]
fn contracts_in_words_for_each_policy() {
    let ir = ir(r#"
(in_a[2-5]) ranged (x)
(in_b, in_c) swapped (y)
(in_d[3]) counted (z)
() ticker (tick)
(tick, svc implicit) client (w)
(in_m) server (svc implicit)
task swapped { command: ["s"] policy: swap-new-for-old }
task server { command: ["serve"] service: 80 }
defaults { command: ["p"] }
"#);
    assert_eq!(
        task(&ir, "ranged").contract.sentence,
        "runs when `in_a` has at least 2 unused values; each run takes up to 5 of them, oldest first"
    );
    assert_eq!(task(&ir, "ranged").contract.inputs[0].paths, [2, 5]);
    assert_eq!(
        task(&ir, "swapped").contract.sentence,
        "runs on every new value of `in_b` or `in_c` once each has had one; each run sees the newest value of each"
    );
    assert_eq!(
        task(&ir, "counted").contract.sentence,
        "runs for every 3 new values on `in_d`; each run takes those 3, oldest first"
    );
    assert_eq!(task(&ir, "ticker").contract.sentence, "has no triggering inputs: runs once when the pipeline starts");
    assert_eq!(
        task(&ir, "client").contract.sentence,
        "runs once for every new value on `tick`; calls the service `svc` (never triggers a run)"
    );
    assert!(!task(&ir, "client").contract.inputs[1].triggers);
}

#[test]
fn nodes_and_edges_follow_the_wiring() {
    let ir = ir(r#"
(in_a + in_b[4/2]) merge (out)
(in_model) server (lookup implicit)
(in_x, lookup implicit) client (res)
task server { command: ["s"] service: 80 }
defaults { command: ["p"] }
"#);
    let inputs = ir.graph.node_weights().filter(|n| matches!(n, Node::Input { .. })).count();
    let outputs = ir.graph.node_weights().filter(|n| matches!(n, Node::Output { .. })).count();
    assert_eq!((inputs, outputs), (4, 2)); // in_a, in_b, in_model, in_x; out, res
    let merged: Vec<_> = ir.graph.edge_weights().filter(|e| e.merge_group.is_some()).collect();
    assert_eq!(merged.len(), 2);
    assert!(merged.iter().all(|e| e.merge_group.as_deref() == Some("in_a") && e.buffer.as_deref() == Some("[4/2]")));
    let implicit: Vec<_> = ir.graph.edge_weights().filter(|e| e.implicit).collect();
    assert_eq!(implicit.len(), 1);
    assert_eq!(implicit[0].ty, "service");
}

#[test]
fn digests_ignore_layout_and_follow_the_definition() {
    let text = "(in) a (out)\ntask a {   command: [\"x\", in, out]   env: { B: \"2\", A: \"1\" } image: \"i\" }\n";
    let analysis = analyze_text(text, "p");
    let formatted = format(&analysis).unwrap();
    let digest = |t: &str| task(&ir(t), "a").digest.clone();
    assert_eq!(digest(text), digest(&formatted));
    assert_eq!(digest(text), digest(&text.replace("env: { B: \"2\", A: \"1\" }", "env: { A: \"1\", B: \"2\" }")));
    // The same values from `defaults` give the same definition.
    let from_defaults =
        "(in) a (out)\ndefaults { image: \"i\" }\ntask a { command: [\"x\", in, out] env: { A: \"1\", B: \"2\" } }\n";
    assert_eq!(digest(text), digest(from_defaults));
    assert_ne!(digest(text), digest(&text.replace("\"x\"", "\"y\"")));
    assert_ne!(digest(text), digest(&text.replace("image: \"i\"", "image: \"j\"")));
    assert_ne!(digest(text), digest(&text.replace("\"2\"", "\"3\"")));
    assert!(digest(text).starts_with("sha256:") && digest(text).len() == 71);
}

#[test]
fn statements_that_do_not_parse_become_error_nodes() {
    let ir = ir("(in) a (x)\n(x[1/]) b (y)\n(y) c (out\n)) junk\n(out) d (z)\ndefaults { command: [\"p\"] }\n");
    assert!(ir.has_errors);
    let errors: Vec<_> = ir.graph.node_weights().filter(|n| matches!(n, Node::Error { .. })).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let tasks = ir.graph.node_weights().filter(|n| matches!(n, Node::Task(_))).count();
    assert_eq!(tasks, 4, "a, b (broken inputs), c (unclosed outputs), d");
    assert!(task(&ir, "b").has_errors);
    assert!(!task(&ir, "a").has_errors);
}

#[test]
fn ir_json_is_versioned_and_deterministic() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tfmodel.kja")).unwrap();
    let first = ir(&text).to_json();
    assert_eq!(first, ir(&text).to_json());
    let value: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(value["ir_version"], 1);
    assert_eq!(value["namespace"], "ml");
    assert_eq!(value["nodes"].as_array().unwrap().len(), 4 + 2 + 1); // tasks, inputs, output
}

#[test]
fn describe_one_task_or_none() {
    let ir = ir("(in) a (out)\ntask a { command: [\"x\"] }\n");
    let text = describe(&ir, Some("a")).unwrap();
    assert!(text.contains("command:  x <in:1> <out>"), "{text}");
    assert!(describe(&ir, Some("zzz")).is_none());
}

#[test]
fn snapshots_of_ir_and_describe_for_every_example() {
    insta::glob!("../../examples", "*.kja", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let analysis = analyze_text(&text, "example");
        let ir = Ir::from_analysis(&analysis);
        insta::assert_snapshot!("ir", format!("----- SOURCE CODE\n{text}\n----- IR\n{}", ir.to_json()));
        insta::assert_snapshot!(
            "describe",
            format!("----- SOURCE CODE\n{text}\n----- DESCRIBE\n{}", describe(&ir, None).unwrap())
        );
    });
}

#[test]
fn task_lookup_by_id_matches_the_pipeline() {
    let text = "(in) a (x)\n(x) b (y)\n)) broken\n(y + in_more) c (out)\ndefaults { image: \"i\" command: [\"c\"] }\n";
    let analysis = koalja_compiler::analysis::analyze_text(text, "p");
    let ir = koalja_compiler::ir::Ir::from_analysis(&analysis);
    for (id, task) in analysis.pipeline.tasks.iter().enumerate() {
        assert_eq!(ir.task(id).map(|node| node.name.as_str()), Some(task.name.as_str()));
    }
    assert!(ir.task(analysis.pipeline.tasks.len()).is_none(), "past the tasks: an input, output or error node");
}

/// The runtime reads the IR through its own serde view
/// (`koalja_agent::plan`); every example must read back with the same
/// tasks, inputs and outputs, so the two sides cannot drift apart.
#[test]
fn every_example_reads_back_as_a_runtime_plan() {
    use koalja_agent::plan::{Plan, Run};
    let mut read = 0;
    for path in example_paths() {
        let analysis = analyze_text(&std::fs::read_to_string(&path).unwrap(), "p");
        let ir = Ir::from_analysis(&analysis);
        let plan = Plan::from_ir_json(ir.to_json().as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(plan.name, ir.name);
        assert_eq!(plan.tasks.len(), analysis.pipeline.tasks.len());
        for (planned, task) in plan.tasks.iter().zip(&analysis.pipeline.tasks) {
            assert_eq!(planned.name, task.name.as_str());
            let inputs: Vec<&str> = planned.inputs.iter().map(|i| i.name.as_str()).collect();
            let expected: Vec<&str> = task.inputs.iter().map(|i| i.name.as_str()).collect();
            assert_eq!(inputs, expected, "{}", task.name);
            let outputs: Vec<&str> = planned.outputs.iter().map(|o| o.wire.as_str()).collect();
            let expected: Vec<&str> =
                task.outputs.iter().map(|o| analysis.pipeline.wires[o.wire].name.as_str()).collect();
            assert_eq!(outputs, expected, "{}", task.name);
            assert!(matches!(planned.run, Run::Command { .. } | Run::Shell(_)));
        }
        read += 1;
    }
    assert!(read >= 6, "examples read: {read}");
}

#[test]
fn the_runtime_refuses_an_ir_with_errors() {
    let ir = ir("(in) a (x)\n(x, y) b (out)\n");
    let error = koalja_agent::plan::Plan::from_ir_json(ir.to_json().as_bytes()).unwrap_err();
    assert!(error.0.contains("errors"), "{error}");
}

#[test]
fn a_shell_run_is_split_at_its_placeholders() {
    use koalja_compiler::model::Arg;
    let ir = ir("(in) t (out)\ntask t { shell: \"awk '{print $1}' {in} | sed 's/{{x}/y/' > {out}\" }\n");
    let lit = |text: &str| Arg::Literal(text.into());
    let wire = |name: &str| Arg::Wire(name.into());
    assert_eq!(
        task(&ir, "t").contract.shell,
        Some(vec![lit("awk '{print $1}' "), wire("in"), lit(" | sed 's/{x}/y/' > "), wire("out")])
    );
}

/// The agent's tests run on copies of these IRs; keep the copies current.
#[test]
fn the_agents_test_irs_are_current() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for (source, name, copy) in [
        ("examples/linecount.kja", "linecount", "runtime/tests/data/linecount.ir.json"),
        ("runtime/tests/data/split-join.kja", "split-join", "runtime/tests/data/split-join.ir.json"),
        ("runtime/tests/data/orphans.kja", "orphans", "runtime/tests/data/orphans.ir.json"),
        ("runtime/tests/data/drain.kja", "drain", "runtime/tests/data/drain.ir.json"),
        ("examples/sovereign.kja", "sovereign", "runtime/tests/data/sovereign.ir.json"),
    ] {
        let text = std::fs::read_to_string(format!("{root}/{source}")).unwrap();
        let current = Ir::from_analysis(&analyze_text(&text, name)).to_json();
        let copy_path = format!("{root}/{copy}");
        if std::env::var_os("KOALJA_UPDATE_FIXTURES").is_some() {
            std::fs::write(&copy_path, &current).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&copy_path).unwrap_or_default(),
            current,
            "{copy} is stale: rerun with KOALJA_UPDATE_FIXTURES=1"
        );
    }
}
