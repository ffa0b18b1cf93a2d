//! Property tests of the front end on inputs nobody wrote by hand.
//!
//! - Any bytes (token soups, mutated examples): analysis never panics, every
//!   span lies inside the text on character boundaries, and formatting either
//!   refuses (syntax errors) or yields a file without syntax errors.
//! - Valid programs with random layout, separators and comments anywhere:
//!   `fmt` is idempotent, keeps every comment, and never changes meaning (the
//!   checked pipeline without spans, and the diagnostics without positions,
//!   are equal before and after).
//! - Edits, one after another (the language server's path): re-analysing
//!   each version from the last equals analysing it afresh, whether or not
//!   the region re-parse applied.

#[path = "support/examples.rs"]
mod examples;
use examples::example_paths;
use proptest::prelude::*;
use proptest::test_runner::Config;

use koalja_compiler::analysis::{analyze, analyze_text, reanalyze, Analysis};
use koalja_compiler::format::format;

fn assert_sane(bytes: &[u8]) -> Analysis {
    let analysis = analyze(bytes, "prop");
    let length = analysis.text.len() as u32;
    for diagnostic in &analysis.diagnostics {
        for span in std::iter::once(diagnostic.span).chain(diagnostic.labels.iter().map(|l| l.span)) {
            assert!(span.start <= span.end && span.end <= length, "span {span:?} outside 0..{length}");
            assert!(
                analysis.text.is_char_boundary(span.start as usize)
                    && analysis.text.is_char_boundary(span.end as usize)
            );
        }
    }
    if let Some(formatted) = format(&analysis) {
        let again = analyze(formatted.as_bytes(), "prop");
        assert!(!again.has_syntax_errors, "formatting produced syntax errors:\n{formatted}\n{:?}", again.diagnostics);
    }
    analysis
}

/// The meaning of a program: the checked pipeline without source positions,
/// and the diagnostics without positions.
fn meaning(analysis: &Analysis) -> (serde_json::Value, Vec<(String, String, Option<String>)>) {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|key, _| !matches!(key.as_str(), "span" | "block_span" | "wire_spans"));
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut pipeline = serde_json::to_value(&analysis.pipeline).unwrap();
    strip(&mut pipeline);
    let mut diagnostics: Vec<_> =
        analysis.diagnostics.iter().map(|d| (d.code.as_str().to_owned(), d.message.clone(), d.help.clone())).collect();
    diagnostics.sort();
    (pipeline, diagnostics)
}

const SOUP: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "+",
    "/",
    "-",
    ":",
    "=",
    "task",
    "type",
    "defaults",
    "implicit",
    "export",
    "in",
    "in_a",
    "x",
    "out",
    "convert",
    "image",
    "command",
    "shell",
    "policy",
    "all-new",
    "sliding-window",
    "file",
    "dir",
    "csv",
    "0",
    "1",
    "10",
    "99999999999999999999999",
    "\"s\"",
    "\"{in} > {out}\"",
    "\"unterminated",
    "\"bad\\q\"",
    "# c",
    "\n",
    " ",
    "\t",
    ";",
    "'",
    "é",
    "\u{feff}",
    "$",
    "\r\n",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(SOUP).prop_map(|t| t.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 1..4),
        ],
        0..120,
    )
    .prop_map(|parts| parts.join(&b" "[..]))
}

fn examples() -> Vec<Vec<u8>> {
    example_paths().into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, &'static str),
    Delete(usize, usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    FlipByte(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), prop::sample::select(SOUP)).prop_map(|(at, text)| Mutation::Insert(at, text)),
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Mutation::Delete(at, len)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::FlipByte(at, byte)),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let length = bytes.len().max(1);
    match *mutation {
        Mutation::Insert(at, text) => {
            let at = at % length.min(bytes.len() + 1).max(1);
            bytes.splice(at..at, text.bytes());
        }
        Mutation::Delete(at, len) => {
            let at = at % length;
            let end = (at + len).min(bytes.len());
            if at < end {
                bytes.drain(at..end);
            }
        }
        Mutation::DuplicateLine(n) | Mutation::SwapLines(n, _) if bytes.is_empty() => {
            let _ = n;
        }
        Mutation::DuplicateLine(n) => {
            let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let n = n % lines.len();
            let line = lines[n].clone();
            lines.insert(n, line);
            *bytes = lines.join(&b'\n');
        }
        Mutation::SwapLines(a, b) => {
            let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            let count = lines.len();
            lines.swap(a % count, b % count);
            *bytes = lines.join(&b'\n');
        }
        Mutation::FlipByte(at, byte) => {
            if !bytes.is_empty() {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
        }
    }
}

