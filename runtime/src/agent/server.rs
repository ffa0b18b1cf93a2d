//! An agent's side of the link protocol (`crate::link`): the axum router
//! that serves its outbox, payloads, runs and status, and the gateway's
//! drops and pipeline views. Every route but `/healthz` asks for the
//! pipeline's credential. The client side and the types both sides share
//! are `crate::link`, which knows nothing of agents.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;

use super::Agent;
use crate::auth::Credential;
use crate::link::{OutboxEntry, OutboxPage, CHUNK, LONG_POLL, RUNS_PAGE, TAR};
use crate::plan::PayloadKind;
use crate::record::{safe_file_name, Av, RunRecord};
use crate::store::StoreError;

/// Most AVs one outbox answer carries.
const PAGE: usize = 256;

#[derive(Deserialize)]
struct OutboxQuery {
    #[serde(default)]
    after: u64,
    /// How long to wait for something new, in ms (0: answer at once).
    #[serde(default)]
    wait_ms: u64,
    /// The consumer asking, which has taken everything up to `after`.
    consumer: Option<String>,
}

#[derive(Deserialize)]
struct PayloadQuery {
    /// The consumer asking: a payload of a wire that is not `export` is
    /// served only to a consumer in the wire's region.
    consumer: Option<String>,
}

#[derive(Deserialize)]
struct RunsQuery {
    #[serde(default)]
    after: u64,
    /// At most this many runs (default and most: `RUNS_PAGE`).
    limit: Option<usize>,
}

/// Serves the link protocol for `agent` on `listener` until the task is
/// dropped, to requests that carry `credential`. TCP_NODELAY on every
/// connection: the protocol is small request, small answer, and Nagle's
/// algorithm with delayed ACKs would add 40 ms to each exchange.
pub async fn serve(
    listener: tokio::net::TcpListener,
    agent: Arc<Agent>,
    credential: Credential,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, router(agent, credential)).await
}

fn router(agent: Arc<Agent>, credential: Credential) -> Router {
    let protected = Router::new()
        .route("/v1/outbox/{wire}", get(outbox))
        .route("/v1/payload/{id}", get(payload))
        .route("/v1/runs", get(runs))
        .route("/v1/status", get(status))
        .route("/v1/drop/{wire}/{name}", put(drop_file).layer(axum::extract::DefaultBodyLimit::disable()))
        .route("/v1/uploads/{id}", put(upload_part).layer(axum::extract::DefaultBodyLimit::disable()))
        .route("/v1/uploads/{id}/drop/{wire}/{name}", axum::routing::post(upload_drop))
        .route("/v1/outputs", get(outputs))
        .route("/v1/pipeline/runs", get(pipeline_runs))
        .route("/v1/pipeline/history", get(pipeline_history))
        .route("/v1/pipeline/gateways", get(pipeline_gateways))
        .route("/v1/outputs/{id}", get(output))
        .route_layer(axum::middleware::from_fn_with_state(Arc::new(credential), authenticated))
        .with_state(agent);
    // Probes carry no credential.
    Router::new().route("/healthz", get(|| async { "ok" })).merge(protected)
}

/// 401 for a request without the pipeline's credential, before any
/// handler sees it (a drop's body is never read).
async fn authenticated(
    State(credential): State<Arc<Credential>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if credential.admits(request.headers()) {
        return next.run(request).await;
    }
    let mut refused = error(StatusCode::UNAUTHORIZED, "this request carries no valid link token for the pipeline");
    refused.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
    refused
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// A read of the agent's store off the async threads (`Agent::off_async`).
async fn read_store<T: Send + 'static>(
    agent: &Arc<Agent>,
    read: impl FnOnce(&Agent) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, String> {
    agent.off_async(read).await.map_err(|e| e.0)
}

async fn outbox(
    State(agent): State<Arc<Agent>>,
    UrlPath(wire): UrlPath<String>,
    Query(query): Query<OutboxQuery>,
) -> Response {
    if !agent.produces(&wire) {
        return error(StatusCode::NOT_FOUND, format!("`{}` does not produce wire `{wire}`", agent.name));
    }
    let mut published = agent.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(query.wait_ms).min(LONG_POLL);
    let after = query.after;
    if let Some(consumer) = query.consumer {
        let wire = wire.clone();
        if let Err(e) = read_store(&agent, move |agent| agent.taken(&wire, &consumer, after)).await {
            return error(StatusCode::INTERNAL_SERVER_ERROR, e);
        }
    }
    loop {
        let wire = wire.clone();
        match read_store(&agent, move |agent| agent.outbox_after(&wire, after, PAGE)).await {
            Ok(avs) if !avs.is_empty() || tokio::time::Instant::now() >= deadline => {
                let avs = avs.into_iter().map(|(seq, av)| OutboxEntry { seq, av }).collect();
                return Json(OutboxPage { avs }).into_response();
            }
            Ok(_) => {}
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
        // Wake on the next publication or at the deadline, whichever first.
        let _ = tokio::time::timeout_at(deadline, published.changed()).await;
    }
}

async fn payload(
    State(agent): State<Arc<Agent>>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<PayloadQuery>,
) -> Response {
    let wanted = id.clone();
    let av = match read_store(&agent, move |agent| agent.published_av(&wanted)).await {
        Ok(Some(av)) => av,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no AV `{id}` here")),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    if let Err(refusal) = agent.may_serve(&av, query.consumer.as_deref()) {
        return error(StatusCode::FORBIDDEN, refusal);
    }
    if let Some(removed) = &av.removed {
        return removed_by_retention(&id, removed);
    }
    let path = PathBuf::from(&av.stored);
    if agent.plan.kind(&av.wire) == PayloadKind::Dir {
        return ([(header::CONTENT_TYPE, TAR)], tar_body(path)).into_response();
    }
    match tokio::fs::File::open(&path).await {
        Ok(file) => ([(header::CONTENT_TYPE, "application/octet-stream")], file_body(file)).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read the payload of `{id}`: {e}")),
    }
}

/// 410 Gone: the record is kept, the bytes are not.
fn removed_by_retention(id: &str, at: &str) -> Response {
    error(
        StatusCode::GONE,
        format!("the payload of `{id}` was removed by retention (`keep:`) at {at}; its record is kept"),
    )
}

/// A file as a streamed response body, a chunk in memory at a time.
fn file_body(file: tokio::fs::File) -> Body {
    Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, CHUNK))
}

