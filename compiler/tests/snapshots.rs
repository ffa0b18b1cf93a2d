//! Snapshots of what people see, each stored with its source above it, so a
//! reviewer reads both at once (`cargo insta review` after a change):
//! the terminal rendering of every `err` corpus file, and `koaljac fmt` of
//! every example.

use koalja_compiler::analysis::analyze;
use koalja_compiler::format::format;
use koalja_compiler::render::{human, FileReport};

fn source_and(section: &str, source: &[u8], output: &str) -> String {
    format!("----- SOURCE CODE\n{}\n----- {section}\n{output}", String::from_utf8_lossy(source))
}

#[test]
fn rendered_diagnostics_of_error_corpora() {
    insta::glob!("../test_data", "{parser,check}/err/*.kja", |path| {
        let bytes = std::fs::read(path).unwrap();
        let analysis = analyze(&bytes, "corpus");
        let name = path.file_name().unwrap().to_string_lossy();
        let rendered = human::render(&FileReport { path: &name, analysis: &analysis }, false);
        insta::assert_snapshot!(source_and("DIAGNOSTICS", &bytes, &rendered));
    });
}

#[test]
fn formatted_examples() {
    insta::glob!("../../examples", "*.kja", |path| {
        let bytes = std::fs::read(path).unwrap();
        let analysis = analyze(&bytes, "example");
        let formatted = format(&analysis).expect("examples have no syntax errors");
        insta::assert_snapshot!(source_and("FORMATTED", &bytes, &formatted));
    });
}
