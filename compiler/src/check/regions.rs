//! Phase 8: regions (LANGUAGE.md §4). A wire whose producer and consumer may
//! run in different regions carries data across a boundary, which only
//! wires of a type declared `export` may do (K0041). A task without `region`
//! may run anywhere, so it differs from every pinned task; two unpinned tasks
//! never differ. A pipeline input belongs to its consumers' region, so one
//! consumed in two regions crosses too; a pipeline output belongs to its
//! producer's region and never crosses.

use super::items::Items;
use super::types::TypeTable;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Pipeline, TaskId, WireRole};
use crate::span::Span;

pub(super) fn check(checker: &mut Checker<'_>, items: &Items<'_>, types: &TypeTable, pipeline: &Pipeline) {
    let region = |task: TaskId| pipeline.tasks[task].settings.region.as_deref();
    let describe = |task: TaskId| match region(task) {
        Some(region) => format!("`{}` runs in `{region}`", pipeline.tasks[task].name),
        None => format!("`{}` has no region, so it may run anywhere", pipeline.tasks[task].name),
    };
    let place = |task: TaskId| match region(task) {
        Some(region) => format!("region `{region}`"),
        None => "any region".to_owned(),
    };
    for wire in &pipeline.wires {
        let exported = types.get(&wire.ty).is_some_and(|def| def.export);
        if exported {
            continue;
        }
        // The end that fixes the wire's region: its producer, or for a
        // pipeline input its first consumer.
        let anchor = match (wire.producer, wire.role) {
            (Some(producer), _) => producer,
            (None, WireRole::PipelineInput) => match wire.consumers.first() {
                Some(&first) => first,
                None => continue,
            },
            (None, _) => continue,
        };
        for &consumer in &wire.consumers {
            if consumer == anchor || region(consumer) == region(anchor) {
                continue;
            }
            let consumer_at = consumer_span(items, consumer, &wire.name);
            let anchor_span = if wire.producer.is_some() {
                output_span(items, anchor, &wire.name)
            } else {
                consumer_span(items, anchor, &wire.name)
            };
            let mut diagnostic = Diagnostic::new(
                Code::RegionCrossing,
                consumer_at,
                format!(
                    "wire `{}` would carry data across a region boundary, from {} to {}",
                    wire.name,
                    place(anchor),
                    place(consumer)
                ),
            )
            .label(anchor_span, describe(anchor));
            diagnostic = match items.types.iter().find(|decl| decl.name.text == wire.ty) {
                Some(decl) => diagnostic
                    .help(format!(
                        "only wires of a type declared `export` may cross regions; if `{}` data may leave its region, declare `type {} = … export`",
                        wire.ty, wire.ty
                    ))
                    .fix(format!("add `export` to type `{}`", wire.ty), Span::empty_at(decl.span.end), " export"),
                None => diagnostic.help(format!(
                    "pin both tasks to one region, or declare an exported type for what may leave (`type summary = file \"text/csv\" export`) and annotate `{}` with it",
                    wire.name
                )),
            };
            checker.diagnostics.push(diagnostic);
        }
    }
}

fn consumer_span(items: &Items<'_>, task: TaskId, wire: &str) -> Span {
    let wiring = items.wirings[task];
    wiring
        .inputs
        .items
        .iter()
        .flat_map(|input| &input.members)
        .find(|member| member.wire.text == wire)
        .map_or(wiring.task.span, |member| member.wire.span)
}

fn output_span(items: &Items<'_>, task: TaskId, wire: &str) -> Span {
    let wiring = items.wirings[task];
    wiring.outputs.items.iter().find(|output| output.wire.text == wire).map_or(wiring.task.span, |o| o.wire.span)
}
