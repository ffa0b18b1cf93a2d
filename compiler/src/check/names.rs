//! Phase 7: Kubernetes names (LANGUAGE.md §4). Names become Kubernetes names
//! by lower-casing and turning `_` into `-` (`kubernetes_name`). A task's
//! objects are named `<pipeline>-<task>`, the gateway's `<pipeline>-gateway`.
//! A region's gateway is `<pipeline>-gateway-<region>` (`ir::gateways`).
//! Errors: two tasks, two wires or two regions' gateways that collide after
//! the mapping (K0039), and names that cannot be Kubernetes names: too long,
//! starting or ending with `-`, or a task named like a gateway (K0040).

use rustc_hash::FxHashMap;
use smol_str::SmolStr;

use super::items::Items;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Pipeline;
use crate::span::Span;

/// StatefulSet names longer than this break the `controller-revision-hash`
/// label (63 characters including an 11-character hash suffix).
pub const MAX_OBJECT_NAME: usize = 52;
/// Namespaces are DNS labels.
pub const MAX_NAMESPACE: usize = 63;
/// The task name that would collide with the gateway's objects.
pub const RESERVED_TASK_NAME: &str = "gateway";

/// The Kubernetes form of a name (inline, no allocation, up to 23 bytes).
pub fn kubernetes_name(name: &str) -> SmolStr {
    name.chars().map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }).collect()
}

/// A DNS-1123 label's characters (lower-case alphanumerics and `-`,
/// alphanumeric at both ends), whatever its length: what the checker calls
/// "not a valid Kubernetes name". Lengths are checked against the limit
/// that applies (`MAX_OBJECT_NAME`, `MAX_NAMESPACE`) and said "too long".
fn has_label_characters(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

pub(super) fn check(checker: &mut Checker<'_>, items: &Items<'_>, pipeline: &Pipeline) {
    let header_span = |namespace: bool| {
        items.header.map_or(Span::empty_at(0), |h| match (&h.namespace, namespace) {
            (Some(ns), true) => ns.span,
            _ => h.name.span,
        })
    };
    let namespace = kubernetes_name(&pipeline.namespace);
    if !has_label_characters(&namespace) {
        invalid(
            checker,
            header_span(true),
            format!("namespace `{}` is not a valid Kubernetes namespace", pipeline.namespace),
            &namespace,
        );
    } else if namespace.len() > MAX_NAMESPACE {
        checker.diagnostics.push(
            Diagnostic::new(
                Code::InvalidKubernetesName,
                header_span(true),
                format!(
                    "namespace `{}` is too long: {} characters, more than {MAX_NAMESPACE}",
                    pipeline.namespace,
                    namespace.len()
                ),
            )
            .help("a namespace is a DNS label; shorten it"),
        );
    }
    let pipeline_name = kubernetes_name(&pipeline.name);
    let gateway = format!("{pipeline_name}-{RESERVED_TASK_NAME}");
    let named_after_file = if items.header.is_none() { " (named after its file; add a `[name]` header)" } else { "" };
    if !has_label_characters(&pipeline_name) {
        let message = format!("pipeline name `{}` is not a valid Kubernetes name{named_after_file}", pipeline.name);
        invalid(checker, header_span(false), message, &pipeline_name);
    } else if gateway.len() > MAX_OBJECT_NAME {
        checker.diagnostics.push(
            Diagnostic::new(
                Code::InvalidKubernetesName,
                header_span(false),
                format!(
                    "pipeline name `{}` is too long: its gateway would be named `{gateway}`, {} characters, more than {MAX_OBJECT_NAME}{named_after_file}",
                    pipeline.name,
                    gateway.len()
                ),
            )
            .help("shorten the pipeline name"),
        );
    }

    let mut seen_tasks: FxHashMap<SmolStr, usize> = FxHashMap::default();
    for (id, wiring) in items.wirings.iter().enumerate() {
        let name = &wiring.task.text;
        let kube = kubernetes_name(name);
        let object_length = pipeline_name.len() + 1 + kube.len();
        let regional_gateway = pipeline
            .tasks
            .iter()
            .filter_map(|task| task.settings.region.as_deref())
            .any(|region| crate::ir::gateways::regional_name(region) == kube);
        if kube == RESERVED_TASK_NAME || regional_gateway {
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::InvalidKubernetesName,
                    wiring.task.span,
                    format!("`{name}` is a reserved task name"),
                )
                .help(format!(
                    "the pipeline's gateway objects are named `{gateway}`, and a region's `{gateway}-<region>`; rename the task"
                )),
            );
        } else if !has_label_characters(&kube) {
            invalid(checker, wiring.task.span, format!("task name `{name}` is not a valid Kubernetes name"), &kube);
        } else if object_length > MAX_OBJECT_NAME {
            let object = format!("{pipeline_name}-{kube}");
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::InvalidKubernetesName,
                    wiring.task.span,
                    format!(
                        "task name `{name}` is too long: its objects would be named `{object}`, {} characters, more than {MAX_OBJECT_NAME}",
                        object.len()
                    ),
                )
                .help("shorten the task name or the pipeline name"),
            );
        }
        match seen_tasks.get(&kube) {
            Some(&first) => collision(
                checker,
                "task",
                name,
                wiring.task.span,
                &items.wirings[first].task.text,
                items.wirings[first].task.span,
                &kube,
            ),
            None => {
                seen_tasks.insert(kube, id);
            }
        }
    }

    regional_gateways(checker, items, pipeline, &pipeline_name);

    let mut seen_wires: FxHashMap<SmolStr, usize> = FxHashMap::default();
    for (id, wire) in pipeline.wires.iter().enumerate() {
        let kube = kubernetes_name(&wire.name);
        match seen_wires.get(&kube) {
            Some(&first) => {
                let other = &pipeline.wires[first];
                collision(checker, "wire", &wire.name, wire.span, &other.name, other.span, &kube);
            }
            None => {
                seen_wires.insert(kube, id);
            }
        }
    }
}

