//! Hover text and go-to-definition targets for the symbol under the cursor.

use koalja_compiler::analysis::Analysis;
use koalja_compiler::check::KEYS;
use koalja_compiler::ir::Ir;
use koalja_compiler::model::{Launch, Policy};
use koalja_compiler::span::Span;

use crate::locate::Symbol;

/// Markdown for the symbol, or `None` when there is nothing to say.
pub fn hover(analysis: &Analysis, ir: &Ir, symbol: &Symbol) -> Option<String> {
    let pipeline = &analysis.pipeline;
    match symbol {
        Symbol::Wire(name) => {
            let wire = pipeline.wire(&name.text)?;
            let mut text = format!("**wire** `{}`: `{}`\n\n", wire.name, wire.ty);
            match wire.producer.and_then(|id| pipeline.tasks.get(id)) {
                Some(task) => text.push_str(&format!("produced by `{}`\n\n", task.name)),
                None => text.push_str("a pipeline input (dropped in through the gateway)\n\n"),
            }
            if wire.consumers.is_empty() {
                text.push_str("consumed by no task: a pipeline output\n");
            }
            for id in &wire.consumers {
                let Some(task) = pipeline.tasks.get(*id) else { continue };
                let sentence = ir.task(*id).map(|node| node.contract.sentence.clone()).unwrap_or_default();
                text.push_str(&format!("- consumed by `{}`, which {}\n", task.name, sentence));
            }
            Some(text)
        }
        Symbol::Task(name) => {
            let described = koalja_compiler::render::describe::describe(ir, Some(&name.text))?;
            Some(format!("**task** `{}`\n\n```text\n{}```\n", name.text, described))
        }
        Symbol::Type(name) => {
            let ty = pipeline.types.iter().find(|ty| ty.name == name.text)?;
            let mime = ty.mime.as_deref().map(|mime| format!(", `{mime}`")).unwrap_or_default();
            let export = if ty.export { ", exported (may cross regions)" } else { "" };
            let kind = format!("{:?}", ty.kind).to_lowercase();
            Some(format!("**type** `{}`: {kind}{mime}{export}", ty.name))
        }
        Symbol::Key(key) => {
            let (_, takes) = KEYS.iter().find(|(known, _)| *known == key.text)?;
            Some(format!("**key** `{}`: {takes}", key.text))
        }
        Symbol::Option(key, value) => {
            option_meaning(&key.text, &value.text).map(|meaning| format!("`{}`: {meaning}", value.text))
        }
    }
}

/// What a `policy` or `launch` value means.
pub fn option_meaning(key: &str, value: &str) -> Option<&'static str> {
    match key {
        "policy" => Policy::ALL.iter().find(|(name, _)| *name == value).map(|(_, policy)| policy.meaning()),
        "launch" => Launch::ALL.iter().find(|(name, _)| *name == value).map(|(_, launch)| launch.meaning()),
        _ => None,
    }
}

/// Where the symbol is defined: a wire's producing statement, a task's
/// `task` block (or its statement when it has none), a type's declaration.
pub fn definition(analysis: &Analysis, symbol: &Symbol) -> Option<Span> {
    let pipeline = &analysis.pipeline;
    match symbol {
        Symbol::Wire(name) => {
            let wire = pipeline.wire(&name.text)?;
            Some(wire.producer.and_then(|id| pipeline.tasks.get(id)).map_or(wire.span, |task| task.span))
        }
        Symbol::Task(name) => {
            let task = pipeline.task(&name.text)?;
            Some(task.block_span.unwrap_or(task.span))
        }
        Symbol::Type(name) => pipeline.types.iter().find(|ty| ty.name == name.text).map(|ty| ty.span),
        Symbol::Key(_) | Symbol::Option(..) => None,
    }
}
