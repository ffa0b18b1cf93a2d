//! Phase 2: wires. Finds each wire's producer and consumers, decides which
//! wires are pipeline inputs and outputs (LANGUAGE.md §2.3), and checks the
//! shape of every input: buffer bounds (K0018), merge buffer placement
//! (K0019), implicit inputs (K0020), a wire listed twice (K0017), a wire
//! produced twice (K0015) and a wire produced by nobody (K0016).

use rustc_hash::FxHashMap;

use super::items::Items;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic, Edit, Fix};
use crate::model::{Wire, WireId, WireRole};
use crate::span::Span;
use crate::syntax::ast::{BufferForm, Input, Output};

/// The largest buffer or window, a guard against typos like `[10000000000]`
/// that would make an agent hold that many values.
pub const MAX_BUFFER: u64 = 1_000_000;

pub(super) struct Producer<'a> {
    pub task: usize,
    pub output: &'a Output,
}

pub(super) struct Consumer<'a> {
    pub task: usize,
    pub input: &'a Input,
    /// Which member of the input (0 unless a merge).
    pub member: usize,
}

impl Consumer<'_> {
    pub fn span(&self) -> Span {
        self.input.members[self.member].wire.span
    }
}

pub(super) struct WireEntry<'a> {
    pub name: &'a str,
    pub first_span: Span,
    pub producer: Option<Producer<'a>>,
    pub consumers: Vec<Consumer<'a>>,
    pub role: WireRole,
    /// Set by the types phase.
    pub implicit: bool,
    pub ty: smol_str::SmolStr,
}

pub(super) struct Wires<'a> {
    pub entries: Vec<WireEntry<'a>>,
    pub ids: FxHashMap<&'a str, WireId>,
    /// Each wire reported unproduced (K0016) with a suggestion, and the
    /// produced wire it suggested: a command naming the suggested wire
    /// follows the right spelling, and is not reported for it (command.rs).
    pub misspelt: FxHashMap<&'a str, &'a str>,
}

impl<'a> Wires<'a> {
    fn id(&mut self, name: &'a str, span: Span) -> WireId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.entries.len();
        self.entries.push(WireEntry {
            name,
            first_span: span,
            producer: None,
            consumers: Vec::new(),
            role: WireRole::Internal,
            implicit: false,
            ty: "file".into(),
        });
        self.ids.insert(name, id);
        id
    }

    pub fn to_model(&self) -> Vec<Wire> {
        self.entries
            .iter()
            .map(|entry| {
                let mut consumers: Vec<usize> = entry.consumers.iter().map(|c| c.task).collect();
                consumers.dedup();
                Wire {
                    name: entry.name.into(),
                    ty: entry.ty.clone(),
                    implicit: entry.implicit,
                    role: entry.role,
                    producer: entry.producer.as_ref().map(|p| p.task),
                    consumers,
                    span: entry.first_span,
                }
            })
            .collect()
    }
}

pub(super) fn resolve<'a>(checker: &mut Checker<'_>, items: &Items<'a>) -> Wires<'a> {
    let mut wires = Wires { entries: Vec::new(), ids: FxHashMap::default(), misspelt: FxHashMap::default() };
    for (task, wiring) in items.wirings.iter().enumerate() {
        let mut seen_in_inputs: FxHashMap<&str, Span> = FxHashMap::default();
        for input in &wiring.inputs.items {
            check_input_shape(checker, input);
            for (member_index, member) in input.members.iter().enumerate() {
                report_repeat(checker, &mut seen_in_inputs, &member.wire.text, member.wire.span, "inputs");
                let id = wires.id(&member.wire.text, member.wire.span);
                wires.entries[id].consumers.push(Consumer { task, input, member: member_index });
            }
        }
        let mut seen_in_outputs: FxHashMap<&str, Span> = FxHashMap::default();
        for output in &wiring.outputs.items {
            report_repeat(checker, &mut seen_in_outputs, &output.wire.text, output.wire.span, "outputs");
            let id = wires.id(&output.wire.text, output.wire.span);
            match &wires.entries[id].producer {
                Some(first) if first.task != task => checker.diagnostics.push(
                    Diagnostic::new(
                        Code::WireProducedTwice,
                        output.wire.span,
                        format!("wire `{}` is produced by more than one task", output.wire.text),
                    )
                    .label(first.output.wire.span, format!("also produced by `{}` here", items.wirings[first.task].task.text))
                    .help("a wire has one producer; give one of the outputs another name and merge them where they are consumed: `(a + b)`"),
                ),
                Some(_) => {} // Listed twice in one statement: reported above.
                None => wires.entries[id].producer = Some(Producer { task, output }),
            }
        }
    }
    assign_roles(checker, &mut wires, items);
    wires
}

fn report_repeat<'a>(
    checker: &mut Checker<'_>,
    seen: &mut FxHashMap<&'a str, Span>,
    name: &'a str,
    span: Span,
    list: &str,
) {
    if let Some(&first) = seen.get(name) {
        checker.diagnostics.push(
            Diagnostic::new(Code::DuplicateWireInList, span, format!("wire `{name}` is listed twice in the {list}"))
                .label(first, "first listed here")
                .help("list each wire once"),
        );
    } else {
        seen.insert(name, span);
    }
}

