//! The server in process, through its tower service with a fake client:
//! diagnostics on open and change (incremental), formatting, `koalja/graph`
//! while the document has errors, handlers that survive bad requests.

mod support;

use koalja_compiler::graph::layout::{self, Direction};
use serde_json::json;
use support::{fresh_check, summary, Client, URI};

const BROKEN: &str =
    "[demo/p]\n(in) clean (cleaned)\n(cleand) sumarize (out)\ntask clean { image: \"i\" command: [\"c\"] }\n";

#[tokio::test]
async fn diagnostics_on_open_equal_a_fresh_check() {
    let mut client = Client::start().await;
    let published = client.open(BROKEN).await;
    assert_eq!(published["uri"], URI);
    assert_eq!(published["version"], 1);
    let expected = fresh_check(BROKEN);
    assert!(!expected.is_empty());
    assert_eq!(summary(&published), expected);
    let first = &published["diagnostics"][0];
    assert_eq!(first["source"], "koalja");
    assert_eq!(first["severity"], 1);
}

#[tokio::test]
async fn incremental_changes_are_applied_in_utf16() {
    let mut client = Client::start().await;
    let text = "# ü😀\n(in) a (out)\ntask a { image: \"i\" command: [\"c\", in, out] }\n";
    assert_eq!(summary(&client.open(text).await), fresh_check(text));
    // Rename the output `out` on line 1 (after the non-ASCII comment line) to `result`.
    client
        .notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": URI, "version": 2 },
                "contentChanges": [
                    { "range": { "start": { "line": 1, "character": 8 }, "end": { "line": 1, "character": 11 } }, "text": "result" },
                    { "range": { "start": { "line": 0, "character": 2 }, "end": { "line": 0, "character": 5 } }, "text": "é" }
                ]
            }),
        )
        .await;
    let published = client.diagnostics().await;
    assert_eq!(published["version"], 2);
    let edited = "# é\n(in) a (result)\ntask a { image: \"i\" command: [\"c\", in, out] }\n";
    assert_eq!(summary(&published), fresh_check(edited));
    let codes: Vec<String> = summary(&published).into_iter().map(|(code, ..)| code).collect();
    assert_eq!(codes, ["K0052", "K0033"], "`result` is unused and `out` is gone");
    // Positions after the edit count UTF-16 units: the error is on line 2.
    assert_eq!(published["diagnostics"][1]["range"]["start"]["line"], 2);
}

