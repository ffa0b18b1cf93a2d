//! Would an apply change nothing? Deciding it without sending the apply is
//! what makes a re-deploy of an unchanged pipeline cost one list per kind
//! instead of a request per object.
//!
//! Server-side apply with the same body and the same field manager changes
//! an object exactly when (a) some field in the body has another value live,
//! or (b) the set of fields the manager owns would change: the body drops a
//! field the last apply set (the server removes it), or sets one the manager
//! does not own yet (another manager took it over, or it is new). So an apply
//! is skipped only when
//! - every value in the body is the live value (`within`: maps by key,
//!   lists of the same length element by element; the server's defaults are
//!   extra fields and do not count), and
//! - the fields `koaljac` owns by its last apply (`metadata.managedFields`,
//!   in the server's `fieldsV1` notation) are exactly the fields of the body:
//!   each owned field is in the body (`owned_in_body`) and each field of the
//!   body is owned (`body_owned`).
//!
//! Anything unclear (no apply entry of ours, a key form not understood, a
//! value the server normalised, such as a quantity) counts as a change: the
//! apply is then sent, which is always correct, only slower.

use serde_json::{Map, Value};

/// True when applying `desired` (the body, as JSON) with field manager
/// `manager` to `live` (the object as the server returns it, with
/// `managedFields`) would change nothing.
pub fn apply_is_noop(desired: &Value, live: &Value, manager: &str) -> bool {
    let Some(owned) = applied_fields(live, manager) else {
        return false;
    };
    within(desired, live) && owned_in_body(owned, desired) && body_owned(desired, owned, true)
}

/// The `fieldsV1` of `manager`'s apply entry (not a subresource's), when it
/// has exactly one.
fn applied_fields<'a>(live: &'a Value, manager: &str) -> Option<&'a Map<String, Value>> {
    let entries = live.pointer("/metadata/managedFields")?.as_array()?;
    let mut ours = entries.iter().filter(|entry| {
        entry.get("manager").and_then(Value::as_str) == Some(manager)
            && entry.get("operation").and_then(Value::as_str) == Some("Apply")
            && entry.get("subresource").and_then(Value::as_str).is_none_or(str::is_empty)
    });
    let entry = ours.next()?;
    if ours.next().is_some() {
        return None;
    }
    entry.get("fieldsV1")?.as_object()
}

/// Every value of `desired` is in `live` with the same value.
fn within(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(want), Value::Object(have)) => {
            want.iter().all(|(key, value)| have.get(key).is_some_and(|live| within(value, live)))
        }
        (Value::Array(want), Value::Array(have)) => {
            want.len() == have.len() && want.iter().zip(have).all(|(value, live)| within(value, live))
        }
        _ => desired == live,
    }
}

/// Every field in `owned` (a `fieldsV1` set) is set by `body`.
fn owned_in_body(owned: &Map<String, Value>, body: &Value) -> bool {
    owned.iter().all(|(key, below)| {
        let below = below.as_object();
        let deeper = |value: &Value| below.is_none_or(|below| owned_in_body(below, value));
        if key == "." {
            return true;
        }
        if let Some(name) = key.strip_prefix("f:") {
            return body.get(name).is_some_and(deeper);
        }
        let Some(items) = body.as_array() else {
            return false;
        };
        match element_key(key) {
            Some(ElementKey::Fields(fields)) => items.iter().any(|item| matches_key(item, &fields) && deeper(item)),
            Some(ElementKey::Value(value)) => items.contains(&value),
            Some(ElementKey::Index(index)) => items.get(index).is_some_and(deeper),
            None => false,
        }
    })
}

/// Every field `body` sets is in `owned`. `top` skips what identifies the
/// object rather than being one of its fields (`apiVersion`, `kind`,
/// `metadata.name`, `metadata.namespace`).
fn body_owned(body: &Value, owned: &Map<String, Value>, top: bool) -> bool {
    // An owned field with nothing below it is owned whole (a scalar, an
    // atomic list or map, an empty object).
    if owned.is_empty() && !top {
        return true;
    }
    match body {
        Value::Object(fields) => fields.iter().all(|(name, value)| {
            if top && matches!(name.as_str(), "apiVersion" | "kind") {
                return true;
            }
            let below = owned.get(&format!("f:{name}")).and_then(Value::as_object);
            match below {
                _ if top && name == "metadata" => body_owned_metadata(value, below.unwrap_or(&Map::new())),
                Some(below) => body_owned(value, below, false),
                None => false,
            }
        }),
        Value::Array(items) => items.iter().enumerate().all(|(index, item)| {
            owned.iter().any(|(key, below)| {
                let below = below.as_object();
                let element = match element_key(key) {
                    Some(ElementKey::Fields(fields)) => matches_key(item, &fields),
                    Some(ElementKey::Value(value)) => &value == item,
                    Some(ElementKey::Index(at)) => at == index,
                    None => false,
                };
                element && below.is_none_or(|below| body_owned(item, below, false))
            })
        }),
        // A scalar where the owned set goes deeper: the shape changed.
        _ => false,
    }
}

fn body_owned_metadata(metadata: &Value, owned: &Map<String, Value>) -> bool {
    let Some(fields) = metadata.as_object() else {
        return false;
    };
    fields.iter().all(|(name, value)| {
        matches!(name.as_str(), "name" | "namespace")
            || owned
                .get(&format!("f:{name}"))
                .and_then(Value::as_object)
                .is_some_and(|below| body_owned(value, below, false))
    })
}

