//! Phase 6: wire names in commands. A `command` or `shell` may name only the
//! task's own inputs and outputs (K0033); when it names any, every file
//! input and output should be named, or the program never sees it (K0052).
//! A name that is the right spelling of a misspelt input (K0016 suggests it)
//! is not reported: the input is the typo.
//! A merge goes by its first member's name; an implicit input expands to the
//! service's address; an implicit output has no files to name.

use super::items::Items;
use super::settings::ResolvedSettings;
use super::wires::Wires;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use smol_str::SmolStr;

/// What a name in a command can refer to within one task.
enum Named {
    /// A file input or output: fine.
    Files,
    /// An implicit input: expands to the service address.
    Service,
    /// A non-first member of a merge: the stream is named after `first`.
    MergeMember { first: SmolStr },
    /// An implicit output: the task serves it, there is nothing to expand.
    ServiceOutput,
}

pub(super) fn check(checker: &mut Checker<'_>, items: &Items<'_>, wires: &Wires<'_>, settings: &[ResolvedSettings]) {
    let mut names: Vec<(&str, Named)> = Vec::new();
    for (wiring, settings) in items.wirings.iter().zip(settings) {
        let Some(run) = &settings.run else { continue };
        if wiring.inputs.broken || wiring.outputs.broken {
            continue; // Names in the skipped part are unknown: say nothing.
        }
        // A task has a handful of wires: a list searched in order is cheaper
        // than a map built for every task.
        names.clear();
        for input in &wiring.inputs.items {
            let kind = if input.implicit.is_some() { Named::Service } else { Named::Files };
            names.push((&input.name().text, kind));
            for member in &input.members[1..] {
                names.push((&member.wire.text, Named::MergeMember { first: input.name().text.clone() }));
            }
        }
        for output in &wiring.outputs.items {
            let kind = if output.implicit.is_some() { Named::ServiceOutput } else { Named::Files };
            names.push((&output.wire.text, kind));
        }
        let from_defaults = if settings.run_from_defaults { " (from `defaults`)" } else { "" };
        // Wires a K0033 suggests are taken as named: `{otu}` is a typo for
        // `out`, and a second warning about `out` would say it again.
        let mut suggested: Vec<String> = Vec::new();
        for (name, span) in &run.named_wires {
            let problem = match names.iter().find(|(n, _)| *n == name.as_str()).map(|(_, kind)| kind) {
                Some(Named::Files | Named::Service) => continue,
                Some(Named::MergeMember { first }) => (
                    format!("`{name}` is merged into `{first}`"),
                    format!("a merge is one stream named after its first member; write `{first}`"),
                    Some(first.to_string()),
                ),
                Some(Named::ServiceOutput) => (
                    format!("`{name}` is a service output and has no files"),
                    "a service listens on its `service` port; its consumers get the address".to_owned(),
                    None,
                ),
                None => {
                    // `(stripd) count` with `{stripped}`: the input is the
                    // typo (K0016 suggests `stripped`), not the command;
                    // and the input counts as named.
                    let misspelt =
                        wiring.inputs.items.iter().map(|input| input.name().text.as_str()).find(|input| {
                            wires.misspelt.get(input).is_some_and(|suggested| *suggested == name.as_str())
                        });
                    if let Some(input) = misspelt {
                        suggested.push(input.to_owned());
                        continue;
                    }
                    let own: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                    let suggestion = checker.suggestions.closest(name, own.iter().copied()).map(str::to_owned);
                    let help = match &suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if own.is_empty() => {
                            format!("task `{}` has no inputs or outputs", wiring.task.text)
                        }
                        None => {
                            let mut own = own;
                            own.sort();
                            format!(
                                "task `{}` has {}",
                                wiring.task.text,
                                own.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                            )
                        }
                    };
                    (format!("`{name}` is not an input or output of task `{}`", wiring.task.text), help, suggestion)
                }
            };
            let (message, help, replacement) = problem;
            let mut diagnostic =
                Diagnostic::new(Code::CommandNamesForeignWire, *span, format!("{message}{from_defaults}"))
                    .label(wiring.span, format!("the wiring of `{}`", wiring.task.text))
                    .help(help);
            if let Some(replacement) = replacement {
                suggested.push(replacement.clone());
                let text = &checker.text[span.range()];
                // In a shell string the span covers `{name}`: keep the braces.
                let replacement = if text.starts_with('{') { format!("{{{replacement}}}") } else { replacement };
                diagnostic = diagnostic.fix(format!("replace with `{replacement}`"), *span, replacement);
            }
            checker.diagnostics.push(diagnostic);
        }
        if run.named_wires.is_empty() {
            continue;
        }
        let named = |name: &str| run.named_wires.iter().any(|(n, _)| n == name) || suggested.iter().any(|s| s == name);
        let mut unnamed: Vec<(Span, &str, &str)> = Vec::new();
        for input in wiring.inputs.items.iter().filter(|i| i.implicit.is_none()) {
            if !named(&input.name().text) {
                unnamed.push((input.span, &input.name().text, "input"));
            }
        }
        for output in wiring.outputs.items.iter().filter(|o| o.implicit.is_none()) {
            if !named(&output.wire.text) {
                unnamed.push((output.span, &output.wire.text, "output"));
            }
        }
        for (span, name, role) in unnamed {
            checker.diagnostics.push(
                Diagnostic::new(
                    Code::WireNotInCommand,
                    span,
                    format!("the {role} `{name}` is never named in the command of `{}`{from_defaults}", wiring.task.text),
                )
                .label(run.span, "this command names wires explicitly")
                .help(format!(
                    "name it (`{name}` in a command list, `{{{name}}}` in a shell) so the program gets its paths, or remove it from the wiring"
                )),
            );
        }
    }
}
