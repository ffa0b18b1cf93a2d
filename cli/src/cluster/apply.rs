//! `koaljac deploy` and `koaljac diff`: server-side apply of a build, in
//! apply order, then pruning what the build no longer emits.
//!
//! The namespace's objects of every kind a build emits are listed first, one
//! request per kind, so every step can say what it did: create, update
//! (with the fields that changed) or unchanged. An apply that would change
//! nothing, neither a value nor the fields `koaljac` owns (`noop`), is not
//! sent at all: re-deploying an unchanged pipeline costs those lists and
//! nothing more, and a first deploy one apply per object. A dry run sends
//! the same requests with `dryRun=All`: the server validates and defaults
//! everything, and changes nothing; `diff` is a dry run that prints the
//! fields. Objects of one kind are applied a few at a time; a failure still
//! says exactly which objects were applied, because every apply in flight
//! is awaited. The pipeline's link token (`token`), which no build holds,
//! is made before the first apply if it is not there.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, TypeMeta};
use serde_json::Value;

use super::compare::{changes, comparable, FieldChange};
use super::errors::Attempt;
use super::{kinds, noop, token, Cluster, ClusterError};
use koalja_compiler::lower::{pipeline_labels, pipeline_selector, Manifests, Object, TASK};

/// How many applies are in flight at once: one at a time, a 10,000-task
/// pipeline (30,000 objects) would wait out 30,000 round trips.
const CONCURRENT_APPLIES: usize = 8;

/// The field manager of every apply: `kubectl` and controllers see
/// `koaljac` as the owner of what a build sets.
pub const FIELD_MANAGER: &str = "koaljac";

#[derive(Clone, Copy, Debug, Default)]
pub struct ApplyOptions {
    /// Send every request with `dryRun=All`; nothing changes.
    pub dry_run: bool,
    /// Take over fields another field manager owns instead of stopping.
    pub force_conflicts: bool,
}

/// What a deploy did, or would do, to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Unchanged,
    /// Part of the pipeline, no longer emitted: deleted.
    Prune,
    /// A claim no longer emitted: kept, because it holds data.
    KeepData,
    /// Deleted by `koaljac delete`.
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Prune => "prune",
            Action::KeepData => "keep (data)",
            Action::Delete => "delete",
        }
    }

    /// Does the step change the cluster?
    pub fn changes_cluster(self) -> bool {
        !matches!(self, Action::Unchanged | Action::KeepData)
    }
}

/// One object's step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub kind: String,
    pub name: String,
    pub action: Action,
    /// For an update: the fields that change.
    pub changes: Vec<FieldChange>,
}

/// The workloads (kind, name) a deploy applied: what to wait for.
pub fn workloads(steps: &[Step]) -> Vec<(String, String)> {
    steps
        .iter()
        .filter(|step| kinds::is_workload(&step.kind) && step.action != Action::Prune)
        .map(|step| (step.kind.clone(), step.name.clone()))
        .collect()
}

/// A deploy that stopped: why, and how far it got.
#[derive(Debug)]
pub struct Failure {
    pub error: ClusterError,
    /// The steps that were carried out before the error.
    pub done: Vec<Step>,
    /// The objects (`Kind name`) that were not applied.
    pub not_applied: Vec<String>,
    /// The object (kind, name) whose request failed, when one did: what
    /// the CLI traces back to a task and its place in the file.
    pub refused: Option<(String, String)>,
}