/// Each region that gets a gateway (one with pipeline inputs or outputs)
/// names objects `<pipeline>-gateway-<region>`: that must fit, and two
/// regions must not map to one name (`eu_north` and `eu-north`).
fn regional_gateways(checker: &mut Checker<'_>, items: &Items<'_>, pipeline: &Pipeline, pipeline_name: &str) {
    let mut seen: FxHashMap<SmolStr, SmolStr> = FxHashMap::default();
    for gateway in crate::ir::gateways::gateways(pipeline) {
        let Some(region) = &gateway.region else { continue };
        let span = region_span(items, pipeline, region);
        let object = format!("{pipeline_name}-{}", gateway.kubernetes_name);
        if object.len() > MAX_OBJECT_NAME {
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::InvalidKubernetesName,
                    span,
                    format!(
                        "region `{region}` is too long for its gateway: the gateway's objects would be named `{object}`, {} characters, more than {MAX_OBJECT_NAME}",
                        object.len()
                    ),
                )
                .help("the region's pipeline inputs and outputs go through a gateway of its own; shorten the region or the pipeline name"),
            );
        }
        match seen.get(&gateway.kubernetes_name) {
            Some(first) => {
                let first_span = region_span(items, pipeline, first);
                collision(checker, "region", region, span, first, first_span, &gateway.kubernetes_name);
            }
            None => {
                seen.insert(gateway.kubernetes_name.clone(), region.clone());
            }
        }
    }
}

/// Where `region` is first set: a task block's `region:` value, or the
/// defaults' (the first task in that region's name when neither is found).
fn region_span(items: &Items<'_>, pipeline: &Pipeline, region: &str) -> Span {
    let value_span = |block: &crate::syntax::ast::Block| {
        block
            .entries
            .iter()
            .find(|entry| {
                entry.key.text == "region"
                    && matches!(&entry.value, crate::syntax::ast::Value::Str(text) if text.value == region)
            })
            .map(|entry| entry.value.span())
    };
    let tasks =
        pipeline.tasks.iter().zip(&items.wirings).filter(|(task, _)| task.settings.region.as_deref() == Some(region));
    let mut first_task = None;
    for (task, wiring) in tasks {
        first_task.get_or_insert(wiring.task.span);
        if let Some(span) = items.blocks.get(task.name.as_str()).and_then(|block| value_span(&block.body)) {
            return span;
        }
    }
    items.defaults.and_then(|defaults| value_span(&defaults.body)).or(first_task).unwrap_or(Span::empty_at(0))
}

fn invalid(checker: &mut Checker<'_>, span: Span, message: String, kube: &str) {
    checker.diagnostics.push(Diagnostic::new(Code::InvalidKubernetesName, span, message).help(format!(
        "its Kubernetes form `{kube}` must be lower-case letters, digits and `-`, starting and ending with a letter or digit"
    )));
}

fn collision(checker: &mut Checker<'_>, what: &str, name: &str, span: Span, other: &str, other_span: Span, kube: &str) {
    checker.diagnostics.push(
        Diagnostic::new(
            Code::KubernetesNameCollision,
            span,
            format!("{what} `{name}` and {what} `{other}` are both `{kube}` on Kubernetes"),
        )
        .label(other_span, format!("`{other}` is here"))
        .help("names are lower-cased and `_` becomes `-` on Kubernetes; rename one of them"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(has_label_characters("learn-tf"));
        assert!(!has_label_characters("-a"));
        assert!(!has_label_characters("a-"));
        assert!(!has_label_characters(""));
        assert!(!has_label_characters("Upper"));
        assert_eq!(kubernetes_name("In_Temp"), "in-temp");
    }
}
