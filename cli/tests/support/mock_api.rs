//! A mock Kubernetes API server for the deploy tests: kube's client talks to
//! it through a `tower-test` service pair (no sockets). It keeps one
//! namespace's objects in memory, answers the requests `koaljac deploy`,
//! `diff`, `delete` and `status` send the way an API server does (apply,
//! get, list by label selector, delete, dry runs, the service proxy), and
//! records every request so a test can assert exactly what was sent. A
//! `Scenario` names the situation a test puts the cluster in; its `Setup`
//! is the cluster's starting state and the fault it injects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{json, Value};

/// The namespace the mock cluster has (the examples' pipelines use it).
pub type Objects = BTreeMap<(String, String), Value>;

/// The situations the deploy tests put a cluster in (as kube-rs
/// controller-rs `fixtures.rs` names its scenarios). The namespace the
/// tests deploy to is `demo`, the pipeline `lines`.
#[derive(Clone, Debug)]
pub enum Scenario {
    /// Namespace `demo` exists and holds nothing: first deploys, dry runs,
    /// diffs, deletes.
    EmptyNamespace,
    /// Namespace `demo` does not exist.
    NoNamespace,
    /// Beside the pipeline: a Service made by hand with only the part-of
    /// label, another pipeline's Service, and a state claim per task as a
    /// StatefulSet leaves them.
    Neighbours,
    /// Another field manager, `kubectl-edit`, owns `.spec.replicas` of
    /// StatefulSet `lines-uniq`.
    Conflict,
    /// The credentials may not patch NetworkPolicies.
    ForbiddenNetworkPolicies,
    /// Nothing answers.
    Unreachable,
    /// The credentials are refused.
    Unauthorized,
    /// Workloads never become ready.
    NeverReady,
    /// The gateway is up and answers `/v1/pipeline/runs` with this.
    GatewayRuns(Value),
}

impl Scenario {
    pub fn setup(self) -> Setup {
        let demo = Setup { namespaces: vec!["demo".to_owned()], ..Setup::default() };
        match self {
            Scenario::EmptyNamespace => demo,
            Scenario::NoNamespace => Setup::default(),
            Scenario::Neighbours => {
                let mut setup = demo;
                let by_hand = json!({ "apiVersion": "v1", "kind": "Service", "metadata": {
                    "name": "lines-count-debug", "labels": { "app.kubernetes.io/part-of": "lines" } } });
                let other = json!({ "apiVersion": "v1", "kind": "Service", "metadata": {
                    "name": "other-count",
                    "labels": { "app.kubernetes.io/part-of": "other", "app.kubernetes.io/managed-by": "koaljac" } } });
                setup.objects.insert(("services".to_owned(), "lines-count-debug".to_owned()), by_hand);
                setup.objects.insert(("services".to_owned(), "other-count".to_owned()), other);
                for task in ["uniq", "count"] {
                    let name = format!("state-lines-{task}-0");
                    let claim = json!({ "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
                        "name": name,
                        "labels": { "app.kubernetes.io/part-of": "lines", "app.kubernetes.io/managed-by": "koaljac",
                                    "koalja.dev/task": task } } });
                    setup.objects.insert(("persistentvolumeclaims".to_owned(), name), claim);
                }
                setup
            }
            Scenario::Conflict => Setup {
                fault: Fault::Conflict {
                    plural: "statefulsets".to_owned(),
                    name: "lines-uniq".to_owned(),
                    field: ".spec.replicas".to_owned(),
                    manager: "kubectl-edit".to_owned(),
                },
                ..demo
            },
            Scenario::ForbiddenNetworkPolicies => Setup {
                fault: Fault::Forbidden { method: Method::PATCH, plural: "networkpolicies".to_owned() },
                ..demo
            },
            Scenario::Unreachable => Setup { fault: Fault::Unreachable, ..demo },
            Scenario::Unauthorized => Setup { fault: Fault::Unauthorized, ..demo },
            Scenario::NeverReady => Setup { never_ready: true, ..demo },
            Scenario::GatewayRuns(runs) => Setup { gateway_runs: Some(runs), ..demo },
        }
    }
}

