//! Phase 3: types. Declared types (K0022, K0023), each wire's type from its
//! annotations (K0021, K0024), merge members of one type (K0025), and
//! implicit wires joining a service output to service inputs (K0026).

use rustc_hash::{FxHashMap, FxHashSet};

use super::items::Items;
use super::wires::Wires;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{PayloadKind, TypeDef};
use crate::span::Span;
use crate::syntax::ast::Name;
use smol_str::SmolStr;

/// The built-in types (LANGUAGE.md §2.4), each as if declared.
pub const BUILTIN_TYPES: [(&str, PayloadKind, Option<&str>); 6] = [
    ("file", PayloadKind::File, None),
    ("dir", PayloadKind::Dir, None),
    ("text", PayloadKind::File, Some("text/plain")),
    ("json", PayloadKind::File, Some("application/json")),
    ("csv", PayloadKind::File, Some("text/csv")),
    ("service", PayloadKind::Service, None),
];

pub(super) struct TypeTable {
    types: FxHashMap<String, TypeDef>,
    declared: Vec<TypeDef>,
}

impl TypeTable {
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    pub fn declared(&self) -> Vec<TypeDef> {
        self.declared.clone()
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }
}

pub(super) fn declare(checker: &mut Checker<'_>, items: &Items<'_>) -> TypeTable {
    let mut types: FxHashMap<String, TypeDef> = BUILTIN_TYPES
        .iter()
        .map(|&(name, kind, mime)| {
            let def = TypeDef {
                name: name.into(),
                kind,
                mime: mime.map(SmolStr::from),
                export: false,
                span: Span::default(),
            };
            (name.to_owned(), def)
        })
        .collect();
    let mut declared = Vec::new();
    for decl in &items.types {
        if decl.name.text == "service" {
            checker.diagnostics.push(
                Diagnostic::new(Code::DuplicateType, decl.name.span, "`service` is built in and cannot be redeclared")
                    .help("`service` is the type of every implicit wire; choose another name"),
            );
            continue;
        }
        let kind = match decl.base.text.as_str() {
            "file" => PayloadKind::File,
            "dir" => PayloadKind::Dir,
            other => {
                let mut diagnostic = Diagnostic::new(
                    Code::InvalidTypeBase,
                    decl.base.span,
                    format!("a type is a `file` or a `dir`, not `{other}`"),
                );
                diagnostic = match super::suggest::closest(other, ["file", "dir"]) {
                    Some(s) => diagnostic.help(format!("did you mean `{s}`?")).fix(
                        format!("replace with `{s}`"),
                        decl.base.span,
                        s,
                    ),
                    None => {
                        diagnostic.help("write `type name = file \"mime/type\"` or `type name = dir \"mime/type\"`")
                    }
                };
                checker.diagnostics.push(diagnostic);
                // Still declare it, so its uses are not also "unknown type".
                PayloadKind::File
            }
        };
        let def = TypeDef {
            name: decl.name.text.clone(),
            kind,
            mime: decl.mime.as_ref().map(|mime| mime.value.clone()),
            export: decl.export.is_some(),
            span: decl.span,
        };
        types.insert(def.name.to_string(), def.clone());
        declared.push(def);
    }
    TypeTable { types, declared }
}

/// An annotation on a wire: where it is and which type it names.
struct Annotation<'a> {
    name: &'a Name,
    at_producer: bool,
}

pub(super) fn resolve_wires(checker: &mut Checker<'_>, items: &Items<'_>, table: &TypeTable, wires: &mut Wires<'_>) {
    let mut reported_unknown: FxHashSet<Span> = FxHashSet::default();
    let service_outputs: Vec<&str> = wires
        .entries
        .iter()
        .filter(|e| e.producer.as_ref().is_some_and(|p| p.output.implicit.is_some()))
        .map(|e| e.name)
        .collect();

    // One buffer for every wire's annotations (most wires have none or one).
    let mut annotations: Vec<Annotation<'_>> = Vec::new();
    for entry in &mut wires.entries {
        entry.implicit = match &entry.producer {
            Some(producer) => producer.output.implicit.is_some(),
            None => entry.consumers.iter().any(|c| c.input.implicit.is_some()),
        };
        check_implicit_use(checker, items, entry, &service_outputs);

        annotations.clear();
        if let Some(ty) = entry.producer.as_ref().and_then(|p| p.output.ty.as_ref()) {
            annotations.push(Annotation { name: ty, at_producer: true });
        }
        for consumer in &entry.consumers {
            if let Some(ty) = &consumer.input.ty {
                annotations.push(Annotation { name: ty, at_producer: false });
            }
        }
        let mut chosen: Option<&Annotation<'_>> = None;
        for annotation in &annotations {
            let Some(def) = table.get(&annotation.name.text) else {
                if reported_unknown.insert(annotation.name.span) {
                    report_unknown_type(checker, table, annotation.name);
                }
                continue;
            };
            let is_service = def.kind == PayloadKind::Service;
            if is_service != entry.implicit {
                let message = if entry.implicit {
                    format!("`{}` is an implicit wire, so its type is `service`", entry.name)
                } else {
                    format!("only implicit wires have type `service`, and `{}` is not implicit", entry.name)
                };
                checker.diagnostics.push(
                    Diagnostic::new(Code::ImplicitMismatch, annotation.name.span, message)
                        .help("an implicit wire joins a service output (`y implicit`) to inputs written `y implicit`"),
                );
                continue;
            }
            match chosen {
                None => chosen = Some(annotation),
                Some(first) if first.name.text != annotation.name.text => {
                    let place = if first.at_producer { "its producer" } else { "a consumer" };
                    checker.diagnostics.push(
                        Diagnostic::new(
                            Code::ConflictingWireTypes,
                            annotation.name.span,
                            format!("wire `{}` is annotated `{}` here", entry.name, annotation.name.text),
                        )
                        .label(first.name.span, format!("but `{}` at {place}", first.name.text))
                        .help(
                            "all annotations of one wire must name the same type; the producer's annotation is enough",
                        ),
                    );
                }
                Some(_) => {}
            }
        }
        entry.ty = match chosen {
            Some(annotation) => annotation.name.text.clone(),
            None if entry.implicit => "service".into(),
            None => "file".into(),
        };
    }
    check_merge_types(checker, items, wires);
}