/// A directory as a tar archive, streamed as it is written (off the async
/// threads, through a pipe of one chunk): never whole in memory. A failure
/// half way ends the body early, which the consumer's digest check refuses.
fn tar_body(dir: PathBuf) -> Body {
    let (reader, writer) = tokio::io::duplex(CHUNK);
    tokio::task::spawn_blocking(move || {
        let mut builder = tar::Builder::new(tokio_util::io::SyncIoBridge::new(writer));
        let _ = builder.append_dir_all(".", &dir).and_then(|()| builder.finish());
    });
    Body::from_stream(tokio_util::io::ReaderStream::with_capacity(reader, CHUNK))
}

async fn runs(State(agent): State<Arc<Agent>>, Query(query): Query<RunsQuery>) -> Response {
    let (after, limit) = (query.after, query.limit.unwrap_or(RUNS_PAGE).clamp(1, RUNS_PAGE));
    match read_store(&agent, move |agent| agent.runs(after, limit)).await {
        Ok(runs) => Json::<Vec<RunRecord>>(runs).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn status(State(agent): State<Arc<Agent>>) -> Response {
    Json(agent.status()).into_response()
}

/// The pipeline outputs the gateway collected, oldest first (gateway only).
async fn outputs(State(agent): State<Arc<Agent>>) -> Response {
    match read_store(&agent, |agent| agent.collected()).await {
        Ok(collected) => Json::<Vec<Av>>(collected.into_iter().map(|(av, _)| av).collect()).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Every task's runs, gathered from the agents (meant for the gateway).
async fn pipeline_runs(State(agent): State<Arc<Agent>>) -> Response {
    let (runs, unreachable) = agent.pipeline_runs().await;
    Json(serde_json::json!({ "runs": runs, "unreachable": unreachable })).into_response()
}

/// Every AV and run of the pipeline, gathered from the agents (gateway).
async fn pipeline_history(State(agent): State<Arc<Agent>>) -> Response {
    Json(agent.pipeline_history().await).into_response()
}

/// Which gateway takes which pipeline inputs and outputs (from the IR):
/// how `koaljac drop` and `fetch` find a wire's gateway by its region.
async fn pipeline_gateways(State(agent): State<Arc<Agent>>) -> Response {
    Json(&agent.plan.gateways).into_response()
}

/// One collected pipeline output's bytes (gateway only).
async fn output(State(agent): State<Arc<Agent>>, UrlPath(id): UrlPath<String>) -> Response {
    let wanted = id.clone();
    let collected = match read_store(&agent, move |agent| agent.collected_output(&wanted)).await {
        Ok(collected) => collected,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let Some((av, path)) = collected else { return error(StatusCode::NOT_FOUND, format!("no output `{id}` here")) };
    if let Some(removed) = &av.removed {
        return removed_by_retention(&id, removed);
    }
    // A `dir` output as the tar archive its payload travelled as; the
    // content type tells `koaljac fetch` to unpack it.
    if agent.plan.kind(&av.wire) == PayloadKind::Dir {
        return ([(header::CONTENT_TYPE, TAR)], tar_body(PathBuf::from(path))).into_response();
    }
    match tokio::fs::File::open(&path).await {
        Ok(file) => ([(header::CONTENT_TYPE, "application/octet-stream")], file_body(file)).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot read output `{id}`: {e}")),
    }
}

/// `PUT /v1/drop/{wire}/{name}`, a file dropped into a pipeline input
/// (gateway only): the body is streamed to a staging file as
/// it arrives, so a drop has no size limit but the disk's (and holds no
/// more than a chunk in memory); a body that breaks off is staged no
/// further and feeds nothing.
async fn drop_file(
    State(agent): State<Arc<Agent>>,
    UrlPath((wire, name)): UrlPath<(String, String)>,
    body: Body,
) -> Response {
    let Some(name) = safe_file_name(&name) else {
        return error(StatusCode::BAD_REQUEST, "the file name is empty or not a plain name");
    };
    let staged = agent.staging_path();
    if let Err((status, message)) = append(body, &staged, 0).await {
        let _ = tokio::fs::remove_file(&staged).await;
        return error(status, message);
    }
    let result = agent.drop_staged(&wire, &name, &staged).await;
    // Still there when it was not fed (refused, or fed before).
    let _ = tokio::fs::remove_file(&staged).await;
    match result {
        Ok(fed) => Json(serde_json::json!({ "av": fed.av, "new": fed.new })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Deserialize)]
struct UploadPart {
    offset: u64,
}

/// `PUT /v1/uploads/{id}?offset=N`: one part of a file sent in pieces (how
/// `koaljac drop` sends through the API server's service proxy, which
/// takes a request body whole). A part lands only at the end of what
/// arrived before (`offset` = the size so far), so a part sent twice, or a
/// resumed upload, never doubles bytes: 409 with the size so far tells the
/// client where to go on. Answers `{"size": N}`.
async fn upload_part(
    State(agent): State<Arc<Agent>>,
    UrlPath(id): UrlPath<String>,
    Query(part): Query<UploadPart>,
    body: Body,
) -> Response {
    let Some(id) = safe_file_name(&id).filter(|safe| *safe == id) else {
        return error(StatusCode::BAD_REQUEST, "an upload id is one plain name");
    };
    let path = agent.upload_path(&id);
    let size = tokio::fs::metadata(&path).await.map_or(0, |m| m.len());
    if part.offset != size {
        let message = format!("this upload holds {size} bytes, not {}", part.offset);
        return (StatusCode::CONFLICT, Json(serde_json::json!({ "error": message, "size": size }))).into_response();
    }
    let appended = append(body, &path, size).await;
    let size = tokio::fs::metadata(&path).await.map_or(0, |m| m.len());
    match appended {
        Ok(()) => Json(serde_json::json!({ "size": size })).into_response(),
        Err((status, message)) => (status, Json(serde_json::json!({ "error": message, "size": size }))).into_response(),
    }
}

#[derive(Deserialize)]
struct UploadDrop {
    size: u64,
}

/// `POST /v1/uploads/{id}/drop/{wire}/{name}?size=N`: the upload, whole at
/// `size` bytes, fed into pipeline input `wire` as a drop named `name` (as
/// `PUT /v1/drop`, and with the same answer).
async fn upload_drop(
    State(agent): State<Arc<Agent>>,
    UrlPath((id, wire, name)): UrlPath<(String, String, String)>,
    Query(drop): Query<UploadDrop>,
) -> Response {
    let (Some(id), Some(name)) = (safe_file_name(&id).filter(|safe| *safe == id), safe_file_name(&name)) else {
        return error(StatusCode::BAD_REQUEST, "an upload id and a file name are plain names");
    };
    let path = agent.upload_path(&id);
    let size = tokio::fs::metadata(&path).await.map_or(0, |m| m.len());
    if size != drop.size {
        return error(StatusCode::CONFLICT, format!("this upload holds {size} bytes, not {}", drop.size));
    }
    let result = agent.drop_staged(&wire, &name, &path).await;
    let _ = tokio::fs::remove_file(&path).await;
    match result {
        Ok(fed) => Json(serde_json::json!({ "av": fed.av, "new": fed.new })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Streams `body` onto the end of `path` (made when absent); a body that
/// breaks off is cut back to `from`, so only whole parts ever count.
async fn append(body: Body, path: &Path, from: u64) -> Result<(), (StatusCode, String)> {
    let cannot = |e: std::io::Error| (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot stage the file: {e}"));
    let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await.map_err(cannot)?;
    let written = write_body(body, &mut file).await;
    if written.is_err() {
        let _ = file.set_len(from).await;
    }
    written
}

async fn write_body(body: Body, file: &mut tokio::fs::File) -> Result<(), (StatusCode, String)> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let mut stream = body.into_data_stream();
    // A chunk at a time to disk (see `Link::fetch`).
    let mut buffered = tokio::io::BufWriter::with_capacity(CHUNK, file);
    let mut failed = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| (StatusCode::BAD_REQUEST, format!("the upload broke off: {e}")))?;
        if let Err(error) = buffered.write_all(&chunk).await {
            failed = Some(error);
            break;
        }
    }
    let failed = match failed {
        None => buffered.flush().await.err(),
        some => some,
    };
    let Some(error) = failed else { return Ok(()) };
    // The rest of the body is read and dropped, so that the client, still
    // sending, reads this answer rather than a broken connection.
    while let Some(Ok(_)) = stream.next().await {}
    Err(if error.kind() == std::io::ErrorKind::StorageFull {
        (
            StatusCode::INSUFFICIENT_STORAGE,
            format!("cannot stage the file: the agent's volume is full ({error}); nothing was fed"),
        )
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot stage the file: {error}"))
    })
}
