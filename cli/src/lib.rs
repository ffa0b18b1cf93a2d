//! The `koaljac` crate's library: what the binary needs that the tests also
//! drive directly. `cluster` talks to Kubernetes (kube config, HTTP); the
//! pure compiler (`koalja-compiler`) never does.

pub mod cluster;
