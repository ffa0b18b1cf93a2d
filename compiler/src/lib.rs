//! The Koalja compiler: the wiring language from bytes to a checked pipeline.
//!
//! Layers, each knowing less than the one above (see ARCHITECTURE.md):
//! `span`/`source` → `diagnostic` → `syntax` (lexer, parser, tree) → `check`
//! (resolution and every static rule, producing `model`) → `format`, `render`.
//! `analysis` is the one entry point the CLI and the language server call.
//! `lower` (with the `kubernetes` feature) turns a checked pipeline into
//! Kubernetes objects. Nothing here touches files, the terminal or the
//! network; the `koaljac` crate (`cli/`) does.

pub mod analysis;
pub mod check;
pub mod diagnostic;
pub mod format;
pub mod graph;
pub mod ir;
#[cfg(feature = "kubernetes")]
pub mod lower;
pub mod model;
pub mod render;
pub mod source;
pub mod span;
pub mod syntax;
