//! The link protocol between agents: pull-based HTTP (documented in
//! `runtime/README.md`). A producer serves its outbox and payloads; a
//! consumer long-polls `GET /v1/outbox/{wire}?after=<seq>` and downloads
//! each payload before committing its cursor. This module holds what both
//! sides share (the answers' types, the limits, where peers are) and the
//! client side, `Link`, one pooled reqwest client per agent; the server
//! side is `agent::server`, so that this module knows nothing of agents.
//! Both sides carry the pipeline's credential (`auth::Credential`): every
//! route but `/healthz` answers 401 without it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::Credential;
use crate::files::{content_digest, remove_any};
use crate::plan::{PayloadKind, Plan};
use crate::record::{Av, RunRecord, GATEWAY};

/// Longest time a long-poll waits before answering with nothing new.
pub const LONG_POLL: Duration = Duration::from_secs(20);

#[derive(Debug, Serialize, Deserialize)]
pub struct OutboxPage {
    pub avs: Vec<OutboxEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub seq: u64,
    pub av: Av,
}

/// Bytes per chunk of a streamed body, both ways: tokio's default of 4 KiB
/// made a payload of a gigabyte a quarter of a million chunks (and file
/// reads), a twentieth of loopback's throughput (bench/payload.sh).
pub const CHUNK: usize = 256 << 10;

/// The content type of a `dir` payload or output: a tar archive of it.
pub const TAR: &str = "application/x-tar";

/// Most runs one `/v1/runs` answer carries: a task with a million runs is
/// read a page at a time, never as one body.
pub const RUNS_PAGE: usize = 1000;

/// Where an agent's peers are: by task name (`gateway` for the gateway).
pub trait Peers: Send + Sync {
    fn base_url(&self, agent: &str) -> Option<String>;

    /// How consumers reach the service that task `agent` offers on `port`
    /// (`KOALJA_SERVICE_<WIRE>`).
    fn service_address(&self, agent: &str, port: u16) -> String;
}

/// In a cluster: each agent's Service is `<pipeline>-<task>` on the link
/// port, in the Kubernetes names the IR carries (the compiler's one rule,
/// the one `koaljac build` names objects by); `overrides` name other
/// addresses (`--peer`).
pub struct ClusterPeers {
    /// Service host by agent name (tasks and `gateway`).
    hosts: std::collections::BTreeMap<String, String>,
    port: u16,
    overrides: std::collections::BTreeMap<String, String>,
}

impl Peers for ClusterPeers {
    fn base_url(&self, agent: &str) -> Option<String> {
        if let Some(url) = self.overrides.get(agent) {
            return Some(url.clone());
        }
        Some(format!("http://{}:{}", self.hosts.get(agent)?, self.port))
    }

    fn service_address(&self, agent: &str, port: u16) -> String {
        format!("http://{}:{port}", self.hosts.get(agent).map_or(agent, String::as_str))
    }
}

impl ClusterPeers {
    pub fn new(plan: &Plan, port: u16, overrides: std::collections::BTreeMap<String, String>) -> ClusterPeers {
        let pipeline = &plan.kubernetes_name;
        let mut hosts: std::collections::BTreeMap<String, String> =
            plan.tasks.iter().map(|task| (task.name.clone(), format!("{pipeline}-{}", task.kubernetes_name))).collect();
        for gateway in &plan.gateways {
            hosts.insert(gateway.kubernetes_name.clone(), format!("{pipeline}-{}", gateway.kubernetes_name));
        }
        hosts.entry(GATEWAY.to_owned()).or_insert_with(|| format!("{pipeline}-{GATEWAY}"));
        ClusterPeers { hosts, port, overrides }
    }
}

/// The client side of links.
#[derive(Clone)]
pub struct Link {
    client: reqwest::Client,
    /// Every agent shares this machine's file system (`koaljac run`): a
    /// file payload is hard-linked from where its producer keeps it instead
    /// of copied over HTTP. The AVs themselves still travel by the protocol.
    co_located: bool,
}