#[tokio::test]
async fn graph_is_answered_while_the_document_has_errors() {
    let mut client = Client::start().await;
    client.open("(in) a (x)\n)) stray\n(x) c (out)\n").await;
    let graph = client.request("koalja/graph", json!({ "textDocument": { "uri": URI } })).await;
    let kinds: Vec<&str> = graph["nodes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"error"), "{graph}");
    assert!(kinds.contains(&"task") && kinds.contains(&"input"));
    let error = graph["nodes"].as_array().unwrap().iter().find(|n| n["kind"] == "error").unwrap();
    assert_eq!(error["range"]["start"]["line"], 1, "the broken statement: {graph}");
    let edge = &graph["edges"][0];
    for field in ["from", "to", "wire", "label", "implicit", "range"] {
        assert!(edge.get(field).is_some(), "edge has {field}: {edge}");
    }
}

#[tokio::test]
async fn graph_carries_the_svgs_layout_in_the_direction_asked() {
    let mut client = Client::start().await;
    let text = "(in) a (x)\n(x) b (out)\ndefaults { image: \"i\" command: [\"c\"] }\n";
    client.open(text).await;
    let view = koalja_compiler::graph::GraphView::from_ir(&koalja_compiler::ir::Ir::from_analysis(
        &koalja_compiler::analysis::analyze_text(text, "demo"),
    ));
    for (asked, direction) in
        [(None, Direction::Right), (Some("right"), Direction::Right), (Some("down"), Direction::Down)]
    {
        let mut params = json!({ "textDocument": { "uri": URI } });
        if let Some(asked) = asked {
            params["direction"] = json!(asked);
        }
        let graph = client.request("koalja/graph", params).await;
        let expected = serde_json::to_value(layout::layout(&view, direction)).unwrap();
        assert_eq!(graph["layout"], expected, "{asked:?}");
        assert_eq!(graph["layout"]["nodes"].as_array().unwrap().len(), graph["nodes"].as_array().unwrap().len());
        assert_eq!(graph["layout"]["edges"].as_array().unwrap().len(), graph["edges"].as_array().unwrap().len());
    }
    // Chained a → b: along x when the layers run right, along y when down.
    let at = |graph: &serde_json::Value, label: &str, axis: &str| {
        let id = graph["nodes"].as_array().unwrap().iter().position(|n| n["label"] == label).unwrap();
        graph["layout"]["nodes"][id][axis].as_i64().unwrap()
    };
    let right = client.request("koalja/graph", json!({ "textDocument": { "uri": URI }, "direction": "right" })).await;
    let down = client.request("koalja/graph", json!({ "textDocument": { "uri": URI }, "direction": "down" })).await;
    assert!(at(&right, "a", "x") < at(&right, "b", "x"));
    assert!(at(&down, "a", "y") < at(&down, "b", "y"));
    let sideways =
        client.try_request("koalja/graph", json!({ "textDocument": { "uri": URI }, "direction": "up" })).await;
    assert!(sideways.is_err(), "an unknown direction is refused");
}

#[tokio::test]
async fn formatting_uses_the_formatter_and_refuses_broken_files() {
    let mut client = Client::start().await;
    let text =
        "(in) a (x)\n(x)   bb (out)\ntask a {image: \"i\" command: [\"c\"]}\ntask bb {image: \"i\" command: [\"c\"]}\n";
    client.open(text).await;
    let edits = client
        .request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
        )
        .await;
    let analysis = koalja_compiler::analysis::analyze_text(text, "demo");
    let expected = koalja_compiler::format::format(&analysis).unwrap();
    assert_eq!(edits[0]["newText"], expected.as_str());
    assert_eq!(edits[0]["range"]["end"]["line"], 4);

    client
        .notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": URI, "version": 2 }, "contentChanges": [{ "text": "(in a (x)\n" }] }),
        )
        .await;
    client.diagnostics().await;
    let edits = client
        .request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
        )
        .await;
    assert!(edits.is_null(), "a file with syntax errors is left alone: {edits}");
}

#[tokio::test]
async fn bad_requests_get_errors_and_the_server_goes_on() {
    let mut client = Client::start().await;
    let unknown = client.try_request("koalja/graph", json!({ "textDocument": { "uri": "file:///nowhere.kja" } })).await;
    assert!(unknown.unwrap_err()["message"].as_str().unwrap().contains("not open"));
    let malformed = client.try_request("koalja/graph", json!({ "nope": 1 })).await;
    assert!(malformed.is_err());
    // A change to a document never opened is logged, not fatal.
    client
        .notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": URI, "version": 9 }, "contentChanges": [{ "text": "x" }] }),
        )
        .await;
    assert_eq!(summary(&client.open("(in) a (out)\n").await), fresh_check("(in) a (out)\n"));
}

const WINDOWED: &str = "type table = file \"text/csv\" export\n(in_temp) clean (temps: table)\n(temps[10/2]) average (mean)\ntask clean { image: \"i\" command: [\"c\", in_temp, temps] }\ntask average { image: \"python:3.12\" shell: \"avg {temps} > {mean}\" }\n";

fn at(line: u32, character: u32) -> serde_json::Value {
    json!({ "textDocument": { "uri": URI }, "position": { "line": line, "character": character } })
}

#[tokio::test]
async fn hover_tells_a_wires_type_producer_and_consumers_contract() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    // `temps` in `(temps[10/2]) average (mean)`.
    let hover = client.request("textDocument/hover", at(2, 3)).await;
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("`temps`: `table`"), "{text}");
    assert!(text.contains("produced by `clean`"), "{text}");
    assert!(text.contains("consumed by `average`, which runs after every 2 new values on `temps`"), "{text}");
    assert_eq!(hover["range"]["start"], json!({ "line": 2, "character": 1 }));
    // On the task: its contract, image and expanded command.
    let task = client.request("textDocument/hover", at(2, 16)).await;
    let text = task["contents"]["value"].as_str().unwrap();
    assert!(text.contains("python:3.12") && text.contains("avg "), "{text}");
    // On a type and on nothing.
    let ty = client.request("textDocument/hover", at(1, 27)).await;
    assert!(ty["contents"]["value"].as_str().unwrap().contains("text/csv"), "{ty}");
    assert!(client.request("textDocument/hover", at(0, 0)).await.is_null());
}

