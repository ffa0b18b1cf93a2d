//! The language server: documents in, diagnostics and answers out.
//!
//! Edits are applied and analysed on the thread that reads the messages, in
//! their order, so each version's diagnostics go out as soon as it is
//! analysed. Requests are answered from a snapshot of their document on
//! tokio's blocking pool (`Backend::answer`): the outline, tokens and hints
//! an editor asks for after every keystroke take tens of milliseconds on a
//! large file, and the next keystroke's diagnostics must not wait behind
//! them. All work runs inside `isolate`, so a panic in one request becomes
//! an error answer and the server goes on.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use serde::Deserialize;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService};

use koalja_compiler::graph::layout::Direction;

use crate::convert;
use crate::document::Document;

pub struct Backend {
    client: Client,
    documents: Mutex<HashMap<Uri, Document>>,
    /// The last local runs of the open files (`koaljac run`'s stores).
    /// Shared with the requests reading them on the blocking pool.
    stores: std::sync::Arc<crate::runs::Stores>,
    /// The client can be asked to fetch code lenses again.
    lens_refresh: std::sync::atomic::AtomicBool,
}

/// The server as a tower service, with the `koalja/graph` request.
pub fn service() -> (LspService<Backend>, tower_lsp_server::ClientSocket) {
    LspService::build(|client| Backend {
        client,
        documents: Mutex::new(HashMap::new()),
        stores: Default::default(),
        lens_refresh: Default::default(),
    })
    .custom_method("koalja/graph", Backend::graph)
    .finish()
}

/// Runs `work` on tokio's blocking pool inside `isolate`, leaving the thread
/// that reads messages free for the next one.
async fn off_thread<T: Send + 'static>(what: &'static str, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(move || isolate(what, work)).await.unwrap_or_else(|stopped| {
        Err(Error { message: format!("koalja-lsp stopped in {what}: {stopped}").into(), ..Error::internal_error() })
    })
}

