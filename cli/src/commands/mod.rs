//! One module per command (the cluster commands, and the local run with its
//! provenance queries, each share one).

pub mod build;
pub mod check;
pub mod cluster;
pub mod describe;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod run;