#[tokio::test]
async fn definition_goes_to_producer_block_and_declaration() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    let line_of = |answer: &serde_json::Value| answer["range"]["start"]["line"].as_u64().unwrap();
    // The wire `temps` → the statement that produces it.
    assert_eq!(line_of(&client.request("textDocument/definition", at(2, 3)).await), 1);
    // The task `average` → its task block.
    assert_eq!(line_of(&client.request("textDocument/definition", at(2, 16)).await), 4);
    // The type `table` → its declaration.
    assert_eq!(line_of(&client.request("textDocument/definition", at(1, 27)).await), 0);
    // A pipeline input has no producer: its first mention.
    let input = client.request("textDocument/definition", at(1, 3)).await;
    assert_eq!((line_of(&input), input["range"]["start"]["character"].as_u64().unwrap()), (1, 1));
}

/// The text after applying a rename's edits (last first, so offsets hold).
fn apply_rename(text: &str, answer: &serde_json::Value) -> String {
    let lines = koalja_lsp::position::LineStarts::new(text);
    let mut edits: Vec<(std::ops::Range<usize>, String)> = answer["changes"][URI]
        .as_array()
        .unwrap()
        .iter()
        .map(|edit| {
            let range: tower_lsp_server::ls_types::Range = serde_json::from_value(edit["range"].clone()).unwrap();
            (lines.offsets(text, range), edit["newText"].as_str().unwrap().to_owned())
        })
        .collect();
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut renamed = text.to_owned();
    for (range, new_text) in edits {
        renamed.replace_range(range, &new_text);
    }
    renamed
}

#[tokio::test]
async fn rename_a_wire_everywhere_it_is_written() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    let prepared = client.request("textDocument/prepareRename", at(2, 3)).await;
    assert_eq!(prepared["start"], json!({ "line": 2, "character": 1 }));
    let mut params = at(2, 3);
    params["newName"] = json!("readings");
    let answer = client.request("textDocument/rename", params).await;
    let renamed = apply_rename(WINDOWED, &answer);
    assert_eq!(renamed, WINDOWED.replace("temps", "readings"), "statements, command list and `{{temps}}`");
    // Meaning kept: the same diagnostics (by code) before and after.
    let codes = |text: &str| fresh_check(text).into_iter().map(|(code, ..)| code).collect::<Vec<_>>();
    assert_eq!(codes(&renamed), codes(WINDOWED));
}

#[tokio::test]
async fn rename_a_task_and_a_type() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    let mut params = at(2, 16);
    params["newName"] = json!("mean-of-10");
    let renamed = apply_rename(WINDOWED, &client.request("textDocument/rename", params).await);
    assert_eq!(renamed, WINDOWED.replace(" average ", " mean-of-10 ").replace("task average", "task mean-of-10"));
    let mut params = at(0, 6);
    params["newName"] = json!("csv_table");
    let renamed = apply_rename(WINDOWED, &client.request("textDocument/rename", params).await);
    assert_eq!(renamed, WINDOWED.replace("table", "csv_table"));
}

#[tokio::test]
async fn rename_refuses_keys_keywords_bad_names_and_collisions() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    let message = |answer: Result<serde_json::Value, serde_json::Value>| {
        answer.expect_err("refused")["message"].as_str().unwrap().to_owned()
    };
    // `image` in `task clean { image: … }`.
    assert!(message(client.try_request("textDocument/prepareRename", at(3, 14)).await).contains("key"));
    // The keyword `task` itself.
    assert!(message(client.try_request("textDocument/prepareRename", at(3, 1)).await).contains("no wire, task or type"));
    for (new_name, reason) in [
        ("task", "keyword"),
        ("mean", "already exists"),
        ("9lives", "not a name"),
        ("a b", "not a name"),
        ("", "not a name"),
    ] {
        let mut params = at(2, 3);
        params["newName"] = json!(new_name);
        let refused = message(client.try_request("textDocument/rename", params).await);
        assert!(refused.contains(reason), "{new_name}: {refused}");
    }
    // A built-in type has no declaration to rename.
    client.open("(in: csv) a (out)\n").await;
    assert!(message(client.try_request("textDocument/prepareRename", at(0, 6)).await).contains("not declared"));
}