/// Applies every object of `manifests` to `cluster` (or, with `dry_run`,
/// finds out what that would do), then prunes the pipeline's objects that
/// the build no longer emits. `on_step` hears of each step as it is done.
pub async fn deploy(
    cluster: &Cluster,
    manifests: &Manifests,
    options: ApplyOptions,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>, Failure> {
    let namespace = manifests.namespace();
    let objects = manifests.objects();
    let mut done: Vec<Step> = Vec::with_capacity(objects.len());
    if let Err(error) = ensure_namespace(cluster, namespace).await {
        return Err(Failure { error, done, not_applied: objects.iter().map(named).collect(), refused: None });
    }
    let live = match list_live(cluster, namespace).await {
        Ok(live) => live,
        Err(error) => {
            return Err(Failure { error, done, not_applied: objects.iter().map(named).collect(), refused: None })
        }
    };
    // A change the server would refuse stops the deploy before any write.
    let listed = |kind: &str, name: &str| live.get(kind).and_then(|objects| objects.get(name)).cloned();
    if let Some((error, refused)) = super::immutable::refused_change(&objects, listed, namespace) {
        return Err(Failure { error, done, not_applied: objects.iter().map(named).collect(), refused: Some(refused) });
    }
    // The link token before any pod that mounts it.
    match token::ensure(cluster, namespace, manifests.pipeline(), options.dry_run).await {
        Ok(step) => {
            on_step(&step);
            done.push(step);
        }
        Err(error) => {
            return Err(Failure { error, done, not_applied: objects.iter().map(named).collect(), refused: None })
        }
    }
    apply_all(cluster, namespace, &objects, &live, options, on_step, &mut done).await?;
    match prune(cluster, manifests, &objects, &live, options, on_step, &mut done).await {
        Ok(()) => Ok(done),
        Err(error) => Err(Failure { error, done, not_applied: Vec::new(), refused: None }),
    }
}

/// The namespace's live objects by kind and name, as listed before a
/// deploy changes anything: what each apply is compared with (an object
/// not there is created), and what pruning looks through for the
/// pipeline's own (an object the deploy creates is one the build emits, so
/// never one to prune). All of a kind, not only the pipeline's: an object
/// of the same name without the pipeline's labels is one the apply takes
/// over, and must be compared too.
type Live = BTreeMap<String, BTreeMap<String, DynamicObject>>;

async fn list_live(cluster: &Cluster, namespace: &str) -> Result<Live, ClusterError> {
    // All kinds at once: the server encodes large lists on every core.
    let params = ListParams::default();
    let lists =
        futures::future::join_all(kinds::all().iter().map(|resource| list_with(cluster, namespace, resource, &params)))
            .await;
    let mut live = Live::new();
    for (resource, objects) in kinds::all().iter().zip(lists) {
        live.insert(resource.kind.clone(), objects?.into_iter().map(|object| (name_of(&object), object)).collect());
    }
    Ok(live)
}

/// Carries every label of `lower::pipeline_labels`, as the server's label
/// selector would find it.
fn in_pipeline(object: &DynamicObject, pipeline: &str) -> bool {
    carries_pipeline_labels(object.metadata.labels.as_ref(), pipeline)
}

pub(super) fn carries_pipeline_labels(labels: Option<&BTreeMap<String, String>>, pipeline: &str) -> bool {
    pipeline_labels(pipeline).iter().all(|(key, value)| labels.and_then(|labels| labels.get(key)) == Some(value))
}

/// `Kind name`, how a failure lists objects.
fn named(object: &Object) -> String {
    format!("{} {}", object.kind(), object.name())
}

/// Applies `objects` in order, a batch of one kind at a time.
async fn apply_all(
    cluster: &Cluster,
    namespace: &str,
    objects: &[Object],
    live: &Live,
    options: ApplyOptions,
    on_step: &mut dyn FnMut(&Step),
    done: &mut Vec<Step>,
) -> Result<(), Failure> {
    let mut start = 0;
    while start < objects.len() {
        // A batch: objects of one kind, which never refer to each other,
        // so the order between kinds still holds.
        let kind = objects[start].kind();
        let end = start + objects[start..].iter().take(CONCURRENT_APPLIES).take_while(|o| o.kind() == kind).count();
        let batch = &objects[start..end];
        let results = futures::future::join_all(batch.iter().map(|object| {
            let listed = live.get(object.kind()).and_then(|objects| objects.get(object.name()));
            apply_one(cluster, namespace, object, listed, options)
        }))
        .await;
        let mut first_error = None;
        let mut failed = Vec::new();
        for (object, result) in batch.iter().zip(results) {
            match result {
                Ok(step) => {
                    on_step(&step);
                    done.push(step);
                }
                Err(error) => {
                    failed.push(named(object));
                    first_error.get_or_insert((error, object));
                }
            }
        }
        if let Some((error, object)) = first_error {
            failed.extend(objects[end..].iter().map(named));
            let refused = Some((object.kind().to_owned(), object.name().to_owned()));
            return Err(Failure { error, done: std::mem::take(done), not_applied: failed, refused });
        }
        start = end;
    }
    Ok(())
}

/// Deletes the pipeline's objects that `objects` (the new build) no longer
/// has, dependents first (workloads before what they use). Claims are only
/// reported: they hold data.
async fn prune(
    cluster: &Cluster,
    manifests: &Manifests,
    objects: &[Object],
    live: &Live,
    options: ApplyOptions,
    on_step: &mut dyn FnMut(&Step),
    done: &mut Vec<Step>,
) -> Result<(), ClusterError> {
    let namespace = manifests.namespace();
    let mut emitted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for object in objects {
        emitted.entry(object.kind()).or_default().insert(object.name());
    }
    let tasks: BTreeSet<&str> =
        objects.iter().filter_map(|object| object.metadata().labels.as_ref()?.get(TASK).map(String::as_str)).collect();
    for resource in kinds::all().iter().rev() {
        let kept = emitted.get(resource.kind.as_str());
        let pipelines =
            live.get(&resource.kind).into_iter().flatten().filter(|(_, o)| in_pipeline(o, manifests.pipeline()));
        for (name, object) in pipelines {
            if kept.is_some_and(|kept| kept.contains(name.as_str())) {
                continue;
            }
            let action = if kinds::holds_data(resource) {
                // A StatefulSet's own claims are never emitted: they are
                // left over only once their task is gone.
                if task_of(object).is_some_and(|task| tasks.contains(task)) {
                    continue;
                }
                Action::KeepData
            } else {
                delete(cluster, namespace, resource, name, options.dry_run).await?;
                Action::Prune
            };
            let step = Step { kind: resource.kind.clone(), name: name.clone(), action, changes: Vec::new() };
            on_step(&step);
            done.push(step);
        }
    }
    Ok(())
}

/// Stops before any write when the namespace is missing. Credentials that
/// may not read namespaces are no reason to stop: the applies will tell.
async fn ensure_namespace(cluster: &Cluster, namespace: &str) -> Result<(), ClusterError> {
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    match namespaces.get_opt(namespace).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => {
            Err(ClusterError::NamespaceMissing { cluster: cluster.name.clone(), namespace: namespace.to_owned() })
        }
        Err(kube::Error::Api(status)) if status.code == 403 => Ok(()),
        Err(error) => {
            let resource = ApiResource::erase::<Namespace>(&());
            Err(Attempt::on(&cluster.name, "get", &resource, namespace, namespace).failed(error))
        }
    }
}

