//! Phase 1: sorts the file's items and applies the rules about items
//! themselves: one header before the first wiring statement (K0010, K0011),
//! one `defaults` block (K0012), one statement per task (K0013), one `task`
//! block per task (K0014), and a warning for `task` blocks nothing wires (K0051).

use rustc_hash::FxHashMap;

use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::{DefaultsBlock, Header, Item, SourceFile, TaskBlock, TypeDecl, Wiring};

pub(super) struct Items<'a> {
    pub header: Option<&'a Header>,
    pub defaults: Option<&'a DefaultsBlock>,
    /// One wiring statement per task, in file order; a task's id is its index.
    pub wirings: Vec<&'a Wiring>,
    pub task_ids: FxHashMap<&'a str, usize>,
    /// The first `task` block of each name.
    pub blocks: FxHashMap<&'a str, &'a TaskBlock>,
    /// The first declaration of each type name, in file order.
    pub types: Vec<&'a TypeDecl>,
    /// Part of the file did not parse (a skipped statement, port list or
    /// block), so tasks, wires or settings may be missing. The checks that
    /// need the whole file (K0032, K0050, K0051) wait until it parses
    /// rather than report what the skip caused.
    pub incomplete: bool,
    /// The words of the text the parser skipped where a wire could be
    /// produced: each statement it could not read, and each wiring
    /// statement with a broken port list. A wire named nowhere in it is
    /// reported unproduced (K0016) even while the file does not parse.
    pub skipped_words: rustc_hash::FxHashSet<smol_str::SmolStr>,
}

impl Items<'_> {
    /// Whether the skipped text could produce wire `name`: it holds `name`
    /// as a whole word.
    pub fn skip_could_name(&self, name: &str) -> bool {
        self.skipped_words.contains(name)
    }

    pub fn pipeline_name(&self, default_name: &str) -> (String, String) {
        match self.header {
            Some(header) => (
                header.namespace.as_ref().map_or_else(|| "default".to_owned(), |ns| ns.text.to_string()),
                header.name.text.to_string(),
            ),
            None => ("default".to_owned(), default_name.to_owned()),
        }
    }
}

pub(super) fn collect<'a>(checker: &mut Checker<'_>, file: &'a SourceFile) -> Items<'a> {
    let mut items = Items {
        header: None,
        defaults: None,
        wirings: Vec::new(),
        task_ids: FxHashMap::default(),
        blocks: FxHashMap::default(),
        types: Vec::new(),
        incomplete: false,
        skipped_words: Default::default(),
    };
    let mut type_names: FxHashMap<&str, &TypeDecl> = FxHashMap::default();
    let mut block_order: Vec<&TaskBlock> = Vec::new();

    for item in &file.items {
        items.incomplete |= match item {
            Item::Wiring(wiring) => wiring.inputs.broken || wiring.outputs.broken,
            Item::Task(block) => block.body.broken,
            Item::Defaults(defaults) => defaults.body.broken,
            Item::Error(_) => true,
            Item::Header(_) | Item::Type(_) => false,
        };
        let skipped = match item {
            Item::Wiring(wiring) if wiring.inputs.broken || wiring.outputs.broken => Some(wiring.span),
            Item::Error(span) => Some(*span),
            _ => None,
        };
        if let Some(span) = skipped {
            let text = checker.text.get(span.range()).unwrap_or_default();
            let is_name_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
            items.skipped_words.extend(text.split(|c| !is_name_char(c)).filter(|w| !w.is_empty()).map(Into::into));
        }
        match item {
            Item::Header(header) => {
                if let Some(first) = items.header {
                    checker.diagnostics.push(
                        Diagnostic::new(Code::DuplicateHeader, header.span, "a file holds one pipeline, so one header")
                            .label(first.span, "the pipeline is already named here")
                            .help("remove this header, or move these statements into a file of their own"),
                    );
                    continue;
                }
                if let Some(first_wiring) = items.wirings.first() {
                    checker.diagnostics.push(
                        Diagnostic::new(Code::LateHeader, header.span, "the header must come before the first wiring statement")
                            .label(first_wiring.span, "the first wiring statement")
                            .help("move the header to the top of the file"),
                    );
                }
                items.header = Some(header);
            }
            Item::Defaults(defaults) => match items.defaults {
                Some(first) => checker.diagnostics.push(
                    Diagnostic::new(Code::DuplicateDefaults, defaults.keyword, "a file has at most one `defaults` block")
                        .label(first.keyword, "the first `defaults` block")
                        .help("merge the two blocks into one"),
                ),
                None => items.defaults = Some(defaults),
            },
            Item::Wiring(wiring) => match items.task_ids.get(wiring.task.text.as_str()) {
                Some(&first) => checker.diagnostics.push(
                    Diagnostic::new(
                        Code::TaskWiredTwice,
                        wiring.task.span,
                        format!("task `{}` is already wired", wiring.task.text),
                    )
                    .label(items.wirings[first].task.span, "first wired here")
                    .help("a task appears in one wiring statement; list all its inputs and outputs there, or give this one another name"),
                ),
                None => {
                    items.task_ids.insert(&wiring.task.text, items.wirings.len());
                    items.wirings.push(wiring);
                }
            },
            Item::Task(block) => match items.blocks.get(block.name.text.as_str()) {
                Some(first) => checker.diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateTaskBlock,
                        block.name.span,
                        format!("task `{}` is already defined", block.name.text),
                    )
                    .label(first.name.span, "first defined here")
                    .help("merge the two `task` blocks into one"),
                ),
                None => {
                    items.blocks.insert(&block.name.text, block);
                    block_order.push(block);
                }
            },
            Item::Type(decl) => match type_names.get(decl.name.text.as_str()) {
                Some(first) => checker.diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateType,
                        decl.name.span,
                        format!("type `{}` is already declared", decl.name.text),
                    )
                    .label(first.name.span, "first declared here")
                    .help("remove one declaration, or rename this type"),
                ),
                None => {
                    type_names.insert(&decl.name.text, decl);
                    items.types.push(decl);
                }
            },
            Item::Error(_) => {}
        }
    }

    for block in block_order {
        if items.incomplete || items.task_ids.contains_key(block.name.text.as_str()) {
            continue;
        }
        let wired = items.wirings.iter().map(|wiring| wiring.task.text.as_str());
        let mut diagnostic = Diagnostic::new(
            Code::UnusedTaskBlock,
            block.name.span,
            format!("task `{}` is defined but no wiring statement uses it", block.name.text),
        );
        match checker.suggestions.closest(&block.name.text, wired) {
            Some(suggestion) => {
                diagnostic = diagnostic.help(format!("did you mean `{suggestion}`?")).fix(
                    format!("rename to `{suggestion}`"),
                    block.name.span,
                    suggestion,
                );
            }
            None => {
                diagnostic = diagnostic.help(format!(
                    "wire it with a statement such as `(in) {} (out)`, or remove the block",
                    block.name.text
                ))
            }
        }
        checker.diagnostics.push(diagnostic);
    }
    items
}