fn check_input_shape(checker: &mut Checker<'_>, input: &Input) {
    let last = input.members.len() - 1;
    for (index, member) in input.members.iter().enumerate() {
        let Some(buffer) = &member.buffer else {
            continue;
        };
        check_buffer_bounds(checker, buffer.form, buffer.span);
        if index != last {
            let mut diagnostic = Diagnostic::new(
                Code::MisplacedMergeBuffer,
                buffer.span,
                "a buffer on a merge goes after its last member",
            )
            .label(input.span, "the merged stream, which the buffer applies to")
            .help(format!(
                "members are merged into one stream first; write `{} + {}{}`",
                input.members[0].wire.text,
                input.members[last].wire.text,
                checker.text[buffer.span.range()].trim()
            ));
            if input.members[last].buffer.is_none() {
                let last_end = input.members[last].wire.span.end;
                diagnostic.fixes.push(Fix {
                    title: "move the buffer after the last member".to_owned(),
                    edits: vec![
                        Edit { span: buffer.span, replacement: String::new() },
                        Edit {
                            span: Span::empty_at(last_end),
                            replacement: checker.text[buffer.span.range()].to_owned(),
                        },
                    ],
                });
            }
            checker.diagnostics.push(diagnostic);
        }
    }
    if let Some(implicit) = input.implicit {
        if input.is_merge() {
            checker.diagnostics.push(
                Diagnostic::new(Code::InvalidImplicitInput, implicit, "a merge cannot be implicit")
                    .label(input.span, "this merge")
                    .help("an implicit input is one service; list each service as its own `x implicit` input"),
            );
        } else if let Some(buffer) = input.buffer() {
            checker.diagnostics.push(
                Diagnostic::new(Code::InvalidImplicitInput, buffer.span, "an implicit input takes no buffer")
                    .label(implicit, "implicit: it never triggers a run")
                    .help("a service is called, not collected; remove the buffer")
                    .fix("remove the buffer", buffer.span, ""),
            );
        }
    }
}

fn check_buffer_bounds(checker: &mut Checker<'_>, form: BufferForm, span: Span) {
    // The parser reads an integer too large for u64 as u64::MAX and reports
    // K0006; bounds on that number would only repeat the same mistake.
    let overflowed = match form {
        BufferForm::Count(n) => n == u64::MAX,
        BufferForm::Range(a, b) | BufferForm::Window(a, b) => a == u64::MAX || b == u64::MAX,
    };
    if overflowed {
        return;
    }
    let problem = match form {
        BufferForm::Count(0) => Some("a buffer takes at least 1 value".to_owned()),
        BufferForm::Range(0, _) => Some("the minimum of a range is at least 1".to_owned()),
        BufferForm::Range(min, max) if min > max => Some(format!("the minimum {min} is larger than the maximum {max}")),
        BufferForm::Window(0, _) => Some("a window holds at least 1 value".to_owned()),
        BufferForm::Window(_, 0) => Some("a window slides at least 1 position".to_owned()),
        BufferForm::Window(size, slide) if slide > size => {
            Some(format!("the window slides {slide} positions but holds only {size}"))
        }
        _ => None,
    };
    let largest = match form {
        BufferForm::Count(n) => n,
        BufferForm::Range(_, n) | BufferForm::Window(n, _) => n,
    };
    let problem = problem
        .or_else(|| (largest > MAX_BUFFER).then(|| format!("{largest} values is more than the limit of {MAX_BUFFER}")));
    if let Some(message) = problem {
        checker.diagnostics.push(
            Diagnostic::new(Code::InvalidBuffer, span, message)
                .help("buffers are `[N]` (N ≥ 1), `[M-N]` (1 ≤ M ≤ N) or `[N/S]` (1 ≤ S ≤ N)"),
        );
    }
}

fn assign_roles(checker: &mut Checker<'_>, wires: &mut Wires<'_>, items: &Items<'_>) {
    let produced: Vec<&str> =
        wires.entries.iter().filter(|entry| entry.producer.is_some()).map(|entry| entry.name).collect();
    for entry in &mut wires.entries {
        entry.role = match (&entry.producer, entry.consumers.is_empty()) {
            (Some(producer), true) if producer.output.implicit.is_none() => WireRole::PipelineOutput,
            (Some(_), _) => WireRole::Internal,
            (None, _) if entry.name.starts_with("in") => WireRole::PipelineInput,
            (None, _) => {
                // Implicit consumers of a missing service are K0026, in
                // types. Held back while text the parser skipped could
                // produce it; any other wire is still reported as you type.
                let held_back = items.skip_could_name(entry.name);
                if !held_back && entry.consumers.iter().all(|c| c.input.implicit.is_none()) {
                    if let Some(suggested) = report_unproduced(checker, entry, &produced) {
                        wires.misspelt.insert(entry.name, suggested);
                    }
                }
                WireRole::Internal
            }
        };
    }
}

/// Reports `entry` unproduced; returns the produced wire it suggests.
fn report_unproduced<'a>(checker: &mut Checker<'_>, entry: &WireEntry<'_>, produced: &[&'a str]) -> Option<&'a str> {
    let mut spans: Vec<Span> = entry.consumers.iter().map(Consumer::span).collect();
    spans.sort();
    spans.dedup();
    let mut diagnostic = Diagnostic::new(
        Code::UnproducedWire,
        spans[0],
        format!("wire `{}` is consumed but never produced", entry.name),
    );
    for &span in &spans[1..] {
        diagnostic = diagnostic.label(span, "also consumed here");
    }
    let suggested = checker.suggestions.closest(entry.name, produced.iter().copied());
    match suggested {
        Some(suggestion) => {
            diagnostic = diagnostic.help(format!("did you mean `{suggestion}`?"));
            diagnostic.fixes.push(Fix {
                title: format!("rename to `{suggestion}`"),
                edits: spans.iter().map(|&span| Edit { span, replacement: suggestion.to_owned() }).collect(),
            });
        }
        None => {
            diagnostic = diagnostic.help(format!(
                "only wires whose names start with `in` are pipeline inputs; produce `{0}` with a task, or rename it `in_{0}` to feed it from outside",
                entry.name
            ));
        }
    }
    checker.diagnostics.push(diagnostic);
    suggested
}
