//! `koaljac drop` and `koaljac fetch`: files into a deployed pipeline's
//! inputs and its outputs out, through its gateways (the main one, and one
//! per region that keeps its data there, which the main one names), reached by the API
//! server's service proxy, so the user's kube credentials are all it takes
//! (no port to open, no port-forward), and read access to the pipeline's
//! link token (`token`), which every request to the gateway carries.
//!
//! An output is streamed to a temporary name, checked against its AV's
//! content digest and size, and only then given its name; one already
//! there with the right digest is not fetched again.
//!
//! The proxy takes a request body whole, so a file goes in parts of
//! `PART` bytes (`PUT /v1/uploads/{id}?offset=N`), each landing only at the
//! end of what arrived before, and is then dropped whole
//! (`POST /v1/uploads/{id}/drop/{wire}/{name}?size=N`): memory stays at one
//! part whatever the file's size, and a part that failed is sent again from
//! where the gateway says the upload stands. Dropping the same content
//! under the same name again feeds nothing (the gateway's idempotence, as
//! for local drops).

use std::io::Read;
use std::path::Path;

use http::{Method, Request, StatusCode};
use kube::client::Body;
use serde_json::Value;

use koalja_agent::agent::PipelineHistory;
use koalja_agent::files::{content_digest, remove_any};
use koalja_agent::link::TAR;
use koalja_agent::plan::GatewayPlan;
use koalja_agent::record::{safe_file_name, Av, GATEWAY};
use tokio::io::AsyncReadExt as _;

use super::{token, Cluster, ClusterError};
use koalja_agent::auth::{Credential, TOKEN_HEADER};
use koalja_compiler::lower::AGENT_PORT;

/// Bytes per part: large enough that a request's round trip is small
/// beside it, small enough to keep in memory.
pub const PART: usize = 8 << 20;

/// How often one part is sent before the drop gives up.
const ATTEMPTS: u32 = 5;

/// What the gateway made of a dropped file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub av: String,
    /// False when the same content under the same name was dropped before.
    pub new: bool,
}

/// Where one of a pipeline's gateways answers, through the service proxy,
/// with the pipeline's link token.
#[derive(Clone)]
pub struct Gateway<'a> {
    pub cluster: &'a Cluster,
    pub namespace: &'a str,
    pub pipeline: &'a str,
    /// The gateway's name (`gateway`, or a region's `gateway-<region>`):
    /// its Service is `<pipeline>-<name>`.
    pub name: String,
    /// The pipeline inputs dropped into it and the outputs it collects
    /// (known once `gateways` listed them).
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    credential: Credential,
}