#[derive(Debug)]
pub struct LinkError {
    pub message: String,
    /// The peer's answer, when it answered with an error.
    pub status: Option<u16>,
}

impl LinkError {
    fn new(message: String) -> LinkError {
        LinkError { message, status: None }
    }

    /// `url` answered `status`, an error.
    fn answered(url: &str, status: reqwest::StatusCode, detail: &str) -> LinkError {
        LinkError { message: format!("{url}: {status}{detail}"), status: Some(status.as_u16()) }
    }

    /// The peer answered and refused (a 4xx other than 408 and 429):
    /// asking again soon will not change its mind.
    pub fn is_refusal(&self) -> bool {
        self.status.is_some_and(|code| (400..500).contains(&code) && code != 408 && code != 429)
    }
}

/// Why a download left no payload.
#[derive(Debug)]
pub enum DownloadError {
    /// The producer could not be reached, or answered with an error: the
    /// next poll tries again.
    Link(LinkError),
    /// The bytes that arrived are not the AV's (another payload's, or
    /// damaged on the way): refused, and nothing is kept of them.
    Mismatch { av: String, expected: String, got: String },
}

impl std::fmt::Display for DownloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownloadError::Link(error) => error.fmt(f),
            DownloadError::Mismatch { av, expected, got } => {
                write!(f, "the payload of {av} arrived as {got}, not {expected}: refused")
            }
        }
    }
}

impl From<LinkError> for DownloadError {
    fn from(error: LinkError) -> DownloadError {
        DownloadError::Link(error)
    }
}

/// Downloads so far in this process: what makes each temporary name unique.
static DOWNLOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The suffix of every download's temporary name (`remove_partials` finds
/// them after a crash).
const PARTIAL: &str = ".partial";

/// A temporary name beside `target`, of this download alone: two payloads
/// of one run (`split.7.a` and `split.7.b`) fetched at once must never
/// write through the same name.
fn partial_name(target: &Path) -> PathBuf {
    let n = DOWNLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.{}-{n}{PARTIAL}", std::process::id()))
}