/// Syntactically valid programs, laid out at random.
fn valid_program() -> impl Strategy<Value = String> {
    let name = prop::sample::select(&["in", "in_b", "x", "y", "z", "out", "lookup", "model"][..]);
    let task = prop::sample::select(&["a", "b", "c", "convert", "learn-tf"][..]);
    let buffer = prop_oneof![
        3 => Just(String::new()),
        1 => (1u64..4).prop_map(|n| format!("[{n}]")),
        1 => (1u64..3, 3u64..6).prop_map(|(m, n)| format!("[{m}-{n}]")),
        1 => (2u64..6, 1u64..3).prop_map(|(n, s)| format!("[{n}/{}]", s.min(n))),
    ];
    let ty = prop_oneof![4 => Just(String::new()), 1 => prop::sample::select(&["csv", "json", "file", "sales"][..]).prop_map(|t| format!(": {t}"))];
    let input = (prop::collection::vec((name.clone(), buffer), 1..3), any::<bool>(), ty.clone()).prop_map(
        |(members, implicit, ty)| {
            let members: Vec<String> = members.into_iter().map(|(n, b)| format!("{n}{b}")).collect();
            format!("{}{}{ty}", members.join(" + "), if implicit { " implicit" } else { "" })
        },
    );
    let output = (name, any::<bool>(), ty)
        .prop_map(|(n, implicit, ty)| format!("{n}{}{ty}", if implicit { " implicit" } else { "" }));
    let wiring = (prop::collection::vec(input, 0..3), task.clone(), prop::collection::vec(output, 0..3)).prop_map(
        |(inputs, task, outputs)| {
            vec![
                "(".to_owned(),
                inputs.join(" , "),
                ")".to_owned(),
                task.to_owned(),
                "(".to_owned(),
                outputs.join(" "),
                ")".to_owned(),
            ]
        },
    );
    let value = prop_oneof![
        Just("\"alpine:3.20\"".to_owned()),
        Just("[\"run\" , in  out]".to_owned()),
        Just("\"cp {in} > {out} # not a comment\"".to_owned()),
        Just("all-new".to_owned()),
        Just("{ A: \"1\" B: \"2\" }".to_owned()),
        Just("3".to_owned()),
    ];
    let key = prop::sample::select(&["image", "command", "shell", "policy", "env", "retries", "imgae"][..]);
    let block = (task, prop::collection::vec((key, value), 0..4)).prop_map(|(task, entries)| {
        let mut tokens = vec!["task".to_owned(), task.to_owned(), "{".to_owned()];
        for (k, v) in entries {
            tokens.push(format!("{k}:"));
            tokens.push(v);
        }
        tokens.push("}".to_owned());
        tokens
    });
    let type_decl = prop::sample::select(&["sales", "summary", "csv"][..]).prop_map(|n| {
        vec![
            "type".to_owned(),
            n.to_owned(),
            "=".to_owned(),
            "file".to_owned(),
            "\"text/csv\"".to_owned(),
            "export".to_owned(),
        ]
    });
    let item = prop_oneof![4 => wiring, 2 => block, 1 => type_decl];
    let separator = prop::sample::select(
        &[" ", "  ", "\n", "\n\n", "\t", " # note\n", "\n# own line\n", "\n\n# after a blank\n"][..],
    );
    (any::<bool>(), prop::collection::vec(item, 0..7), prop::collection::vec(separator, 200)).prop_map(
        |(header, items, separators)| {
            let mut text = String::new();
            let mut next = separators.into_iter().cycle();
            if header {
                text.push_str("[ns/prop]\n");
            }
            for tokens in items {
                // Items start on their own line, as people write them.
                text.push('\n');
                for (i, token) in tokens.iter().enumerate() {
                    if i > 0 {
                        text.push_str(next.next().unwrap());
                    }
                    text.push_str(token);
                }
            }
            text.push('\n');
            text
        },
    )
}