#[tokio::test]
async fn references_list_every_mention() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    let mut params = at(2, 16);
    params["context"] = json!({ "includeDeclaration": true });
    let all = client.request("textDocument/references", params.clone()).await;
    let lines: Vec<u64> =
        all.as_array().unwrap().iter().map(|l| l["range"]["start"]["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 4], "the statement and the task block");
    params["context"] = json!({ "includeDeclaration": false });
    let uses = client.request("textDocument/references", params).await;
    assert_eq!(uses.as_array().unwrap().len(), 1);
    let mut params = at(1, 18);
    params["context"] = json!({ "includeDeclaration": true });
    let wire = client.request("textDocument/references", params).await;
    assert_eq!(wire.as_array().unwrap().len(), 4, "{wire}");
}

#[tokio::test]
async fn document_and_workspace_symbols() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    let symbols = client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": URI } })).await;
    let names: Vec<&str> = symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["table", "clean", "average", "task clean", "task average"]);
    assert_eq!(symbols[2]["detail"], "(temps) → (mean)");
    let keys: Vec<&str> =
        symbols[4]["children"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(keys, ["image", "shell"]);

    let other = "file:///work/other.kja";
    client
        .notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": other, "languageId": "koalja", "version": 1, "text": "(in) averager (out)\n" } }),
        )
        .await;
    client.diagnostics().await;
    let found = client.request("workspace/symbol", json!({ "query": "AVER" })).await;
    let hits: Vec<(&str, &str)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["containerName"].as_str().unwrap()))
        .collect();
    assert_eq!(hits, [("average", "demo.kja"), ("averager", "other.kja"), ("task average", "demo.kja")]);
}

#[tokio::test]
async fn folding_ranges_cover_blocks_and_comment_runs() {
    let mut client = Client::start().await;
    let text = "# one\n# two\n# three\n(in) a (out)\ntask a {\n  image: \"i\"\n  command: [\"c\"]\n}\n# alone\n";
    client.open(text).await;
    let ranges = client.request("textDocument/foldingRange", json!({ "textDocument": { "uri": URI } })).await;
    let folds: Vec<(u64, u64, Option<&str>)> = ranges
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["startLine"].as_u64().unwrap(), r["endLine"].as_u64().unwrap(), r["kind"].as_str()))
        .collect();
    assert_eq!(folds, [(0, 2, Some("comment")), (4, 7, None)]);
}

