//! Diagnostics for people (ariadne) and for tools (JSON lines, SARIF 2.1.0).
//! Renderers read `Analysis` values only; writing them out is the caller's job.

pub mod describe;
pub mod human;
pub mod json;
pub mod sarif;

use crate::analysis::Analysis;

/// One analysed file with the name to show for it.
pub struct FileReport<'a> {
    pub path: &'a str,
    pub analysis: &'a Analysis,
}