/// What the cluster is like and which fault it injects.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// Namespaces that exist.
    pub namespaces: Vec<String>,
    /// Objects already there, by (plural, name).
    pub objects: Objects,
    /// Workloads never become ready.
    pub never_ready: bool,
    pub fault: Fault,
    /// What the gateway answers on `/v1/pipeline/runs`, if it is up.
    pub gateway_runs: Option<Value>,
}

#[derive(Clone, Debug, Default)]
pub enum Fault {
    #[default]
    None,
    /// Applying this object (plural, name) conflicts with another manager
    /// on this field.
    Conflict { plural: String, name: String, field: String, manager: String },
    /// Requests with this method on this plural are forbidden.
    Forbidden { method: Method, plural: String },
    /// Every request fails to connect.
    Unreachable,
    /// Every request is refused as unauthorised.
    Unauthorized,
}

/// One request as sent.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub body: Option<Value>,
}

impl Recorded {
    /// `METHOD path` plus `dryRun` when set: how the tests list requests.
    pub fn line(&self) -> String {
        let in_body = self.body.as_ref().is_some_and(|b| b.get("dryRun").is_some());
        let dry = if self.query.contains_key("dryRun") || in_body { " dryRun" } else { "" };
        format!("{} {}{dry}", self.method, self.path)
    }
}

#[derive(Default)]
pub struct State {
    pub objects: Objects,
    pub requests: Vec<Recorded>,
    setup: Setup,
    version: u64,
}

/// A kube client wired to a mock cluster, and the cluster's state.
pub fn start(scenario: Scenario) -> (kube::Client, Arc<Mutex<State>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let setup = scenario.setup();
    let state = Arc::new(Mutex::new(State { objects: setup.objects.clone(), setup, ..State::default() }));
    let serving = state.clone();
    tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap_or_default();
            let answer = serving.lock().unwrap().answer(parts, &bytes);
            match answer {
                Some(reply) => send.send_response(reply.into_response()),
                None => send.send_error(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "tcp connect error: Connection refused (os error 111)",
                )),
            }
        }
    });
    (kube::Client::new(service, "default"), state)
}

/// An answer: status and JSON body, whichever transport carries it.
pub struct Reply {
    status: StatusCode,
    body: Value,
}

impl Reply {
    fn into_response<B: From<Vec<u8>>>(self) -> Response<B> {
        Response::builder()
            .status(self.status)
            .header("content-type", "application/json")
            .body(B::from(serde_json::to_vec(&self.body).unwrap()))
            .unwrap()
    }
}

fn respond(status: StatusCode, body: &Value) -> Reply {
    Reply { status, body: body.clone() }
}

fn failure(code: u16, reason: &str, message: &str, details: Value) -> Reply {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": details, "code": code
    });
    respond(StatusCode::from_u16(code).unwrap(), &status)
}

fn not_found(plural: &str, name: &str) -> Reply {
    failure(404, "NotFound", &format!("{plural} \"{name}\" not found"), json!({ "name": name, "kind": plural }))
}

