//! What the API server will not change on a live object, found before a
//! deploy writes anything: a StatefulSet's claim template (its claims'
//! size, from a task's `storage:`) is fixed once the StatefulSet exists.
//! Applied, the change is refused with a dump of Go structs after the
//! objects before it were written; found here, nothing is written and the
//! user is told what to do.

use koalja_compiler::lower::Object;
use kube::api::DynamicObject;
use serde_json::Value;

use super::{kinds, ClusterError};

/// The first object of `objects` whose change from its live version
/// (`live`, by kind and name) the API server would refuse, as the error
/// that says so and the object's kind and name.
pub fn refused_change(
    objects: &[Object],
    live: impl Fn(&str, &str) -> Option<DynamicObject>,
    namespace: &str,
) -> Option<(ClusterError, (String, String))> {
    objects.iter().filter(|object| object.kind() == "StatefulSet").find_map(|object| {
        let listed = live(object.kind(), object.name())?;
        let desired: Value = serde_json::from_str(&koalja_compiler::lower::json::to_string(object)).ok()?;
        let (wanted, now) = (claim_sizes(&desired), claim_sizes(&serde_json::to_value(&listed).ok()?));
        if wanted == now {
            return None;
        }
        let name = object.name();
        let shown = |sizes: &[(String, String)]| {
            sizes.iter().map(|(claim, size)| format!("{claim} {size}")).collect::<Vec<_>>().join(", ")
        };
        let claims: Vec<String> = now.iter().map(|(claim, _)| format!("{claim}-{name}-0")).collect();
        let size = wanted.first().map(|(_, size)| size.as_str()).unwrap_or("SIZE");
        let error = ClusterError::Immutable {
            object: kinds::describe(object.kind(), namespace, name),
            what: format!("its claims' size (live: {}; the file: {})", shown(&now), shown(&wanted)),
            remedy: format!(
                "to grow a claim where its StorageClass allows expansion: \
                 kubectl -n {namespace} patch pvc {} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{size}\"}}}}}}}}', \
                 then kubectl -n {namespace} delete statefulset {name} --cascade=orphan (its claims and their data stay) \
                 and deploy again",
                claims.join(" "),
            ),
        };
        Some((error, (object.kind().to_owned(), name.to_owned())))
    })
}

/// Each claim template's name and requested storage.
fn claim_sizes(statefulset: &Value) -> Vec<(String, String)> {
    let templates = statefulset.pointer("/spec/volumeClaimTemplates").and_then(Value::as_array);
    templates
        .into_iter()
        .flatten()
        .map(|template| {
            let text = |path: &str| template.pointer(path).and_then(Value::as_str).unwrap_or_default().to_owned();
            (text("/metadata/name"), text("/spec/resources/requests/storage"))
        })
        .collect()
}
