//! Property: any sequence of edits, applied incrementally at random UTF-16
//! positions (including inside surrogate pairs and past line ends), leaves
//! the server running, and its diagnostics equal a fresh check of the text
//! the client holds.

mod support;

use proptest::prelude::*;
use serde_json::json;
use support::{fresh_check, summary, Client, URI};
use tower_lsp_server::ls_types::Position;

const START: &str = "[demo/p]\n# día 😀\n(in) clean (cleaned)\n(cleaned[2/1]) sum (out)\ntask clean { image: \"i\" command: [\"c\", in, cleaned] }\ntask sum { image: \"i\" shell: \"cat {cleaned} > {out}\" }\n";

/// Pieces typed into the document: language fragments, non-ASCII, breaks.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[10/2]".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("task x { image: \"i\" }".to_owned()),
        Just("(in) t (o)\n".to_owned()),
        Just("é😀".to_owned()),
        Just("\"".to_owned()),
        "[a-z_ {}:,\\[\\]()]{0,8}",
    ]
}

/// An edit as the client sends it: (start line, start char, end line, end char, text).
fn edit() -> impl Strategy<Value = (u32, u32, u32, u32, String)> {
    (0u32..9, 0u32..40, 0u32..9, 0u32..40, fragment())
}

/// What the client believes the text is after an edit (its own model).
fn apply(text: &str, edit: &(u32, u32, u32, u32, String)) -> String {
    let lines = koalja_lsp::position::LineStarts::new(text);
    let range = tower_lsp_server::ls_types::Range {
        start: Position { line: edit.0, character: edit.1 },
        end: Position { line: edit.2, character: edit.3 },
    };
    let bytes = lines.offsets(text, range);
    let mut edited = text.to_owned();
    edited.replace_range(bytes, &edit.4);
    edited
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn diagnostics_track_any_edit_sequence(edits in proptest::collection::vec(edit(), 1..12)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut client = Client::start().await;
            client.open(START).await;
            let mut text = START.to_owned();
            let mut published = serde_json::Value::Null;
            for (version, edit) in edits.iter().enumerate() {
                text = apply(&text, edit);
                client
                    .notify(
                        "textDocument/didChange",
                        json!({
                            "textDocument": { "uri": URI, "version": version + 2 },
                            "contentChanges": [{
                                "range": {
                                    "start": { "line": edit.0, "character": edit.1 },
                                    "end": { "line": edit.2, "character": edit.3 }
                                },
                                "text": edit.4
                            }]
                        }),
                    )
                    .await;
                published = client.diagnostics().await;
                // Every handler answers whatever the text (errors only for
                // refusals, never for a crash).
                let document = json!({ "textDocument": { "uri": URI } });
                for method in ["koalja/graph", "textDocument/documentSymbol", "textDocument/foldingRange", "textDocument/semanticTokens/full"] {
                    client.request(method, document.clone()).await;
                }
                let at = json!({ "textDocument": { "uri": URI }, "position": { "line": edit.0, "character": edit.1 } });
                client.request("textDocument/hover", at.clone()).await;
                client.request("textDocument/definition", at.clone()).await;
                client.request("textDocument/completion", at.clone()).await;
                let everything = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 99, "character": 0 } });
                client.request("textDocument/inlayHint", json!({ "textDocument": { "uri": URI }, "range": everything })).await;
                client
                    .request(
                        "textDocument/codeAction",
                        json!({ "textDocument": { "uri": URI }, "range": everything, "context": { "diagnostics": [] } }),
                    )
                    .await;
                let mut references = at.clone();
                references["context"] = json!({ "includeDeclaration": true });
                client.request("textDocument/references", references).await;
                if let Err(error) = client.try_request("textDocument/prepareRename", at).await {
                    prop_assert_eq!(&error["code"], -32803, "a refusal, not a failure: {}", error);
                }
            }
            prop_assert_eq!(summary(&published), fresh_check(&text), "final text:\n{}", text);
            Ok(())
        })?;
    }
}
