//! A second real client: Neovim's built-in LSP client, headless, with the
//! project's Neovim plugin (editors/neovim), driven by
//! editors/neovim/test/drive.lua through diagnostics, hover, go to
//! definition, rename and formatting on an example with a typo, and
//! highlighting with the tree-sitter grammar. Neovim comes from Debian
//! (scripts/test.sh installs it); without it this test says NOT RUN, and
//! fails under KOALJA_REQUIRE_TOOLS.

use std::path::{Path, PathBuf};
use std::process::Command;

use koalja_compiler::analysis::analyze_text;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn have(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|out| out.status.success())
}

/// The (line, UTF-16 column) of the first `needle` (ASCII text).
fn position(text: &str, needle: &str) -> Value {
    let offset = text.find(needle).unwrap_or_else(|| panic!("{needle} in the text"));
    let line = text[..offset].matches('\n').count();
    let character = offset - text[..offset].rfind('\n').map_or(0, |at| at + 1);
    json!({ "line": line, "character": character })
}

/// The grammar built for the Neovim at hand: Debian's Neovim 0.7 loads
/// parsers of tree-sitter ABI 14 at most, so the parser is generated again
/// at that ABI (the committed one is 15) and compiled. `None` when the
/// tree-sitter CLI or a C compiler is missing.
fn parser_for_neovim(scratch: &Path) -> Option<(PathBuf, PathBuf)> {
    if !have("tree-sitter") || !have("cc") {
        return None;
    }
    let grammar = root().join("grammar/tree-sitter-koalja");
    let source = scratch.join("src");
    let generated = Command::new("tree-sitter")
        .args(["generate", "--abi", "14", "-o"])
        .arg(&source)
        .arg(grammar.join("src/grammar.json"))
        .status()
        .expect("tree-sitter runs");
    assert!(generated.success(), "tree-sitter generate --abi 14");
    let library = scratch.join("koalja.so");
    let compiled = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-I"])
        .arg(&source)
        .arg(source.join("parser.c"))
        .arg("-o")
        .arg(&library)
        .status()
        .expect("cc runs");
    assert!(compiled.success(), "the parser compiles");
    // Queries go where Neovim looks: queries/koalja/ on the runtimepath.
    let queries = scratch.join("runtime");
    std::fs::create_dir_all(queries.join("queries/koalja")).unwrap();
    for name in ["highlights.scm", "folds.scm", "locals.scm"] {
        std::fs::copy(grammar.join("queries").join(name), queries.join("queries/koalja").join(name)).unwrap();
    }
    Some((library, queries))
}

#[test]
fn neovims_own_lsp_client_shows_diagnostics_hovers_jumps_renames_formats_and_highlights() {
    if !have("nvim") {
        assert!(std::env::var_os("KOALJA_REQUIRE_TOOLS").is_none(), "Neovim is required (scripts/test.sh installs it)");
        eprintln!("NOT RUN: Neovim is not installed; scripts/test.sh installs it and runs this test");
        return;
    }
    let scratch = std::env::temp_dir().join(format!("koalja-neovim-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    // linecount with a typo (`stripd`) and an unaligned statement.
    let example = std::fs::read_to_string(root().join("examples/linecount.kja")).unwrap();
    let text = example
        .replace("(stripped)  count-lines (out)", "(stripd)  count-lines (out)")
        .replace("(in)        uniq-lines  (stripped)", "(in) uniq-lines   (stripped)");
    assert_ne!(text, example);
    let file = scratch.join("linecount.kja");
    std::fs::write(&file, &text).unwrap();
    let parser = parser_for_neovim(&scratch);
    if parser.is_none() {
        assert!(
            std::env::var_os("KOALJA_REQUIRE_TOOLS").is_none(),
            "the tree-sitter CLI and cc are required (scripts/test.sh installs the CLI)"
        );
        eprintln!("NOT RUN (highlighting only): no tree-sitter CLI or cc to build the parser");
    }
    let out = scratch.join("seen.json");
    let spec = json!({
        "file": file,
        "out": out,
        "lsp": env!("CARGO_BIN_EXE_koalja-lsp"),
        "parser": parser.as_ref().map(|(library, _)| library),
        "queries": parser.as_ref().map(|(_, queries)| queries),
        "hover": position(&text, "stripped"),
        "definition": position(&text, "count-lines"),
        "rename": position(&text, "out)"),
        "new_name": "lines",
    });
    let spec_file = scratch.join("spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let plugin = root().join("editors/neovim");
    let driver = root().join("editors/neovim/test/drive.lua");
    let ran = Command::new("timeout")
        .arg("120")
        .args(["nvim", "--headless", "-u", "NONE", "-i", "NONE", "--cmd"])
        .arg(format!("set rtp+={}", plugin.display()))
        .arg("-c")
        .arg(format!("luafile {}", driver.display()))
        .env("KOALJA_NVIM_SPEC", &spec_file)
        .output()
        .expect("nvim runs");
    assert!(
        ran.status.success(),
        "nvim: {}\n{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    let seen: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("the driver wrote what it saw")).unwrap();
    assert_eq!(seen["errors"], json!([]), "{seen:#}");
    assert_eq!(seen["filetype"], "koalja");

    // Diagnostics: exactly the compiler's, where it puts them.
    let analysis = analyze_text(&text, "linecount");
    let mut expected: Vec<(String, u64)> = analysis
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str().to_owned(), text[..d.span.start as usize].matches('\n').count() as u64))
        .collect();
    let mut shown: Vec<(String, u64)> = seen["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap().to_owned(), d["line"].as_u64().unwrap()))
        .collect();
    expected.sort();
    shown.sort();
    assert!(!expected.is_empty());
    assert_eq!(shown, expected, "{seen:#}");
    assert!(seen["diagnostics"][0]["message"].as_str().unwrap().contains("did you mean `stripped`"), "{seen:#}");

    // Hover on `stripped`: its producer and consumer.
    let hover = seen["hover"].as_str().unwrap();
    assert!(hover.contains("`stripped`") && hover.contains("produced by `uniq-lines`"), "{hover}");

    // Go to definition on a task's name jumps to its `task` block.
    let block_line = text.lines().position(|line| line.starts_with("task count-lines")).unwrap();
    assert_eq!(seen["definition"]["line"], block_line as u64);

    // Rename `out` → `lines`: the statement and the `{out}` placeholder.
    let renamed = seen["renamed"].as_str().unwrap();
    assert_eq!(renamed, text.replace("(out)", "(lines)").replace("{out}", "{lines}"));

    // Formatting: what `koaljac fmt` writes.
    let formatted = koalja_compiler::format::format(&analyze_text(renamed, "linecount")).unwrap();
    assert_eq!(seen["formatted"].as_str().unwrap(), formatted);
    assert_ne!(formatted, renamed, "there was something to format");

    // Highlighting with the tree-sitter grammar.
    if parser.is_some() {
        let tree = &seen["treesitter"];
        assert_eq!(tree["loaded"], true, "{tree:#}");
        assert_eq!(tree["has_error"], false, "{tree:#}");
        assert_eq!(tree["highlighter_active"], true, "{tree:#}");
        let captures = &tree["captures"];
        assert_eq!(captures["function"]["text"], "uniq-lines", "{tree:#}");
        assert_eq!(captures["keyword"]["text"], "defaults", "{tree:#}");
        assert!(captures["comment"]["text"].as_str().unwrap().starts_with("# Count"), "{tree:#}");
        assert_eq!(captures["string"]["text"], "\"alpine:3.20\"", "{tree:#}");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