impl<'a> Gateway<'a> {
    /// The main gateway of `namespace/pipeline`, with the token read from
    /// the pipeline's Secret.
    pub async fn connect(cluster: &'a Cluster, namespace: &'a str, pipeline: &'a str) -> Result<Self, ClusterError> {
        let credential = token::read(cluster, namespace, pipeline).await?;
        Ok(Gateway {
            cluster,
            namespace,
            pipeline,
            name: GATEWAY.to_owned(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            credential,
        })
    }

    /// Every gateway of the pipeline with its wires, as the main gateway
    /// has them from the IR; a gateway from before regional gateways has
    /// no such list, and is the only one.
    pub async fn gateways(&self) -> Result<Vec<Gateway<'a>>, ClusterError> {
        let (status, answer) = self.call(Method::GET, "pipeline/gateways", Vec::new()).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(vec![self.clone()]);
        }
        let listed: Vec<GatewayPlan> = if status.is_success() {
            serde_json::from_value(answer).map_err(|e| ClusterError::Refused {
                verb: "get",
                object: format!("the gateways of {}/{}", self.namespace, self.pipeline),
                code: 0,
                message: format!("the gateway's answer is not a list of gateways: {e}"),
            })?
        } else {
            return Err(self.refused(
                "get",
                format!("the gateways of {}/{}", self.namespace, self.pipeline),
                status,
                &answer,
            ));
        };
        Ok(listed.into_iter().map(|plan| self.at(plan.kubernetes_name, plan.inputs, plan.outputs)).collect())
    }

    /// The main gateway's view of the gateway that takes drops into `wire`:
    /// data stay in their region, so a wire of a pinned task goes to that
    /// region's gateway.
    pub async fn for_wire(&self, wire: &str) -> Result<Gateway<'a>, ClusterError> {
        let gateways = self.gateways().await?;
        Ok(gateways.iter().find(|g| g.inputs.iter().any(|w| w == wire)).cloned().unwrap_or_else(|| self.clone()))
    }

    fn at(&self, name: String, inputs: Vec<String>, outputs: Vec<String>) -> Gateway<'a> {
        Gateway { name, inputs, outputs, ..self.clone() }
    }

    /// A request for `/v1/REST` of the gateway, by the API server's service
    /// proxy path. The token goes as `X-Koalja-Token`: the API server takes
    /// `Authorization` (the user's own credential) off before proxying.
    pub(super) fn request(&self, method: Method, rest: &str) -> http::request::Builder {
        let path = format!(
            "/api/v1/namespaces/{}/services/{}-{}:{AGENT_PORT}/proxy/v1/{rest}",
            self.namespace, self.pipeline, self.name
        );
        Request::builder().method(method).uri(path).header(TOKEN_HEADER, self.credential.header_value())
    }

    /// One request: the status and the JSON answer (`{}` when there is none).
    async fn call(&self, method: Method, rest: &str, body: Vec<u8>) -> Result<(StatusCode, Value), ClusterError> {
        let unreachable = |cause: String| ClusterError::Unreachable { cluster: self.cluster.name.clone(), cause };
        let request = self.request(method, rest).body(Body::from(body)).map_err(|e| unreachable(e.to_string()))?;
        let response = self.cluster.once.send(request).await.map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let bytes = response.into_body().collect_bytes().await.map_err(|e| unreachable(e.to_string()))?;
        let answer = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, answer))
    }

    /// The gateway (or the API server before it) refused `verb` of `object`.
    fn refused(&self, verb: &'static str, object: String, status: StatusCode, answer: &Value) -> ClusterError {
        // The gateway's own words (`error`), or the API server's (`message`).
        let message = answer["error"].as_str().or(answer["message"].as_str()).unwrap_or("no reason given");
        ClusterError::Refused { verb, object, code: status.as_u16(), message: message.to_owned() }
    }

    /// Sends the file at `path` in parts and drops it into `wire` as `name`.
    /// `progress` hears the bytes sent so far after each part.
    pub async fn drop_file(
        &self,
        wire: &str,
        name: &str,
        path: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Dropped, ClusterError> {
        let what = format!("{wire}={} into {}/{}", path.display(), self.namespace, self.pipeline);
        let unreadable = |e: std::io::Error| ClusterError::Config(format!("cannot read {}: {e}", path.display()));
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        let size = file.metadata().map_err(unreadable)?.len();
        let id = upload_id();
        let mut sent: u64 = 0;
        let mut part = vec![0; PART];
        while sent < size {
            let length = read_part(&mut file, &mut part).map_err(unreadable)?;
            if length == 0 {
                return Err(ClusterError::Config(format!("{} got shorter while it was sent", path.display())));
            }
            let mut attempt = 0;
            loop {
                attempt += 1;
                let answer =
                    self.call(Method::PUT, &format!("uploads/{id}?offset={sent}"), part[..length].to_vec()).await;
                match answer {
                    Ok((status, _)) if status.is_success() => break,
                    // A part that arrived although its answer did not: go on.
                    Ok((StatusCode::CONFLICT, answer)) if answer["size"].as_u64() == Some(sent + length as u64) => {
                        break
                    }
                    Ok((status, answer)) if attempt >= ATTEMPTS || status.is_client_error() => {
                        return Err(self.refused("drop", what, status, &answer))
                    }
                    Err(error) if attempt >= ATTEMPTS => return Err(error),
                    _ => tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await,
                }
            }
            sent += length as u64;
            progress(sent);
        }
        let (status, answer) = self
            .call(Method::POST, &format!("uploads/{id}/drop/{}/{}?size={size}", encode(wire), encode(name)), Vec::new())
            .await?;
        if !status.is_success() {
            return Err(self.refused("drop", what, status, &answer));
        }
        Ok(Dropped {
            av: answer["av"].as_str().unwrap_or_default().to_owned(),
            new: answer["new"].as_bool().unwrap_or(true),
        })
    }
}

/// What `fetch` did with one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Fetched now, to this path.
    New(std::path::PathBuf),
    /// Already there with the output's digest.
    Present(std::path::PathBuf),
}