/// Applies one object, unless that would change nothing; `listed` is the
/// object as the deploy's lists found it (`None`: there is none yet).
async fn apply_one(
    cluster: &Cluster,
    namespace: &str,
    object: &Object,
    listed: Option<&DynamicObject>,
    options: ApplyOptions,
) -> Result<Step, ClusterError> {
    let resource = kinds::of(object);
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), namespace, resource);
    let name = object.name();
    let failed = |verb: &'static str| {
        move |error: kube::Error| Attempt::on(&cluster.name, verb, resource, namespace, name).failed(error)
    };
    let live = listed.map(|live| serde_json::to_value(live).unwrap_or(Value::Null));
    // Written by `lower::json`, not by kube's serde_json: the server reads
    // an apply body with a YAML reader (see there).
    let refused = |e: serde_json::Error| ClusterError::Refused {
        verb: "patch",
        object: kinds::describe(object.kind(), namespace, name),
        code: 0,
        message: e.to_string(),
    };
    let text = koalja_compiler::lower::json::to_string(object);
    if let Some(live) = &live {
        let desired: Value = serde_json::from_str(&text).map_err(refused)?;
        if noop::apply_is_noop(&desired, live, FIELD_MANAGER) {
            return Ok(Step {
                kind: resource.kind.clone(),
                name: name.to_owned(),
                action: Action::Unchanged,
                changes: Vec::new(),
            });
        }
    }
    let body = serde_json::value::RawValue::from_string(text).map_err(refused)?;
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force_conflicts;
    params.dry_run = options.dry_run;
    let applied = api.patch(name, &params, &Patch::Apply(&body)).await.map_err(failed("patch"))?;
    let after = comparable(&serde_json::to_value(&applied).unwrap_or(Value::Null));
    let (action, changes) = match live {
        None => (Action::Create, Vec::new()),
        Some(live) => {
            let before = comparable(&live);
            let changes = changes(&before, &after);
            (if changes.is_empty() { Action::Unchanged } else { Action::Update }, changes)
        }
    };
    Ok(Step { kind: resource.kind.clone(), name: name.to_owned(), action, changes })
}

/// The pipeline's objects of one kind, found by its labels, by name.
pub(super) async fn list(
    cluster: &Cluster,
    namespace: &str,
    resource: &ApiResource,
    pipeline: &str,
) -> Result<Vec<DynamicObject>, ClusterError> {
    list_with(cluster, namespace, resource, &ListParams::default().labels(&pipeline_selector(pipeline))).await
}

async fn list_with(
    cluster: &Cluster,
    namespace: &str,
    resource: &ApiResource,
    params: &ListParams,
) -> Result<Vec<DynamicObject>, ClusterError> {
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), namespace, resource);
    let mut listed =
        api.list(params).await.map_err(|error| Attempt::list(&cluster.name, resource, namespace).failed(error))?.items;
    // A list's items come without their kind and apiVersion; give them back,
    // so that a listed object reads as the same object fetched by name.
    let types = TypeMeta { api_version: resource.api_version.clone(), kind: resource.kind.clone() };
    for object in &mut listed {
        object.types.get_or_insert_with(|| types.clone());
    }
    listed.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(listed)
}

/// The task an object belongs to: its `koalja.dev/task` label.
pub(super) fn task_of(object: &DynamicObject) -> Option<&str> {
    object.metadata.labels.as_ref()?.get(TASK).map(String::as_str)
}

/// An object's name (the API server always gives one).
pub(super) fn name_of(object: &DynamicObject) -> String {
    object.metadata.name.clone().unwrap_or_default()
}

pub(super) async fn delete(
    cluster: &Cluster,
    namespace: &str,
    resource: &ApiResource,
    name: &str,
    dry_run: bool,
) -> Result<(), ClusterError> {
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), namespace, resource);
    let params = DeleteParams { dry_run, ..DeleteParams::background() };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        // Gone already (deleted by hand, or by its owner): nothing to do.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(Attempt::on(&cluster.name, "delete", resource, namespace, name).failed(error)),
    }
}