#[tokio::test]
async fn semantic_tokens_colour_names_by_role() {
    let mut client = Client::start().await;
    // Names after `é😀` sit at UTF-16 columns, not byte or char columns.
    let text = "# c\ntype t = file \"x/y\"\n(in: t) a (out)\ntask a { image: \"é😀\" command: [\"c\", in, out] }\n";
    client.open(text).await;
    let answer = client.request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": URI } })).await;
    let data: Vec<u64> = answer["data"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    // Decode (line, character, length, type, modifiers).
    let legend = ["namespace", "type", "function", "variable", "property", "keyword", "string", "number", "comment"];
    let (mut line, mut character) = (0, 0);
    let mut tokens = Vec::new();
    for chunk in data.chunks(5) {
        line += chunk[0];
        character = if chunk[0] == 0 { character + chunk[1] } else { chunk[1] };
        let slice = &text.lines().nth(line as usize).unwrap().encode_utf16().collect::<Vec<u16>>()
            [character as usize..(character + chunk[2]) as usize];
        tokens.push((String::from_utf16(slice).unwrap(), legend[chunk[3] as usize], chunk[4]));
    }
    eprintln!("{tokens:?}");
    let find =
        |word: &str| tokens.iter().filter(|(w, ..)| w == word).map(|(_, kind, m)| (*kind, *m)).collect::<Vec<_>>();
    assert_eq!(find("# c"), [("comment", 0)]);
    assert_eq!(find("type"), [("keyword", 0)]);
    assert_eq!(find("t"), [("type", 1), ("type", 0)], "declared, then used");
    assert_eq!(find("a"), [("function", 0), ("function", 1)]);
    assert_eq!(find("\"é😀\""), [("string", 0)], "UTF-16 length");
    assert_eq!(find("command"), [("property", 0)], "UTF-16 column after the string");
    assert_eq!(find("in"), [("variable", 0), ("variable", 0)]);
    assert_eq!(find("out"), [("variable", 1), ("variable", 0)]);
    assert_eq!(find("image"), [("property", 0)]);
    assert_eq!(find("\"x/y\""), [("string", 0)]);
}

/// Labels offered at the end of `text` (the cursor where typing stopped).
async fn offered(text: &str) -> Vec<String> {
    let mut client = Client::start().await;
    client.open(text).await;
    let lines = koalja_lsp::position::LineStarts::new(text);
    let end = lines.position(text, text.len());
    let answer =
        client.request("textDocument/completion", json!({ "textDocument": { "uri": URI }, "position": end })).await;
    let items = answer.as_array().unwrap();
    assert!(items.iter().all(|item| item["detail"].as_str().is_some_and(|d| !d.is_empty())), "a detail each");
    items.iter().map(|item| item["label"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn completion_offers_what_fits_where_the_cursor_is() {
    let clean = "(in) clean (cleaned)\n";
    assert_eq!(offered(&format!("{clean}(cl")).await, ["cleaned", "in"], "wires in an input list");
    let types = offered(&format!("type t = file \"a/b\"\n{clean}(cleaned: ")).await;
    assert!(types.contains(&"csv".to_owned()) && types.contains(&"t".to_owned()), "{types:?}");
    assert_eq!(offered(&format!("{clean}(cleaned) ")).await, ["clean"], "task names");
    assert_eq!(
        offered(&format!("{clean}(cleaned) sum (out)\ntask clean {{ }}\ntask ")).await,
        ["sum"],
        "tasks lacking a block"
    );
    let keys = offered(&format!("{clean}task clean {{\n  ")).await;
    assert!(keys.contains(&"image".to_owned()) && keys.contains(&"keep".to_owned()) && keys.len() == 13, "{keys:?}");
    assert_eq!(
        offered(&format!("{clean}task clean {{\n  policy: ")).await,
        ["all-new", "sliding-window", "swap-new-for-old"]
    );
    assert_eq!(offered(&format!("{clean}task clean {{ launch: ")).await, ["auto", "custom", "restart"]);
    assert_eq!(
        offered(&format!("(x) other (y)\n{clean}task clean {{ command: [\"c\", ")).await,
        ["cleaned", "in"],
        "this task's wires"
    );
    assert_eq!(offered(&format!("{clean}\n")).await, ["defaults", "task", "type"]);
}

#[tokio::test]
async fn hover_on_keys_and_policy_values() {
    let mut client = Client::start().await;
    client.open("(in) a (out)\ntask a { image: \"i\" policy: swap-new-for-old command: [\"c\"] }\n").await;
    let key = client.request("textDocument/hover", at(1, 10)).await;
    assert!(key["contents"]["value"].as_str().unwrap().contains("container image"), "{key}");
    let value = client.request("textDocument/hover", at(1, 30)).await;
    assert!(value["contents"]["value"].as_str().unwrap().contains("make-like"), "{value}");
    // Retention and the volume's size, and a bad `keep` as a diagnostic.
    let published = client
        .open("(in) a (out)\ntask a { keep: \"7d\" storage: \"10Gi\" shell: \"cp {in} {out}\" }\ntask b { keep: 0 }\n")
        .await;
    let keep = client.request("textDocument/hover", at(1, 10)).await;
    assert!(keep["contents"]["value"].as_str().unwrap().contains("once every consumer took them"), "{keep}");
    let storage = client.request("textDocument/hover", at(1, 22)).await;
    assert!(storage["contents"]["value"].as_str().unwrap().contains("state volume"), "{storage}");
    let messages: Vec<String> = summary(&published).into_iter().map(|(_, _, _, message)| message).collect();
    assert!(messages.iter().any(|m| m.starts_with("`keep: 0` would remove every payload")), "{messages:?}");
}

/// The quick fixes offered for `range` of the open document.
async fn quick_fixes(client: &mut Client, range: serde_json::Value) -> Vec<serde_json::Value> {
    let params = json!({ "textDocument": { "uri": URI }, "range": range, "context": { "diagnostics": [] } });
    client.request("textDocument/codeAction", params).await.as_array().unwrap().clone()
}

#[tokio::test]
async fn code_actions_apply_the_compilers_fixes() {
    let mut client = Client::start().await;
    client.open(BROKEN).await;
    let whole = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 9, "character": 0 } });
    let actions = quick_fixes(&mut client, whole).await;
    let titles: Vec<&str> = actions.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["rename to `cleaned`", "add a `task sumarize` block"]);
    assert!(actions.iter().all(|a| a["kind"] == "quickfix" && a["diagnostics"].as_array().unwrap().len() == 1));
    // Applying both fixes leaves neither diagnostic.
    let mut text = BROKEN.to_owned();
    for action in &actions {
        text = apply_rename(&text, &action["edit"]);
    }
    let codes = |text: &str| fresh_check(text).into_iter().map(|(code, ..)| code).collect::<Vec<_>>();
    assert!(codes(&text).len() < codes(BROKEN).len(), "{text}");
    assert!(!text.contains("cleand") && text.contains("task sumarize"), "{text}");
    // Only the diagnostics the range touches: line 1 has none with a fix.
    let line_one = json!({ "start": { "line": 1, "character": 0 }, "end": { "line": 1, "character": 3 } });
    assert!(quick_fixes(&mut client, line_one).await.is_empty());
}

