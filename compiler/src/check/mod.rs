//! The checker: a syntax tree in, a `model::Pipeline` plus diagnostics out.
//! Implements every static rule of LANGUAGE.md §2–§4; never fails.
//!
//! Phases run in order, each in its own module, each reading what earlier
//! ones resolved from the shared `Checker`:
//! `items` (header, blocks, declarations, one statement per task) →
//! `wires` (producers, consumers, buffers, pipeline inputs and outputs) →
//! `types` (annotations, merges, implicit wires) → `settings` (task blocks
//! and defaults) → `command` (wire names in commands) → `policy` (firing
//! rules; builds the model's tasks, taking the settings) → `names`
//! (Kubernetes names) → `regions` → `liveness` → `feasibility`.

mod command;
mod feasibility;
mod items;
mod liveness;
pub mod names;
mod policy;
mod regions;
mod settings;
pub use settings::{KEYS, RESOURCE_KEYS};
pub mod suggest;
mod types;
pub use types::BUILTIN_TYPES;
mod wires;

use crate::diagnostic::Diagnostics;
use crate::model::Pipeline;
use crate::syntax::ast::SourceFile;

/// State shared by the phases.
struct Checker<'a> {
    text: &'a str,
    diagnostics: &'a mut Diagnostics,
    suggestions: suggest::Budget,
}

/// Checks a parsed file. `default_name` names the pipeline when the file has
/// no header (the file's stem, LANGUAGE.md §2.1).
pub fn check(text: &str, file: &SourceFile, default_name: &str, diagnostics: &mut Diagnostics) -> Pipeline {
    let mut checker = Checker { text, diagnostics, suggestions: suggest::Budget::default() };
    let items = items::collect(&mut checker, file);
    let (namespace, name) = items.pipeline_name(default_name);
    let type_table = types::declare(&mut checker, &items);
    let mut wires = wires::resolve(&mut checker, &items);
    types::resolve_wires(&mut checker, &items, &type_table, &mut wires);
    let (task_settings, gateway) = settings::resolve(&mut checker, &items);
    let mut pipeline = Pipeline {
        namespace,
        name,
        types: type_table.declared(),
        tasks: Vec::with_capacity(items.wirings.len()),
        wires: wires.to_model(),
        gateway,
    };
    command::check(&mut checker, &items, &wires, &task_settings);
    policy::build_tasks(&mut checker, &items, &wires, task_settings, &mut pipeline);
    names::check(&mut checker, &items, &pipeline);
    regions::check(&mut checker, &items, &type_table, &pipeline);
    liveness::check(&mut checker, &items, &pipeline);
    feasibility::check(&mut checker, &items, &pipeline);
    pipeline
}