proptest! {
    #![proptest_config(Config { cases: 400, ..Config::default() })]

    #[test]
    fn token_soups_never_break_the_front_end(bytes in soup()) {
        assert_sane(&bytes);
    }

    #[test]
    fn mutated_examples_never_break_the_front_end(which in 0usize..6, mutations in prop::collection::vec(mutation(), 1..6)) {
        let mut bytes = examples()[which % 6].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        assert_sane(&bytes);
    }

    #[test]
    fn fmt_is_idempotent_keeps_comments_and_meaning(program in valid_program()) {
        let analysis = analyze(program.as_bytes(), "prop");
        prop_assert!(!analysis.has_syntax_errors, "generator made a syntax error:\n{}\n{:?}", program, analysis.diagnostics);
        let once = format(&analysis).unwrap();
        let formatted = analyze(once.as_bytes(), "prop");
        let twice = format(&formatted).unwrap();
        prop_assert_eq!(&once, &twice, "not idempotent; input:\n{}", program);
        prop_assert_eq!(meaning(&analysis), meaning(&formatted), "meaning changed:\n{}\n---\n{}", program, once);
        let comments = |text: &str| text.matches('#').count();
        prop_assert_eq!(comments(&program), comments(&once), "a comment was lost:\n{}\n---\n{}", program, once);
    }
}

#[test]
fn fmt_keeps_meaning_on_every_example_and_corpus_file() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/test_data");
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["parser/ok", "check/ok", "check/err"] {
        files.extend(std::fs::read_dir(format!("{root}/{dir}")).unwrap().map(|e| e.unwrap().path()));
    }
    let mut inputs: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    inputs.extend(examples());
    for bytes in inputs {
        let analysis = analyze(&bytes, "prop");
        let Some(once) = format(&analysis) else { continue };
        let formatted = analyze(once.as_bytes(), "prop");
        assert_eq!(format(&formatted).as_deref(), Some(once.as_str()));
        assert_eq!(meaning(&analysis), meaning(&formatted), "{}\n---\n{once}", String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(Config { cases: 200, ..Config::default() })]

    /// Lowering never panics on a program that checks clean: it builds
    /// (every object, written out), or reports only tasks without an image.
    #[test]
    fn build_never_panics_on_clean_programs(program in valid_program()) {
        let analysis = analyze(program.as_bytes(), "prop");
        if analysis.error_count() == 0 {
            match koalja_compiler::lower::build(&analysis, &Default::default()) {
                Ok(manifests) => {
                    let yaml = manifests.to_yaml();
                    prop_assert_eq!(yaml.matches("---\n").count(), manifests.len());
                    prop_assert!(manifests.to_json().contains("\"kind\": \"List\""));
                }
                Err(diagnostics) => prop_assert!(diagnostics.iter().all(|d| d.code.as_str() == "K0043")),
            }
        }
    }
}

/// Asserts that `analysis` is what a fresh analysis of its text finds.
fn assert_fresh(analysis: &Analysis) -> Result<(), TestCaseError> {
    let fresh = analyze_text(&analysis.text, "prop");
    prop_assert_eq!(&analysis.parsed, &fresh.parsed, "parse differs after edits:\n{}", analysis.text);
    prop_assert_eq!(&analysis.diagnostics, &fresh.diagnostics);
    prop_assert_eq!(&analysis.pipeline, &fresh.pipeline);
    prop_assert_eq!(analysis.has_syntax_errors, fresh.has_syntax_errors);
    Ok(())
}

/// Edits that mostly keep a program valid (where the region re-parse
/// applies), with the odd breaking one among them.
fn layout_edit() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), prop::sample::select(&[" ", "\n", "# note\n", "\n\n", "x", "1", "task", ")", "\""][..]))
            .prop_map(|(at, text)| Mutation::Insert(at, text)),
        3 => (any::<usize>(), 1usize..4).prop_map(|(at, len)| Mutation::Delete(at, len)),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

proptest! {
    #![proptest_config(Config { cases: 300, ..Config::default() })]

    #[test]
    fn reanalysis_after_edits_equals_a_fresh_analysis(
        program in valid_program(),
        edits in prop::collection::vec(layout_edit(), 1..8),
    ) {
        let mut analysis = analyze_text(&program, "prop");
        for edit in &edits {
            let mut bytes = analysis.text.clone().into_bytes();
            apply(&mut bytes, edit);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            analysis = reanalyze(&analysis, text, "prop");
            assert_fresh(&analysis)?;
        }
    }
}

/// Every example, with a space and a line break typed at the start of
/// every line in turn: re-analysis equals a fresh one each time.
#[test]
fn reanalysis_at_every_line_of_every_example_equals_a_fresh_analysis() {
    for bytes in examples() {
        let text = String::from_utf8(bytes).unwrap();
        let original = analyze_text(&text, "prop");
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1));
        for at in line_starts.filter(|&at| at < text.len()) {
            for typed in [" ", "\n", "(", "task"] {
                let mut edited = text.clone();
                edited.insert_str(at, typed);
                assert_fresh(&reanalyze(&original, edited, "prop")).unwrap();
            }
        }
    }
}