impl Gateway<'_> {
    /// The pipeline outputs the gateway has collected, oldest first.
    pub async fn outputs(&self) -> Result<Vec<Av>, ClusterError> {
        self.get_json("outputs", "the outputs").await
    }

    /// Every AV and run of the pipeline, as the gateway gathers them from
    /// the agents (`koaljac log` and `trace` of a deployed pipeline).
    pub async fn history(&self) -> Result<PipelineHistory, ClusterError> {
        self.get_json("pipeline/history", "the history").await
    }

    /// `GET /v1/REST` of the gateway, its JSON answer read as a `T`; `what`
    /// names it in errors.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, rest: &str, what: &str) -> Result<T, ClusterError> {
        let (status, answer) = self.call(Method::GET, rest, Vec::new()).await?;
        if !status.is_success() {
            return Err(self.refused(
                "get",
                format!("{what} of {}/{}", self.namespace, self.pipeline),
                status,
                &answer,
            ));
        }
        serde_json::from_value(answer).map_err(|e| ClusterError::Refused {
            verb: "get",
            object: format!("{what} of {}/{}", self.namespace, self.pipeline),
            code: 0,
            message: format!("the gateway's answer is not {what}: {e}"),
        })
    }

    /// `output` into `into/<wire>/<file name>` (a directory for a `dir`
    /// output), unless it is there already.
    pub async fn fetch(&self, output: &Av, into: &Path) -> Result<Fetched, ClusterError> {
        // Names from the gateway become paths only as one plain component.
        let Some(wire) = safe_file_name(&output.wire).filter(|wire| *wire == output.wire) else {
            return Err(ClusterError::Refused {
                verb: "fetch",
                object: output.id.clone(),
                code: 0,
                message: format!("the gateway names its wire `{}`, which is not a plain name", output.wire),
            });
        };
        let dir = into.join(wire);
        let target = dir.join(output.file_name());
        let cannot = |e: std::io::Error| ClusterError::Config(format!("cannot write {}: {e}", target.display()));
        if content_digest(&target).is_ok_and(|(content, size)| content == output.content && size == output.size) {
            return Ok(Fetched::Present(target));
        }
        std::fs::create_dir_all(&dir).map_err(cannot)?;
        let partial = dir.join(format!(".{}.{}.partial", output.file_name(), std::process::id()));
        remove_any(&partial);
        let fetched = self.stream_to(output, &partial).await;
        let checked = fetched.and_then(|()| {
            let (content, size) = content_digest(&partial).map_err(cannot)?;
            if content == output.content && size == output.size {
                Ok(())
            } else {
                Err(ClusterError::Refused {
                    verb: "fetch",
                    object: output.id.clone(),
                    code: 0,
                    message: format!(
                        "arrived as {content} ({size} bytes), not {} ({} bytes)",
                        output.content, output.size
                    ),
                })
            }
        });
        if let Err(error) = checked {
            remove_any(&partial);
            return Err(error);
        }
        remove_any(&target);
        std::fs::rename(&partial, &target).map_err(cannot)?;
        Ok(Fetched::New(target))
    }

    /// The bytes of `output`, as they stream in: into the file `path`, or,
    /// for a `dir` output (a tar archive, as the content type says),
    /// unpacked into the directory `path`.
    async fn stream_to(&self, output: &Av, path: &Path) -> Result<(), ClusterError> {
        use futures::TryStreamExt;
        let request = self
            .request(Method::GET, &format!("outputs/{}", encode(&output.id)))
            .body(Body::from(Vec::new()))
            .map_err(|e| ClusterError::Config(e.to_string()))?;
        let refused =
            |message: String| ClusterError::Refused { verb: "fetch", object: output.id.clone(), code: 0, message };
        let response = self.cluster.once.send(request).await.map_err(|e| refused(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.into_body().collect_bytes().await.unwrap_or_default();
            let answer = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(self.refused("fetch", output.id.clone(), status, &answer));
        }
        let archive = response.headers().get(http::header::CONTENT_TYPE).is_some_and(|kind| kind == TAR);
        let body = http_body_util::BodyDataStream::new(response.into_body()).map_err(std::io::Error::other);
        let mut reader = tokio_util::io::StreamReader::new(body);
        if archive {
            std::fs::create_dir_all(path).map_err(|e| refused(e.to_string()))?;
            return koalja_agent::files::unpack_tar(reader, path).await.map_err(|e| refused(e.to_string()));
        }
        let mut file = std::fs::File::create(path).map_err(|e| refused(e.to_string()))?;
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = reader.read(&mut buffer).await.map_err(|e| refused(e.to_string()))?;
            if n == 0 {
                return Ok(());
            }
            std::io::Write::write_all(&mut file, &buffer[..n]).map_err(|e| refused(e.to_string()))?;
        }
    }
}

/// Fills `part` as far as the file goes; the number of bytes read.
fn read_part(file: &mut std::fs::File, part: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < part.len() {
        match file.read(&mut part[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A name for one upload, unique to this process and moment.
fn upload_id() -> String {
    static UPLOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}-{n}", std::process::id())
}

/// A path segment: every byte outside the unreserved set percent-encoded.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode("my data.txt"), "my%20data.txt");
        assert_eq!(encode("a/b?c#"), "a%2Fb%3Fc%23");
        assert_eq!(encode("plain-name_1.csv"), "plain-name_1.csv");
    }

    #[test]
    fn upload_ids_are_distinct_plain_names() {
        let (a, b) = (upload_id(), upload_id());
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c == '-'), "{a}");
    }
}