/// How `fieldsV1` names a list element.
enum ElementKey {
    /// `k:{"name":"task"}`: an element of an associative list, by its keys.
    Fields(Map<String, Value>),
    /// `v:"value"`: an element of a set, by its value.
    Value(Value),
    /// `i:3`: an element by position.
    Index(usize),
}

fn element_key(key: &str) -> Option<ElementKey> {
    if let Some(json) = key.strip_prefix("k:") {
        return match serde_json::from_str(json).ok()? {
            Value::Object(fields) if !fields.is_empty() => Some(ElementKey::Fields(fields)),
            _ => None,
        };
    }
    if let Some(json) = key.strip_prefix("v:") {
        return serde_json::from_str(json).ok().map(ElementKey::Value);
    }
    key.strip_prefix("i:")?.parse().ok().map(ElementKey::Index)
}

/// `item` is the element `fields` names: each key field it sets has that
/// value, and it sets at least one. A key field it leaves out is one the
/// server defaulted (a port's `protocol`).
fn matches_key(item: &Value, fields: &Map<String, Value>) -> bool {
    let mut named = false;
    for (name, value) in fields {
        match item.get(name) {
            Some(have) if have == value => named = true,
            Some(_) => return false,
            None => {}
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A ConfigMap-like and a workload-like body, as `koaljac` applies them.
    fn body() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": { "name": "p-a", "namespace": "ns", "labels": { "app": "p" } },
            "spec": {
                "replicas": 1,
                "template": { "spec": { "containers": [
                    { "name": "task", "image": "busybox", "args": ["x", "y"],
                      "ports": [{ "containerPort": 7400, "name": "link" }] }
                ] } }
            }
        })
    }

    fn fields() -> Value {
        json!({
            "f:metadata": { "f:labels": { "f:app": {} } },
            "f:spec": {
                "f:replicas": {},
                "f:template": { "f:spec": { "f:containers": {
                    "k:{\"name\":\"task\"}": {
                        ".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                        "f:ports": { "k:{\"containerPort\":7400,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}, "f:name": {}
                        } }
                    }
                } } }
            }
        })
    }

    /// The live object: the body plus the server's defaults and bookkeeping.
    fn live(fields: Value) -> Value {
        let mut live = body();
        live["metadata"]["resourceVersion"] = json!("12");
        live["metadata"]["managedFields"] = json!([
            { "manager": "koaljac", "operation": "Apply", "fieldsV1": fields },
            { "manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
              "fieldsV1": { "f:status": { "f:replicas": {} } } }
        ]);
        live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
        live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
        live["status"] = json!({ "replicas": 1 });
        live
    }

    #[test]
    fn the_same_body_over_its_own_apply_is_a_noop() {
        assert!(apply_is_noop(&body(), &live(fields()), "koaljac"));
    }

    #[test]
    fn a_changed_value_is_a_change() {
        let mut desired = body();
        desired["spec"]["template"]["spec"]["containers"][0]["image"] = json!("alpine");
        assert!(!apply_is_noop(&desired, &live(fields()), "koaljac"));
        let mut desired = body();
        desired["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["x"]);
        assert!(!apply_is_noop(&desired, &live(fields()), "koaljac"));
    }

    #[test]
    fn a_field_the_body_no_longer_sets_is_a_change() {
        // The last apply set the label; the server removes it only if the
        // apply is sent.
        let mut desired = body();
        desired["metadata"]["labels"] = json!({});
        assert!(!apply_is_noop(&desired, &live(fields()), "koaljac"));
    }

    #[test]
    fn a_field_that_another_manager_owns_is_a_change() {
        // `kubectl apply --force-conflicts` took the image over: same
        // value, but `koaljac` no longer owns it.
        let mut owned = fields();
        owned["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"task\"}"]
            .as_object_mut()
            .unwrap()
            .remove("f:image");
        assert!(!apply_is_noop(&body(), &live(owned), "koaljac"));
    }

    #[test]
    fn drift_in_a_live_value_is_a_change() {
        let mut live = live(fields());
        live["spec"]["replicas"] = json!(3);
        assert!(!apply_is_noop(&body(), &live, "koaljac"));
    }

    #[test]
    fn without_an_apply_of_ours_it_is_a_change() {
        assert!(!apply_is_noop(&body(), &live(fields()), "someone-else"));
        let mut live = live(fields());
        live["metadata"].as_object_mut().unwrap().remove("managedFields");
        assert!(!apply_is_noop(&body(), &live, "koaljac"));
    }

    #[test]
    fn list_elements_are_found_by_key_value_or_index() {
        let body = json!({ "a": ["x", "y"], "b": [{ "n": 1 }] });
        let owned = json!({ "f:a": { "v:\"x\"": {}, "v:\"y\"": {} }, "f:b": { "i:0": { "f:n": {} } } });
        assert!(body_owned(&body, owned.as_object().unwrap(), false));
        assert!(owned_in_body(owned.as_object().unwrap(), &body));
        let fewer = json!({ "a": ["x"], "b": [{ "n": 1 }] });
        assert!(!owned_in_body(owned.as_object().unwrap(), &fewer));
        assert!(!body_owned(&json!({ "a": ["z"] }), owned.as_object().unwrap(), false));
        assert!(!owned_in_body(&json!({ "q:odd": {} }).as_object().unwrap().clone(), &json!([1])));
    }
}
