//! Generated pipelines for benchmarks: `tasks` tasks, each a wiring
//! statement and a task block, with buffers, merges, types and comments in
//! the mix, so every phase of the front end has work to do. The result
//! checks clean. Shared by `benches/front_end.rs` and `examples/generate.rs`.

use std::fmt::Write;

pub fn pipeline(tasks: usize) -> String {
    let mut text = String::with_capacity(tasks * 140);
    text.push_str("# A generated pipeline for benchmarks.\n[bench/generated]\n\n");
    text.push_str("type table = file \"text/csv\" export\n\n");
    text.push_str("defaults {\n  image:   \"alpine:3.20\"\n  timeout: \"5m\"\n}\n\n");
    for i in 0..tasks {
        let inputs = match i {
            0 => "in: table".to_owned(),
            i if i % 10 == 5 => format!("w{} + in_side{i}[2-4]", i - 1),
            i if i % 7 == 3 => format!("w{}[4/2]", i - 1),
            i => format!("w{}", i - 1),
        };
        let _ = writeln!(text, "({inputs})  t{i}  (w{i})");
    }
    text.push('\n');
    for i in 0..tasks {
        let first_input = if i == 0 { "in".to_owned() } else { format!("w{}", i - 1) };
        let _ = write!(
            text,
            "# Step {i} of the chain.\ntask t{i} {{\n  command: [\"process\", \"--step\", \"{i}\", {first_input}, w{i}]\n  env:     {{ STEP: \"{i}\" }}\n  retries: 1\n}}\n\n"
        );
    }
    text
}
