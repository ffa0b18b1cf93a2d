//! `koalja-agent`: the runtime of Koalja pipelines (LANGUAGE.md §3).
//!
//! One library behind three uses: a task's agent inside a pod, the gateway,
//! and the local engine of `koaljac run`. See `runtime/README.md` for the
//! link protocol and ARCHITECTURE.md for the module map.

pub mod agent;
pub mod auth;
pub mod cli;
pub mod exec;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod init;
pub mod link;
pub mod local;
pub mod plan;
pub mod provenance;
pub mod record;
pub mod snapshot;
pub mod store;