/// Removes what interrupted downloads left in `dir` (their temporary names).
pub fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(PARTIAL) {
            remove_any(&entry.path());
        }
    }
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Link {
    /// A client whose every request carries `credential`.
    pub fn new(credential: &Credential) -> Link {
        let headers = reqwest::header::HeaderMap::from_iter([(reqwest::header::AUTHORIZATION, credential.bearer())]);
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(5))
            .timeout(LONG_POLL + Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            // Pure-Rust DNS: the static agent runs in arbitrary images, where
            // glibc NSS modules may be missing or of another version.
            .hickory_dns(true)
            .build()
            .unwrap_or_default();
        Link { client, co_located: false }
    }

    /// A link for agents on one machine (see `co_located`).
    pub fn co_located(credential: &Credential) -> Link {
        Link { co_located: true, ..Link::new(credential) }
    }

    /// AVs of `wire` after `after`, waiting up to `wait` for one to appear.
    /// A `consumer` (the asking agent's name) tells the producer it has
    /// taken everything up to `after`, which retention waits for; anyone
    /// else only reads.
    pub async fn poll(
        &self,
        base: &str,
        wire: &str,
        after: u64,
        wait: Duration,
        consumer: Option<&str>,
    ) -> Result<Vec<OutboxEntry>, LinkError> {
        let mut url = format!("{base}/v1/outbox/{wire}?after={after}&wait_ms={}", wait.as_millis());
        if let Some(consumer) = consumer {
            // Task names are identifiers (LANGUAGE.md §2): nothing to escape.
            url.push_str(&format!("&consumer={consumer}"));
        }
        let response = self.client.get(&url).send().await.map_err(|e| LinkError::new(format!("{url}: {e}")))?;
        if !response.status().is_success() {
            return Err(LinkError::answered(&url, response.status(), ""));
        }
        let page: OutboxPage = response.json().await.map_err(|e| LinkError::new(format!("{url}: {e}")))?;
        Ok(page.avs)
    }

    /// Downloads an AV's payload to `target` (a file, or a directory for a
    /// `dir` payload), through a temporary name of its own so a crash never
    /// leaves a half-written payload under the final name, and checks it
    /// against the AV's content digest and size before giving it that name.
    /// `consumer` is the asking agent's name, which the producer checks
    /// against the wire's region.
    pub async fn download(
        &self,
        base: &str,
        av: &Av,
        kind: PayloadKind,
        target: &Path,
        consumer: &str,
    ) -> Result<(), DownloadError> {
        if self.co_located && kind == PayloadKind::File {
            remove_any(target);
            if std::fs::hard_link(&av.stored, target).is_ok() {
                return Ok(());
            }
        }
        // Task and gateway names are identifiers or DNS labels: nothing to escape.
        let url = format!("{base}/v1/payload/{}?consumer={consumer}", av.id);
        let failed = |e: &dyn std::fmt::Display| LinkError::new(format!("{url}: {e}"));
        let response = self.client.get(&url).send().await.map_err(|e| failed(&e))?;
        if !response.status().is_success() {
            return Err(LinkError::answered(&url, response.status(), "").into());
        }
        let partial = partial_name(target);
        let streamed = match Link::fetch(response, kind, &partial, &url).await {
            Ok(streamed) => streamed,
            Err(error) => {
                remove_any(&partial);
                return Err(error.into());
            }
        };
        // A file was digested as it streamed in; a directory is read again.
        let check = partial.clone();
        let digest = match streamed {
            Some(digest) => Ok(Ok(digest)),
            None => tokio::task::spawn_blocking(move || content_digest(&check)).await.map_err(|e| failed(&e)),
        };
        let (content, size) = match digest {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                remove_any(&partial);
                return Err(failed(&error).into());
            }
            Err(error) => {
                remove_any(&partial);
                return Err(error.into());
            }
        };
        if content != av.content || size != av.size {
            remove_any(&partial);
            return Err(DownloadError::Mismatch {
                av: av.id.clone(),
                expected: format!("{} ({} bytes)", av.content, av.size),
                got: format!("{content} ({size} bytes)"),
            });
        }
        remove_any(target);
        tokio::fs::rename(&partial, target).await.map_err(|e| failed(&e).into())
    }

    /// The body of a payload response into `partial`: a file as it streams
    /// in, a `dir` payload's archive unpacked.
    async fn fetch(
        response: reqwest::Response,
        kind: PayloadKind,
        partial: &Path,
        url: &str,
    ) -> Result<Option<(String, u64)>, LinkError> {
        let failed = |e: &dyn std::fmt::Display| LinkError::new(format!("{url}: {e}"));
        if let Some(parent) = partial.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| failed(&e))?;
        }
        use futures_util::TryStreamExt;
        let body = response.bytes_stream().map_err(std::io::Error::other);
        if kind == PayloadKind::Dir {
            crate::files::unpack_tar(tokio_util::io::StreamReader::new(body), partial).await.map_err(|e| failed(&e))?;
            return Ok(None);
        }
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        // Written a chunk at a time: each write of tokio's File is a trip to
        // a blocking thread, and the network's pieces are small. Hashed as
        // it goes (SHA-256 of a piece of at most a chunk is well under a
        // millisecond), so the payload is not read a second time.
        let file = tokio::fs::File::create(partial).await.map_err(|e| failed(&e))?;
        let mut file = tokio::io::BufWriter::with_capacity(CHUNK, file);
        let mut reader = tokio_util::io::StreamReader::new(body);
        let mut digest = crate::files::StreamDigest::default();
        loop {
            let piece = reader.fill_buf().await.map_err(|e| failed(&e))?;
            if piece.is_empty() {
                break;
            }
            digest.update(piece);
            file.write_all(piece).await.map_err(|e| failed(&e))?;
            let n = piece.len();
            reader.consume(n);
        }
        file.flush().await.map_err(|e| failed(&e))?;
        Ok(Some(digest.finish()))
    }

    /// Drops a file into a pipeline input through the gateway.
    pub async fn drop_file(&self, base: &str, wire: &str, name: &str, bytes: Vec<u8>) -> Result<String, LinkError> {
        let mut url = reqwest::Url::parse(base).map_err(|e| LinkError::new(format!("{base}: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| LinkError::new(format!("{base} cannot take a path")))?
            .extend(["v1", "drop", wire, name]);
        let response =
            self.client.put(url.clone()).body(bytes).send().await.map_err(|e| LinkError::new(format!("{url}: {e}")))?;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.map_err(|e| LinkError::new(format!("{url}: {e}")))?;
        if !status.is_success() {
            return Err(LinkError::answered(url.as_str(), status, &format!(": {}", answer["error"])));
        }
        Ok(answer["av"].as_str().unwrap_or_default().to_owned())
    }

    /// Every run of the agent at `base` after run number `after`, a page
    /// at a time.
    pub async fn runs(&self, base: &str, after: u64) -> Result<Vec<RunRecord>, LinkError> {
        let mut runs: Vec<RunRecord> = Vec::new();
        let mut after = after;
        loop {
            let url = format!("{base}/v1/runs?after={after}&limit={RUNS_PAGE}");
            let response = self.client.get(&url).send().await.map_err(|e| LinkError::new(format!("{url}: {e}")))?;
            if !response.status().is_success() {
                return Err(LinkError::answered(&url, response.status(), ""));
            }
            let page: Vec<RunRecord> = response.json().await.map_err(|e| LinkError::new(format!("{url}: {e}")))?;
            let full = page.len() >= RUNS_PAGE;
            after = page.last().map_or(after, |run| run.run);
            runs.extend(page);
            if !full {
                return Ok(runs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use axum::Router;

    use super::*;

    /// A producer that answers every payload request with `body`.
    async fn serving(body: &'static [u8]) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route("/v1/payload/{id}", get(move || async move { body }));
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{address}")
    }

    fn test_credential() -> Credential {
        Credential::new("0123456789abcdef0123456789abcdef").unwrap()
    }

    fn av_of(bytes: &[u8]) -> Av {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        std::fs::write(&path, bytes).unwrap();
        let (content, size) = content_digest(&path).unwrap();
        Av {
            id: "split.7.a".into(),
            wire: "a".into(),
            task: "split".into(),
            run: 7,
            inputs: vec![],
            definition: String::new(),
            content,
            size,
            name: "a".into(),
            created: String::new(),
            stored: String::new(),
            removed: None,
        }
    }

    #[tokio::test]
    async fn a_payload_whose_bytes_are_not_its_digests_is_refused_and_nothing_is_kept() {
        let base = serving(b"the bytes of b").await;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("split.7.a");
        let error = Link::new(&test_credential())
            .download(&base, &av_of(b"the bytes of a"), PayloadKind::File, &target, "t")
            .await
            .unwrap_err();
        assert!(matches!(error, DownloadError::Mismatch { .. }), "{error}");
        assert!(error.to_string().contains("split.7.a arrived as sha256:"), "{error}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "nothing of a refused payload is kept: {left:?}");
    }

    #[tokio::test]
    async fn a_payload_that_matches_arrives_under_its_name() {
        let base = serving(b"the bytes of a").await;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("split.7.a");
        Link::new(&test_credential())
            .download(&base, &av_of(b"the bytes of a"), PayloadKind::File, &target, "t")
            .await
            .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"the bytes of a");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary name is left");
    }

    #[test]
    fn temporary_names_are_unique_and_removed_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("split.7.a");
        let (first, second) = (partial_name(&target), partial_name(&target));
        assert_ne!(first, second);
        assert_ne!(partial_name(&dir.path().join("split.7.b")), first);
        std::fs::write(&first, b"half").unwrap();
        std::fs::write(&target, b"whole").unwrap();
        remove_partials(dir.path());
        assert!(!first.exists());
        assert!(target.exists(), "a payload under its own name stays");
    }
}