/// Runs `work`, turning a panic into an internal error that names `what`.
fn isolate<T>(what: &str, work: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(work)).map_err(|panic| {
        let cause = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Error { message: format!("koalja-lsp failed in {what}: {cause}").into(), ..Error::internal_error() }
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphParams {
    pub text_document: TextDocumentIdentifier,
    /// Which way the layers run; left to right when absent.
    #[serde(default)]
    pub direction: Direction,
}

/// The last local runs of the file at `uri` (its `.koalja/` store). This
/// reads the store when it changed, so it is called on the blocking pool.
fn last_runs(stores: &crate::runs::Stores, uri: &Uri) -> Option<std::sync::Arc<crate::runs::LastRuns>> {
    let path = uri.to_file_path()?;
    stores.last_runs(&koalja_agent::local::default_state(&path))
}

impl Backend {
    fn document(&self, uri: &Uri) -> Option<Document> {
        self.lock().get(uri).cloned()
    }

    /// The open document a request names, or the error for one not open.
    fn open_document(&self, uri: &Uri) -> Result<Document> {
        self.document(uri).ok_or_else(|| Error::invalid_params(format!("{} is not open", uri.as_str())))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uri, Document>> {
        // A handler that panicked held no lock (work runs outside it).
        self.documents.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Answers a request about the open document at `uri`: `work` runs on a
    /// snapshot of it, on the blocking pool, inside `isolate`.
    async fn answer<T: Send + 'static>(
        &self,
        what: &'static str,
        uri: &Uri,
        work: impl FnOnce(Document) -> T + Send + 'static,
    ) -> Result<T> {
        let document = self.open_document(uri)?;
        off_thread(what, move || work(document)).await
    }

    /// Stores the new version and publishes its diagnostics.
    async fn update(&self, uri: Uri, document: Result<Document>) {
        let document = match document {
            Ok(document) => document,
            Err(error) => {
                self.client.log_message(MessageType::ERROR, error.message).await;
                return;
            }
        };
        let diagnostics = isolate("diagnostics", || {
            document.analysis.diagnostics.iter().map(|d| convert::diagnostic(&uri, &document, d)).collect()
        })
        .unwrap_or_default();
        let version = document.version;
        if let Some(replaced) = self.lock().insert(uri.clone(), document) {
            // Freeing a large analysis node by node takes milliseconds that
            // the editor would wait for: do it off the request path.
            std::thread::spawn(move || drop(replaced));
        }
        self.client.publish_diagnostics(uri, diagnostics, Some(version)).await;
    }

    async fn graph(&self, params: GraphParams) -> Result<convert::Graph> {
        self.answer("koalja/graph", &params.text_document.uri, move |document| {
            convert::graph(&document, params.direction)
        })
        .await
    }
}

/// LSP's RequestFailed: the request was valid but is refused, with a reason
/// the editor shows (a rename to a keyword, say).
fn refused(reason: String) -> Error {
    Error { message: reason.into(), ..Error::new(tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32803)) }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let refresh = params.capabilities.workspace.and_then(|w| w.code_lens).and_then(|lens| lens.refresh_support);
        self.lens_refresh.store(refresh == Some(true), std::sync::atomic::Ordering::Relaxed);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
                document_formatting_provider: Some(OneOf::Left(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                    code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                    ..CodeActionOptions::default()
                })),
                inlay_hint_provider: Some(OneOf::Left(true)),
                code_lens_provider: Some(CodeLensOptions { resolve_provider: Some(false) }),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec!["(".to_owned(), ":".to_owned(), " ".to_owned(), "[".to_owned()]),
                    ..CompletionOptions::default()
                }),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
                    SemanticTokensOptions {
                        legend: crate::highlight::legend(),
                        full: Some(SemanticTokensFullOptions::Bool(true)),
                        ..SemanticTokensOptions::default()
                    },
                )),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "koalja-lsp".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            ..InitializeResult::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn initialized(&self, _: InitializedParams) {
        if self.lens_refresh.load(std::sync::atomic::Ordering::Relaxed) {
            let client = self.client.clone();
            self.stores.spawn_watcher(move || {
                // Its own task: an editor slow to answer never holds up
                // the watching.
                let client = client.clone();
                tokio::spawn(async move {
                    let _ = client.code_lens_refresh().await;
                });
            });
        }
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let item = params.text_document;
        if let Some(path) = item.uri.to_file_path() {
            self.stores.watch(koalja_agent::local::default_state(&path));
        }
        let document = isolate("didOpen", || Document::open(&item.uri, item.text, item.version));
        self.update(item.uri, document).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let Some(mut document) = self.document(&uri) else {
            self.client
                .log_message(MessageType::WARNING, format!("didChange for {} before didOpen", uri.as_str()))
                .await;
            return;
        };
        let changed = isolate("didChange", || {
            document.change(params.content_changes, params.text_document.version);
            document
        });
        self.update(uri, changed).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.lock().remove(&uri);
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let at = params.text_document_position_params;
        let stores = self.stores.clone();
        self.answer("hover", &at.text_document.uri.clone(), move |document| {
            let offset = document.lines.offset(&document.text, at.position);
            let symbol = crate::locate::symbol_at(&document.analysis.parsed.file, offset)?;
            let mut text = crate::hover::hover(&document.analysis, document.ir(), &symbol)?;
            if let crate::locate::Symbol::Wire(wire) = &symbol {
                let now = std::time::SystemTime::now();
                let runs = last_runs(&stores, &at.text_document.uri);
                if let Some(values) = runs.and_then(|runs| runs.wire_markdown(&wire.text, now)) {
                    text.push('\n');
                    text.push_str(&values);
                }
            }
            let name = symbol.name();
            Some(Hover {
                contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: text }),
                range: Some(document.lines.range(&document.text, name.span)),
            })
        })
        .await
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let at = params.text_document_position_params;
        let uri = at.text_document.uri;
        self.answer("definition", &uri.clone(), move |document| {
            let offset = document.lines.offset(&document.text, at.position);
            let symbol = crate::locate::symbol_at(&document.analysis.parsed.file, offset)?;
            let span = crate::hover::definition(&document.analysis, &symbol)?;
            let range = document.lines.range(&document.text, span);
            Some(GotoDefinitionResponse::Scalar(Location { uri, range }))
        })
        .await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let at = params.text_document_position;
        let uri = at.text_document.uri;
        self.answer("references", &uri.clone(), move |document| {
            let offset = document.lines.offset(&document.text, at.position);
            let symbol = crate::locate::symbol_at(&document.analysis.parsed.file, offset)?;
            let spans = crate::locate::occurrences(&document.text, &document.analysis.parsed.file, &symbol);
            let in_definition = crate::hover::definition(&document.analysis, &symbol);
            let locations = spans
                .into_iter()
                // Without includeDeclaration, leave out the defining mention.
                .filter(|span| {
                    params.context.include_declaration || !in_definition.is_some_and(|d| d.contains(span.start))
                })
                .map(|span| Location { uri: uri.clone(), range: document.lines.range(&document.text, span) })
                .collect();
            Some(locations)
        })
        .await
    }

    async fn prepare_rename(&self, params: TextDocumentPositionParams) -> Result<Option<PrepareRenameResponse>> {
        let range = self
            .answer("prepareRename", &params.text_document.uri, move |document| {
                let offset = document.lines.offset(&document.text, params.position);
                let symbol = crate::rename::prepare(&document.analysis, offset)?;
                Ok(document.lines.range(&document.text, symbol.name().span))
            })
            .await?
            .map_err(refused)?;
        Ok(Some(PrepareRenameResponse::Range(range)))
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let at = params.text_document_position;
        let uri = at.text_document.uri;
        let edits = self
            .answer("rename", &uri, move |document| {
                let offset = document.lines.offset(&document.text, at.position);
                let symbol = crate::rename::prepare(&document.analysis, offset)?;
                let spans = crate::rename::edits(&document.analysis, &symbol, &params.new_name)?;
                Ok(spans
                    .into_iter()
                    .map(|span| TextEdit {
                        range: document.lines.range(&document.text, span),
                        new_text: params.new_name.clone(),
                    })
                    .collect())
            })
            .await?
            .map_err(refused)?;
        Ok(Some(WorkspaceEdit { changes: Some(HashMap::from([(uri, edits)])), ..WorkspaceEdit::default() }))
    }

    async fn document_symbol(&self, params: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        self.answer("documentSymbol", &params.text_document.uri, |document| {
            Some(DocumentSymbolResponse::Nested(crate::outline::document_symbols(&document)))
        })
        .await
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        let documents: Vec<(Uri, Document)> = self.lock().iter().map(|(uri, d)| (uri.clone(), d.clone())).collect();
        off_thread("workspace/symbol", move || {
            let query = params.query.to_lowercase();
            let mut found: Vec<WorkspaceSymbol> = documents
                .iter()
                .flat_map(|(uri, document)| {
                    let file = uri.as_str().rsplit('/').next().unwrap_or_default().to_owned();
                    crate::outline::document_symbols(document).into_iter().map(move |symbol| WorkspaceSymbol {
                        name: symbol.name,
                        kind: symbol.kind,
                        tags: None,
                        container_name: Some(file.clone()),
                        location: OneOf::Left(Location { uri: uri.clone(), range: symbol.selection_range }),
                        data: None,
                    })
                })
                .filter(|symbol| symbol.name.to_lowercase().contains(&query))
                .collect();
            found.sort_by(|a, b| (&a.name, a.container_name.as_deref()).cmp(&(&b.name, b.container_name.as_deref())));
            Some(WorkspaceSymbolResponse::Nested(found))
        })
        .await
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        self.answer("foldingRange", &params.text_document.uri, |document| {
            Some(crate::outline::folding_ranges(&document))
        })
        .await
    }

    async fn semantic_tokens_full(&self, params: SemanticTokensParams) -> Result<Option<SemanticTokensResult>> {
        self.answer("semanticTokens", &params.text_document.uri, |document| {
            Some(SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data: crate::highlight::tokens(&document),
            }))
        })
        .await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let at = params.text_document_position;
        self.answer("completion", &at.text_document.uri.clone(), move |document| {
            let offset = document.lines.offset(&document.text, at.position);
            Some(CompletionResponse::Array(crate::complete::complete(&document.analysis, offset)))
        })
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        self.answer("codeAction", &uri.clone(), move |document| {
            Some(crate::actions::code_actions(&uri, &document, params.range))
        })
        .await
    }

    /// One lens per task that has run: "12 runs · last failed: exit 1".
    /// Its command, `koalja.showRun`, carries the task, the state directory
    /// and the newest run's status, exit and output tails, for the editor
    /// to show (the VS Code extension opens them beside the code).
    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        let stores = self.stores.clone();
        self.answer("codeLens", &uri.clone(), move |document| {
            let runs = last_runs(&stores, &uri)?;
            let lenses = document
                .analysis
                .pipeline
                .tasks
                .iter()
                .filter_map(|task| {
                    let title = runs.lens_title(&task.name)?;
                    let last = &runs.tasks[task.name.as_str()].last;
                    let argument = serde_json::json!({
                        "task": task.name.as_str(),
                        "state": runs.state,
                        "run": last.run,
                        "status": last.status,
                        "exitStatus": last.exit_status,
                        "stderrTail": last.stderr_tail,
                        "stdoutTail": last.stdout_tail,
                    });
                    Some(CodeLens {
                        range: document.lines.range(&document.text, task.span),
                        command: Some(Command {
                            title,
                            command: "koalja.showRun".to_owned(),
                            arguments: Some(vec![argument]),
                        }),
                        data: None,
                    })
                })
                .collect();
            Some(lenses)
        })
        .await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        self.answer("inlayHint", &params.text_document.uri, move |document| {
            Some(crate::actions::inlay_hints(&document, params.range))
        })
        .await
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        self.answer("formatting", &params.text_document.uri, |document| {
            // `None` when the file has syntax errors: like `koaljac fmt`,
            // never reformat what did not parse.
            let formatted = koalja_compiler::format::format(&document.analysis)?;
            (formatted != document.text).then(|| {
                let whole = Range {
                    start: Position { line: 0, character: 0 },
                    end: document.lines.position(&document.text, document.text.len()),
                };
                vec![TextEdit { range: whole, new_text: formatted }]
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::isolate;

    #[test]
    fn a_panic_becomes_an_internal_error_naming_the_handler() {
        let failed = isolate("hover", || -> u32 { panic!("index out of bounds") }).unwrap_err();
        assert_eq!(failed.code, tower_lsp_server::jsonrpc::ErrorCode::InternalError);
        assert_eq!(failed.message, "koalja-lsp failed in hover: index out of bounds");
        assert_eq!(isolate("hover", || 7).unwrap(), 7);
    }
}