fn report_unknown_type(checker: &mut Checker<'_>, table: &TypeTable, name: &Name) {
    let mut diagnostic = Diagnostic::new(Code::UnknownType, name.span, format!("unknown type `{}`", name.text));
    diagnostic = match checker.suggestions.closest(&name.text, table.names()) {
        Some(s) => {
            diagnostic.help(format!("did you mean `{s}`?")).fix(format!("replace with `{s}`"), name.span, s.to_owned())
        }
        None => diagnostic.help(format!(
            "declare it: `type {} = file \"mime/type\"`; built in are file, dir, text, json, csv and service",
            name.text
        )),
    };
    checker.diagnostics.push(diagnostic);
}

/// An implicit input must name an implicit output, and an implicit output is
/// consumed only implicitly.
fn check_implicit_use(
    checker: &mut Checker<'_>,
    items: &Items<'_>,
    entry: &super::wires::WireEntry<'_>,
    service_outputs: &[&str],
) {
    for consumer in &entry.consumers {
        let input = consumer.input;
        if input.is_merge() && input.implicit.is_some() {
            continue; // K0020 already says a merge cannot be implicit.
        }
        let producer = entry.producer.as_ref();
        match (input.implicit, producer) {
            (Some(implicit), None) => {
                let mut diagnostic = Diagnostic::new(
                    Code::ImplicitMismatch,
                    consumer.span(),
                    format!("no task offers a service `{}`", entry.name),
                )
                .label(implicit, "an implicit input must name an implicit output");
                diagnostic = match checker.suggestions.closest(entry.name, service_outputs.iter().copied()) {
                    Some(s) => diagnostic.help(format!("did you mean `{s}`?")).fix(
                        format!("rename to `{s}`"),
                        consumer.span(),
                        s,
                    ),
                    None => diagnostic.help(format!(
                        "a service task declares it as an output: `(…) server ({} implicit)`",
                        entry.name
                    )),
                };
                checker.diagnostics.push(diagnostic);
            }
            (Some(implicit), Some(producer)) if producer.output.implicit.is_none() => {
                checker.diagnostics.push(
                    Diagnostic::new(Code::ImplicitMismatch, implicit, format!("`{}` is not a service", entry.name))
                        .label(
                            producer.output.wire.span,
                            format!("`{}` produces it as files", items.wirings[producer.task].task.text),
                        )
                        .help("an implicit input must name an implicit output; remove `implicit` to consume its files")
                        .fix("remove `implicit`", Span::new(input.members[0].wire.span.end, implicit.end), ""),
                );
            }
            (None, Some(producer)) if producer.output.implicit.is_some() && !input.is_merge() => {
                let insert_at = input.buffer().map_or(input.members[0].wire.span.end, |b| b.span.end);
                checker.diagnostics.push(
                    Diagnostic::new(
                        Code::ImplicitMismatch,
                        consumer.span(),
                        format!("`{}` is a service, not files", entry.name),
                    )
                    .label(
                        producer.output.wire.span,
                        format!("offered by `{}` as a service", items.wirings[producer.task].task.text),
                    )
                    .help(format!("consume a service with `{} implicit`", entry.name))
                    .fix("add `implicit`", Span::empty_at(insert_at), " implicit"),
                );
            }
            (None, Some(producer)) if producer.output.implicit.is_some() => {
                checker.diagnostics.push(
                    Diagnostic::new(
                        Code::ImplicitMismatch,
                        consumer.span(),
                        format!("`{}` is a service and cannot be merged", entry.name),
                    )
                    .label(producer.output.wire.span, "offered as a service here")
                    .help(format!("list it on its own as `{} implicit`", entry.name)),
                );
            }
            _ => {}
        }
    }
}

fn check_merge_types(checker: &mut Checker<'_>, items: &Items<'_>, wires: &Wires<'_>) {
    for wiring in &items.wirings {
        for input in wiring.inputs.items.iter().filter(|input| input.is_merge()) {
            let first = &input.members[0].wire;
            let Some(&first_id) = wires.ids.get(first.text.as_str()) else {
                continue;
            };
            let first_ty = &wires.entries[first_id].ty;
            for member in &input.members[1..] {
                let Some(&id) = wires.ids.get(member.wire.text.as_str()) else {
                    continue;
                };
                let ty = &wires.entries[id].ty;
                if ty != first_ty {
                    checker.diagnostics.push(
                        Diagnostic::new(
                            Code::MergeTypeMismatch,
                            member.wire.span,
                            format!("`{}` is of type `{ty}`, but the merge carries `{first_ty}`", member.wire.text),
                        )
                        .label(first.span, format!("`{}` is of type `{first_ty}`", first.text))
                        .help("merged wires form one stream, so they must have the same type"),
                    );
                }
            }
        }
    }
}
