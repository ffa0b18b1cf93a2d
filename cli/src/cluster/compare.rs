//! Live objects against what an apply makes of them. The server fills in
//! bookkeeping on every object (resource version, managed fields, status, …);
//! that is removed before comparing, so "unchanged" means that nothing a
//! user set or the server defaulted from it would change.

use serde_json::Value;

/// Metadata the server keeps for itself.
const SERVER_METADATA: &[&str] =
    &["resourceVersion", "generation", "managedFields", "creationTimestamp", "uid", "selfLink"];

/// `object` without the server's bookkeeping and without `status`.
pub fn comparable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(fields) = object.as_object_mut() {
        fields.remove("status");
        if let Some(metadata) = fields.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in SERVER_METADATA {
                metadata.remove(*key);
            }
        }
    }
    object
}

/// One field that differs: its path (`.spec.replicas`,
/// `.spec.template.spec.containers[0].image`) and both values (`None` where
/// the field is absent).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The fields that differ between `before` and `after` (both comparable),
/// in document order, as deep as both sides are objects or equal-length
/// arrays.
pub fn changes(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut found = Vec::new();
    walk(String::new(), Some(before), Some(after), &mut found);
    found
}

fn walk(path: String, before: Option<&Value>, after: Option<&Value>, found: &mut Vec<FieldChange>) {
    match (before, after) {
        (Some(a), Some(b)) if a == b => {}
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))).collect();
            keys.sort();
            for key in keys {
                walk(format!("{path}.{key}"), a.get(key), b.get(key), found);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                walk(format!("{path}[{index}]"), Some(x), Some(y), found);
            }
        }
        (None, None) => {}
        _ => found.push(FieldChange { path, before: before.cloned(), after: after.cloned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bookkeeping_and_status_do_not_count() {
        let live = json!({ "metadata": { "name": "a", "resourceVersion": "7", "managedFields": [] }, "status": {} });
        assert_eq!(comparable(&live), json!({ "metadata": { "name": "a" } }));
    }

    #[test]
    fn changes_name_each_field_by_its_path() {
        let before = json!({ "spec": { "replicas": 1, "containers": [{ "image": "a" }], "gone": true } });
        let after = json!({ "spec": { "replicas": 1, "containers": [{ "image": "b" }], "new": 3 } });
        let paths: Vec<(String, Option<Value>, Option<Value>)> =
            changes(&before, &after).into_iter().map(|c| (c.path, c.before, c.after)).collect();
        assert_eq!(
            paths,
            vec![
                (".spec.containers[0].image".to_owned(), Some(json!("a")), Some(json!("b"))),
                (".spec.gone".to_owned(), Some(json!(true)), None),
                (".spec.new".to_owned(), None, Some(json!(3))),
            ]
        );
        assert!(changes(&before, &before).is_empty());
    }
}
