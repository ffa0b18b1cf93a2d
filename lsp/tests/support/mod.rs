//! An in-process client: drives the server through its tower service and
//! collects what the server sends (publishDiagnostics, log messages).

#![allow(dead_code)]

use futures::StreamExt;
use koalja_lsp::server::Backend;
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::LspService;

pub struct Client {
    service: LspService<Backend>,
    from_server: UnboundedReceiver<Request>,
    next_id: i64,
}

pub const URI: &str = "file:///work/demo.kja";

impl Client {
    /// A server past `initialize` and `initialized`.
    pub async fn start() -> Client {
        Client::start_with(json!({})).await
    }

    /// The same, for a client with these capabilities.
    pub async fn start_with(capabilities: Value) -> Client {
        let (service, socket) = koalja_lsp::service();
        let (sender, from_server) = unbounded_channel();
        tokio::spawn(async move {
            let mut socket = socket;
            while let Some(message) = socket.next().await {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client { service, from_server, next_id: 0 };
        let result = client.request("initialize", json!({ "capabilities": capabilities })).await;
        assert_eq!(result["serverInfo"]["name"], "koalja-lsp");
        client.notify("initialized", json!({})).await;
        client
    }

    /// A request's result; panics on an error answer.
    pub async fn request(&mut self, method: &'static str, params: Value) -> Value {
        let answer = self.try_request(method, params).await;
        answer.unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    pub async fn try_request(&mut self, method: &'static str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let request = Request::build(method).params(params).id(self.next_id).finish();
        let response = self.service.ready().await.unwrap().call(request).await.unwrap().expect("a response");
        let (_, result) = response.into_parts();
        result.map_err(|error| serde_json::to_value(error).unwrap())
    }

    pub async fn notify(&mut self, method: &'static str, params: Value) {
        let request = Request::build(method).params(params).finish();
        let response = self.service.ready().await.unwrap().call(request).await.unwrap();
        assert!(response.is_none(), "a notification gets no answer");
    }

    pub async fn open(&mut self, text: &str) -> Value {
        self.open_at(URI, text).await
    }

    pub async fn open_at(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "koalja", "version": 1, "text": text } }),
        )
        .await;
        self.diagnostics().await
    }

    /// The next request or notification `method` from the server, skipping
    /// others; `None` if none comes within `wait`.
    pub async fn next_from_server(&mut self, method: &str, wait: std::time::Duration) -> Option<Request> {
        tokio::time::timeout(wait, async {
            loop {
                let message = self.from_server.recv().await.expect("the server is running");
                if message.method() == method {
                    return message;
                }
            }
        })
        .await
        .ok()
    }

    /// Forgets what the server has sent so far.
    pub fn drain(&mut self) {
        while self.from_server.try_recv().is_ok() {}
    }

    /// The next publishDiagnostics the server sent (skipping log messages).
    pub async fn diagnostics(&mut self) -> Value {
        loop {
            let message = self.from_server.recv().await.expect("the server is running");
            if message.method() == "textDocument/publishDiagnostics" {
                return message.params().cloned().unwrap_or_default();
            }
        }
    }
}

/// (code, start line, start character, message's first line) of published diagnostics.
pub fn summary(published: &Value) -> Vec<(String, u64, u64, String)> {
    published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["range"]["start"]["line"].as_u64().unwrap(),
                d["range"]["start"]["character"].as_u64().unwrap(),
                d["message"].as_str().unwrap().lines().next().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The same summary from a fresh check of `text`, positions in UTF-16.
pub fn fresh_check(text: &str) -> Vec<(String, u64, u64, String)> {
    let analysis = koalja_compiler::analysis::analyze_text(text, "demo");
    let lines = koalja_lsp::position::LineStarts::new(text);
    analysis
        .diagnostics
        .iter()
        .map(|d| {
            let start = lines.position(text, d.span.start as usize);
            (d.code.as_str().to_owned(), u64::from(start.line), u64::from(start.character), d.message.clone())
        })
        .collect()
}