#[tokio::test]
async fn inlay_hints_show_inferred_types_and_policies() {
    let mut client = Client::start().await;
    client.open(WINDOWED).await;
    let whole = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 9, "character": 0 } });
    let hints =
        client.request("textDocument/inlayHint", json!({ "textDocument": { "uri": URI }, "range": whole })).await;
    let shown: Vec<(u64, u64, &str)> = hints
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["position"]["line"].as_u64().unwrap(),
                h["position"]["character"].as_u64().unwrap(),
                h["label"].as_str().unwrap(),
            )
        })
        .collect();
    // `(in_temp) clean (temps: table)` / `(temps[10/2]) average (mean)`.
    assert_eq!(
        shown,
        [(1, 8, ": file"), (1, 15, "all-new"), (2, 12, ": table"), (2, 21, "sliding-window"), (2, 27, ": file")]
    );
}

/// The editor asks for the lines it shows: every range gets exactly the
/// whole document's hints that fall inside it, however it cuts statements.
#[tokio::test]
async fn inlay_hints_for_a_range_are_the_documents_hints_inside_it() {
    let text = include_str!("../../examples/sovereign.kja");
    let mut client = Client::start().await;
    client.open(text).await;
    let lines = text.lines().count() as u64;
    let at = |line: u64, character: u64| json!({ "line": line, "character": character });
    let mut ask = async |start: serde_json::Value, end: serde_json::Value| {
        let params = json!({ "textDocument": { "uri": URI }, "range": { "start": start, "end": end } });
        let hints = client.request("textDocument/inlayHint", params).await;
        hints.as_array().unwrap().iter().map(|h| (h["position"].clone(), h["label"].clone())).collect::<Vec<_>>()
    };
    let all = ask(at(0, 0), at(lines + 1, 0)).await;
    assert_eq!(all.len(), 5, "{all:?}");
    let position = |p: &serde_json::Value| (p["line"].as_u64().unwrap(), p["character"].as_u64().unwrap());
    for first in 0..lines {
        for (last, character) in [(first, 5), (first + 1, 0), (first + 7, 3)] {
            let inside: Vec<_> = all
                .iter()
                .filter(|(p, _)| (first, 4) <= position(p) && position(p) <= (last, character))
                .cloned()
                .collect();
            assert_eq!(ask(at(first, 4), at(last, character)).await, inside, "lines {first}:4 to {last}:{character}");
        }
    }
}