impl State {
    /// The answer to one request; `None` for a connection that fails.
    fn answer(&mut self, parts: http::request::Parts, body: &[u8]) -> Option<Reply> {
        let path = parts.uri.path().to_owned();
        let query: BTreeMap<String, String> =
            form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
        let body: Option<Value> = serde_json::from_slice(body).ok();
        self.requests.push(Recorded {
            method: parts.method.clone(),
            path: path.clone(),
            query: query.clone(),
            body: body.clone(),
        });
        match &self.setup.fault {
            Fault::Unreachable => return None,
            Fault::Unauthorized => return Some(failure(401, "Unauthorized", "Unauthorized", json!({}))),
            _ => {}
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // /api/v1/namespaces/NS[/PLURAL[/NAME[/proxy/…]]] or /apis/G/V/namespaces/NS/…
        let rest: &[&str] = match segments.as_slice() {
            ["api", "v1", "namespaces", rest @ ..] => rest,
            ["apis", _, _, "namespaces", rest @ ..] => rest,
            _ => return Some(failure(404, "NotFound", "the server could not find the requested resource", json!({}))),
        };
        let namespace = rest[0].to_owned();
        let namespace_exists = self.setup.namespaces.contains(&namespace);
        if rest.len() == 1 {
            return Some(if namespace_exists {
                respond(
                    StatusCode::OK,
                    &json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": namespace } }),
                )
            } else {
                not_found("namespaces", &namespace)
            });
        }
        let plural = rest[1].to_owned();
        let name = rest.get(2).map(|s| s.to_string());
        if let Fault::Forbidden { method, plural: forbidden } = &self.setup.fault {
            if *method == parts.method && *forbidden == plural {
                // As the real authorizer: an apply that would make the
                // object is checked as `create`.
                let exists = name.as_ref().is_some_and(|name| {
                    self.objects.keys().any(|(kind_plural, n)| kind_plural == &plural && n == name)
                });
                let verb = match parts.method.as_str() {
                    "PATCH" if !exists => "create",
                    "PATCH" => "patch",
                    "DELETE" => "delete",
                    _ => "get",
                };
                let message = format!(
                    "{plural} is forbidden: User \"ci\" cannot {verb} resource \"{plural}\" in the namespace \"{namespace}\""
                );
                return Some(failure(403, "Forbidden", &message, json!({ "kind": plural })));
            }
        }
        if rest.get(3) == Some(&"proxy") {
            return Some(match &self.setup.gateway_runs {
                Some(runs) => respond(StatusCode::OK, runs),
                None => failure(503, "ServiceUnavailable", "no endpoints available for service", json!({})),
            });
        }
        Some(match (parts.method.clone(), name) {
            (Method::GET, Some(name)) => match self.objects.get(&(plural.clone(), name.clone())) {
                Some(object) => respond(StatusCode::OK, object),
                None => not_found(&plural, &name),
            },
            (Method::GET, None) => {
                let wanted = labels_of_selector(query.get("labelSelector").map(String::as_str).unwrap_or_default());
                let items: Vec<&Value> = self
                    .objects
                    .iter()
                    .filter(|((p, _), object)| *p == plural && has_labels(object, &wanted))
                    .map(|(_, object)| object)
                    .collect();
                respond(StatusCode::OK, &json!({ "apiVersion": "v1", "kind": "List", "metadata": {}, "items": items }))
            }
            (Method::PATCH, Some(name)) => {
                if !namespace_exists {
                    return Some(not_found("namespaces", &namespace));
                }
                self.apply(&plural, &name, body.unwrap_or(Value::Null), &query)
            }
            (Method::POST, None) => {
                if !namespace_exists {
                    return Some(not_found("namespaces", &namespace));
                }
                let mut object = body.unwrap_or(Value::Null);
                let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                let key = (plural.clone(), name.clone());
                if self.objects.contains_key(&key) {
                    return Some(failure(
                        409,
                        "AlreadyExists",
                        &format!("{plural} \"{name}\" already exists"),
                        json!({}),
                    ));
                }
                self.version += 1;
                object["metadata"]["resourceVersion"] = json!(self.version.to_string());
                if !query.contains_key("dryRun") {
                    self.objects.insert(key, object.clone());
                }
                respond(StatusCode::CREATED, &object)
            }
            (Method::DELETE, Some(name)) => match self.objects.get(&(plural.clone(), name.clone())).cloned() {
                Some(object) => {
                    // kube sends DeleteOptions, dry run included, as the body.
                    let dry_run =
                        query.contains_key("dryRun") || body.as_ref().is_some_and(|b| b.get("dryRun").is_some());
                    if !dry_run {
                        self.objects.remove(&(plural, name));
                    }
                    respond(StatusCode::OK, &object)
                }
                None => not_found(&plural, &name),
            },
            _ => failure(405, "MethodNotAllowed", "not supported by the mock", json!({})),
        })
    }

    /// Server-side apply, simplified: the applied object replaces the live
    /// one (a build always sends every field it owns), with the server's
    /// bookkeeping; the resource version moves only when something changed.
    fn apply(&mut self, plural: &str, name: &str, body: Value, query: &BTreeMap<String, String>) -> Reply {
        if let Fault::Conflict { plural: p, name: n, field, manager } = &self.setup.fault {
            if p == plural && n == name && query.get("force").map(String::as_str) != Some("true") {
                let message =
                    format!("Apply failed with 1 conflict: conflict with \"{manager}\" using apps/v1: {field}");
                let cause = json!({ "reason": "FieldManagerConflict", "message": format!("conflict with \"{manager}\" using apps/v1"), "field": field });
                return failure(409, "Conflict", &message, json!({ "name": name, "kind": plural, "causes": [cause] }));
            }
        }
        let key = (plural.to_owned(), name.to_owned());
        let live = self.objects.get(&key).cloned();
        let mut object = body;
        let unchanged = live.as_ref().is_some_and(|live| without_bookkeeping(live) == without_bookkeeping(&object));
        let (version, generation) = match (&live, unchanged) {
            (Some(live), true) => (live["metadata"]["resourceVersion"].clone(), live["metadata"]["generation"].clone()),
            (live, _) => {
                self.version += 1;
                let generation = live.as_ref().and_then(|l| l["metadata"]["generation"].as_i64()).unwrap_or(0) + 1;
                (json!(self.version.to_string()), json!(generation))
            }
        };
        object["metadata"]["resourceVersion"] = version;
        object["metadata"]["generation"] = generation.clone();
        object["metadata"]["uid"] = json!(format!("uid-{plural}-{name}"));
        object["metadata"]["managedFields"] = json!([{ "manager": query.get("fieldManager"), "operation": "Apply" }]);
        if matches!(plural, "statefulsets" | "deployments") {
            let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = if self.setup.never_ready { 0 } else { replicas };
            object["status"] = json!({ "observedGeneration": generation, "replicas": replicas, "readyReplicas": ready, "updatedReplicas": ready });
        }
        if !query.contains_key("dryRun") {
            self.objects.insert(key, object.clone());
        }
        respond(if live.is_some() { StatusCode::OK } else { StatusCode::CREATED }, &object)
    }
}

/// The same mock served over HTTP on loopback, for tests that run the
/// `koaljac` binary: its URL and state. Must be called in a multi-threaded
/// runtime if the test blocks on the binary.
pub async fn serve_http(scenario: Scenario) -> (String, Arc<Mutex<State>>) {
    let setup = scenario.setup();
    let state = Arc::new(Mutex::new(State { objects: setup.objects.clone(), setup, ..State::default() }));
    let serving = state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let serving = serving.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let reply = serving.lock().unwrap().answer(parts, &bytes);
            match reply {
                Some(reply) => reply.into_response::<axum::body::Body>(),
                // Unreachable over HTTP: the connection is dropped instead.
                None => panic!("the unreachable fault is for the in-process client only"),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, state)
}

/// A kube config file for the cluster at `url`, in `dir`.
pub fn kubeconfig(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig.yaml");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: mock\n  cluster: {{server: '{url}'}}\nusers:\n- name: ci\n  user: {{token: t}}\ncontexts:\n- name: mock\n  context: {{cluster: mock, user: ci}}\ncurrent-context: mock\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The server's own notion of "unchanged". Deliberately not
/// `cluster::compare::comparable`: the mock plays the API server, whose
/// answers the code under test compares, so it must not borrow that code.
fn without_bookkeeping(object: &Value) -> Value {
    let mut object = object.clone();
    object.as_object_mut().map(|o| o.remove("status"));
    if let Some(metadata) = object["metadata"].as_object_mut() {
        for key in ["resourceVersion", "generation", "uid", "managedFields"] {
            metadata.remove(key);
        }
    }
    object
}

fn labels_of_selector(selector: &str) -> Vec<(String, String)> {
    selector.split(',').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn has_labels(object: &Value, wanted: &[(String, String)]) -> bool {
    wanted.iter().all(|(key, value)| object["metadata"]["labels"][key].as_str() == Some(value.as_str()))
}
