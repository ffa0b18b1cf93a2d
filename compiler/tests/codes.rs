//! Tidy checks on the diagnostic codes: every code has a long explanation
//! whose example program really produces that code, and every code is
//! covered by a corpus file that expects it. K0001 (invalid UTF-8) cannot be
//! shown in a Markdown example and K0007 (too many diagnostics) needs a huge
//! input; both are exercised here directly instead.

use std::collections::BTreeSet;
use std::path::Path;

use koalja_compiler::analysis::{analyze, analyze_text};
use koalja_compiler::diagnostic::{Code, MAX_DIAGNOSTICS_PER_FILE};

const NO_MARKDOWN_EXAMPLE: [Code; 3] = [Code::InvalidUtf8, Code::TooManyDiagnostics, Code::IrTooLarge];
/// Reported by `koaljac build`, not by checking: its example is built.
const BUILD_ONLY: [Code; 2] = [Code::MissingImage, Code::IrTooLarge];

fn example(code: Code) -> Option<String> {
    let text = code.explanation();
    let start = text.find("```kja\n")? + "```kja\n".len();
    let end = start + text[start..].find("```")?;
    Some(text[start..end].to_owned())
}

#[test]
fn every_code_has_an_explanation_with_a_title() {
    for &code in Code::ALL {
        let first_line = code.explanation().lines().next().unwrap_or_default();
        assert!(first_line.starts_with(&format!("# {}: ", code.as_str())), "{}: {first_line}", code.as_str());
        assert!(code.explanation().len() > 120, "{} explanation is too short", code.as_str());
    }
}

#[test]
fn every_explanation_example_produces_its_code() {
    for &code in Code::ALL {
        match example(code) {
            None => assert!(NO_MARKDOWN_EXAMPLE.contains(&code), "{} has no ```kja example", code.as_str()),
            Some(program) => {
                let mut analysis = analyze_text(&program, "example");
                if BUILD_ONLY.contains(&code) {
                    let built = koalja_compiler::lower::build(&analysis, &Default::default());
                    analysis.diagnostics = built.err().unwrap_or_default();
                }
                assert!(
                    analysis.diagnostics.iter().any(|d| d.code == code),
                    "the example of {} does not produce it:\n{program}\n{:?}",
                    code.as_str(),
                    analysis.diagnostics
                );
            }
        }
    }
}

#[test]
fn every_code_is_expected_by_a_corpus_file() {
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    for corpus in ["parser", "check"] {
        for kind in ["ok", "err"] {
            for entry in std::fs::read_dir(root.join(corpus).join(kind)).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                let first =
                    String::from_utf8_lossy(bytes.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
                if let Some(list) = first.strip_prefix("# expect:") {
                    expected.extend(list.split(',').map(|c| c.trim().to_owned()));
                }
            }
        }
    }
    for &code in Code::ALL {
        if code == Code::TooManyDiagnostics || BUILD_ONLY.contains(&code) {
            continue; // Tested directly (above, and in tests/build.rs).
        }
        assert!(expected.contains(code.as_str()), "no corpus file expects {}", code.as_str());
    }
}

#[test]
fn invalid_utf8_is_reported_with_its_byte_offset() {
    let analysis = analyze(b"(in) a (out) # caf\xe9\ntask a { shell: \"cp {in} {out}\" }\n", "p");
    assert_eq!(analysis.diagnostics.len(), 1);
    assert_eq!(analysis.diagnostics[0].code, Code::InvalidUtf8);
    assert_eq!(analysis.diagnostics[0].message, "invalid UTF-8 at byte 18");
    assert_eq!(analysis.diagnostics[0].span.start, 18);
}

#[test]
fn too_many_diagnostics_are_cut_with_a_count() {
    // Every line is a task wired a second time: one K0013 per line.
    let mut text = String::from("(in) a (out)\ntask a { shell: \"cp {in} {out}\" }\n");
    for _ in 0..(MAX_DIAGNOSTICS_PER_FILE + 50) {
        text.push_str("(in) a (out)\n");
    }
    let analysis = analyze_text(&text, "p");
    assert_eq!(analysis.diagnostics.len(), MAX_DIAGNOSTICS_PER_FILE + 1);
    let last = analysis.diagnostics.last().unwrap();
    assert_eq!(last.code, Code::TooManyDiagnostics);
    assert_eq!(last.message, "50 more diagnostics were not shown");
}

#[test]
fn parsing_stops_after_too_many_recoveries() {
    // Each line starts an item and fails at once: one recovery per line.
    let text = "task\n".repeat(5000);
    let analysis = analyze_text(&text, "p");
    assert!(analysis
        .diagnostics
        .iter()
        .any(|d| d.code == Code::TooManyDiagnostics && d.message.contains("parsing stopped")));
}

#[test]
fn every_example_in_the_language_reference_parses() {
    let reference = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../grammar/reference.md")).unwrap();
    let mut examples = 0;
    for block in reference.split("```kja\n").skip(1) {
        let program = &block[..block.find("```").unwrap()];
        let analysis = analyze_text(program, "reference");
        assert!(!analysis.has_syntax_errors, "{program}\n{:?}", analysis.diagnostics);
        examples += 1;
    }
    assert!(examples >= 5, "found only {examples} examples");
}
