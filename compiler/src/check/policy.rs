//! Phase 5: snapshot policies (LANGUAGE.md §3, static part). Decides each
//! task's policy (explicit, else `sliding-window` when an input has `[N/S]`,
//! else `all-new`), turns every buffer into a firing rule, and rejects the
//! combinations §3 forbids: `[M-N]` outside all-new (K0036), `[N/S]` outside
//! sliding-window (K0037), and anything but single values under
//! swap-new-for-old (K0038). Builds the model's tasks.

use super::items::Items;
use super::settings::ResolvedSettings;
use super::wires::Wires;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Firing, Launch, Pipeline, Policy, Task, TaskInput, TaskOutput};
use crate::span::Span;
use crate::syntax::ast::{BufferForm, Input};

pub(super) fn build_tasks(
    checker: &mut Checker<'_>,
    items: &Items<'_>,
    wires: &Wires<'_>,
    settings: Vec<ResolvedSettings>,
    pipeline: &mut Pipeline,
) {
    for (wiring, settings) in items.wirings.iter().zip(settings) {
        let has_window = wiring
            .inputs
            .items
            .iter()
            .any(|input| matches!(input.buffer().map(|b| b.form), Some(BufferForm::Window(..))));
        let explicit_policy = settings.policy;
        let policy = match explicit_policy {
            Some((policy, _)) => policy,
            None if has_window => Policy::SlidingWindow,
            None => Policy::AllNew,
        };
        let inputs = wiring
            .inputs
            .items
            .iter()
            .map(|input| TaskInput {
                name: input.name().text.clone(),
                wires: input.members.iter().filter_map(|m| wires.ids.get(m.wire.text.as_str()).copied()).collect(),
                wire_spans: input.members.iter().map(|m| m.wire.span).collect(),
                buffer: input.buffer().map(|b| b.form),
                firing: firing(checker, input, policy, explicit_policy.map(|(_, span)| span)),
                span: input.span,
            })
            .collect();
        let outputs = wiring
            .outputs
            .items
            .iter()
            .filter_map(|output| {
                wires.ids.get(output.wire.text.as_str()).map(|&wire| TaskOutput { wire, span: output.span })
            })
            .collect();
        let offers_service = wiring.outputs.items.iter().any(|output| output.implicit.is_some());
        let launch = settings.launch.unwrap_or(if offers_service || settings.service.is_some() {
            Launch::Restart
        } else {
            Launch::Auto
        });
        pipeline.tasks.push(Task {
            name: wiring.task.text.clone(),
            inputs,
            outputs,
            settings: crate::model::TaskSettings {
                image: settings.image,
                run: settings.run.map(|run| run.run),
                policy,
                launch,
                service_port: settings.service,
                env: settings.env,
                resources: settings.resources,
                region: settings.region.map(|(region, _)| region),
                timeout_ms: settings.timeout_ms,
                retries: settings.retries.unwrap_or(0),
                storage: settings.storage,
            },
            span: wiring.span,
            block_span: settings.block_span,
        });
    }
}

fn firing(checker: &mut Checker<'_>, input: &Input, policy: Policy, policy_span: Option<Span>) -> Firing {
    if input.implicit.is_some() {
        return Firing::Service;
    }
    let buffer = input.buffer();
    let form = buffer.map_or(BufferForm::Count(1), |b| b.form);
    let span = buffer.map_or(input.name().span, |b| b.span);
    let mut report = |code: Code, message: String, help: &str| {
        let mut diagnostic = Diagnostic::new(code, span, message).help(help);
        if let Some(policy_span) = policy_span {
            diagnostic = diagnostic.label(policy_span, format!("the task's policy is `{}`", policy.as_str()));
        }
        checker.diagnostics.push(diagnostic);
    };
    match (policy, form) {
        (Policy::AllNew, BufferForm::Count(n)) => Firing::Count { min: n, max: n },
        (Policy::AllNew, BufferForm::Range(min, max)) => Firing::Count { min, max },
        (Policy::AllNew, BufferForm::Window(size, slide)) => {
            report(
                Code::WindowNeedsSlidingWindow,
                "a sliding window `[N/S]` needs the `sliding-window` policy".to_owned(),
                "remove `policy: all-new` (a window implies `sliding-window`), or take `[N]` values per run",
            );
            Firing::Window { size, slide }
        }
        (Policy::SwapNewForOld, BufferForm::Count(1)) => Firing::Count { min: 1, max: 1 },
        (Policy::SwapNewForOld, other) => {
            report(
                Code::SwapNeedsSingleValues,
                "under `swap-new-for-old` every input takes one value".to_owned(),
                "swap-new-for-old reuses the newest value of each input; remove the buffer, or choose another policy",
            );
            match other {
                BufferForm::Window(size, slide) => Firing::Window { size, slide },
                BufferForm::Count(n) => Firing::Count { min: n, max: n },
                BufferForm::Range(min, max) => Firing::Count { min, max },
            }
        }
        (Policy::SlidingWindow, BufferForm::Count(n)) => Firing::Window { size: n, slide: n },
        (Policy::SlidingWindow, BufferForm::Window(size, slide)) => Firing::Window { size, slide },
        (Policy::SlidingWindow, BufferForm::Range(min, max)) => {
            report(
                Code::RangeNeedsAllNew,
                "a range `[M-N]` is only allowed under the `all-new` policy".to_owned(),
                "under `sliding-window` an input has a fixed window: write `[N]` (a tumbling window) or `[N/S]`",
            );
            Firing::Count { min, max }
        }
    }
}
