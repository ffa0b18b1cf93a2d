//! End to end: the real `koalja-lsp` binary over stdio, as an editor runs it:
//! initialize → didOpen → diagnostics → hover → definition → rename →
//! koalja/graph → didChange → diagnostics → shutdown → exit (status 0).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_koalja-lsp"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("koalja-lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Server { child, stdin, stdout }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut header = String::new();
            assert!(self.stdout.read_line(&mut header).unwrap() > 0, "the server closed its output");
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("Content-Length: ") {
                length = value.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// The answer to request `id`, skipping notifications in between.
    fn answer(&mut self, id: i64) -> Value {
        loop {
            let message = self.receive();
            if message["id"] == id {
                return message;
            }
        }
    }

    fn notification(&mut self, method: &str) -> Value {
        loop {
            let message = self.receive();
            if message["method"] == method {
                return message["params"].clone();
            }
        }
    }
}

#[test]
fn an_editor_session_over_stdio() {
    let uri = "file:///tmp/walk.kja";
    let text = "(in) clean (cleaned)\n(cleand) sum (out)\ntask clean { image: \"i\" command: [\"c\"] }\n";
    let mut server = Server::start();
    server.send(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "capabilities": {} } }));
    let initialized = server.answer(1);
    assert_eq!(initialized["result"]["capabilities"]["textDocumentSync"], 2, "incremental sync");
    server.send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));

    server.send(json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": { "uri": uri, "languageId": "koalja", "version": 1, "text": text } } }));
    let published = server.notification("textDocument/publishDiagnostics");
    let codes: Vec<&str> =
        published["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    let checked = koalja_compiler::analysis::analyze_text(text, "walk");
    let expected: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert!(!expected.is_empty());
    assert_eq!(codes, expected, "the same diagnostics as `koaljac check`");
    let unproduced =
        published["diagnostics"].as_array().unwrap().iter().find(|d| d["message"].as_str().unwrap().contains("cleand"));
    assert!(unproduced.is_some(), "the misspelt wire is reported: {published}");

    // Hover and definition on `cleaned` in the first statement (line 0, character 13).
    let position = json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 13 } });
    server.send(json!({ "jsonrpc": "2.0", "id": 10, "method": "textDocument/hover", "params": position }));
    let hover = server.answer(10);
    assert!(hover["result"]["contents"]["value"].as_str().unwrap().contains("produced by `clean`"), "{hover}");
    server.send(json!({ "jsonrpc": "2.0", "id": 11, "method": "textDocument/definition", "params": position }));
    let definition = server.answer(11);
    assert_eq!(definition["result"]["uri"], uri);
    assert_eq!(definition["result"]["range"]["start"], json!({ "line": 0, "character": 0 }));
    let mut rename = position.clone();
    rename["newName"] = json!("washed");
    server.send(json!({ "jsonrpc": "2.0", "id": 12, "method": "textDocument/rename", "params": rename }));
    let edits = server.answer(12);
    assert_eq!(edits["result"]["changes"][uri].as_array().unwrap().len(), 1, "`cleaned` is written once: {edits}");

    server.send(
        json!({ "jsonrpc": "2.0", "id": 2, "method": "koalja/graph", "params": { "textDocument": { "uri": uri } } }),
    );
    let graph = server.answer(2);
    let labels: Vec<&str> =
        graph["result"]["nodes"].as_array().unwrap().iter().map(|n| n["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"clean") && labels.contains(&"sum"), "{graph}");

    // Fix the typo: `cleand` → `cleaned` (line 1, characters 1..7).
    server.send(json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": { "uri": uri, "version": 2 },
        "contentChanges": [{ "range": { "start": { "line": 1, "character": 1 }, "end": { "line": 1, "character": 7 } }, "text": "cleaned" }] } }));
    let published = server.notification("textDocument/publishDiagnostics");
    assert_eq!(published["version"], 2);
    assert!(
        !published["diagnostics"].as_array().unwrap().iter().any(|d| d["message"].as_str().unwrap().contains("cleand")),
        "{published}"
    );

    server.send(json!({ "jsonrpc": "2.0", "id": 3, "method": "shutdown" }));
    assert!(server.answer(3)["error"].is_null());
    server.send(json!({ "jsonrpc": "2.0", "method": "exit" }));
    drop(server.stdin);
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit after shutdown is status 0: {status}");
}
