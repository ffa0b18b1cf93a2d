//! `koalja-lsp`: the language server, a thin layer over the compiler crate.
//! Positions convert in `position`, documents live in `document`, the
//! compiler's results become protocol types in `convert`, `locate` finds
//! the name under the cursor and `hover` what to say about it, `complete`
//! what may be written there, `rename`
//! checks and plans renames, `outline` gives symbols and folding,
//! `highlight` semantic tokens, `actions` quick fixes and inlay hints, and
//! `server`
//! answers the client. See `lsp/README.md` for what it offers.

pub mod actions;
pub mod complete;
pub mod convert;
pub mod document;
pub mod highlight;
pub mod hover;
pub mod locate;
pub mod outline;
pub mod position;
pub mod rename;
pub mod runs;
pub mod server;

pub use server::service;
