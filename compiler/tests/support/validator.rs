//! Finding `kubernetes-validate`, which checks objects against the official
//! Kubernetes schemas (`scripts/test.sh` installs it and points
//! `KOALJA_KUBERNETES_VALIDATE` at it).

/// The command, or `None` after printing that the check did not run. Where
/// the tools are required (`KOALJA_REQUIRE_TOOLS`, set by scripts/test.sh),
/// a missing validator fails the test instead.
pub fn kubernetes_validate() -> Option<String> {
    let validator = std::env::var("KOALJA_KUBERNETES_VALIDATE").unwrap_or_else(|_| "kubernetes-validate".to_owned());
    if std::process::Command::new(&validator).arg("--version").output().is_ok() {
        return Some(validator);
    }
    assert!(
        std::env::var_os("KOALJA_REQUIRE_TOOLS").is_none(),
        "kubernetes-validate is required (scripts/test.sh installs it)"
    );
    eprintln!("NOT RUN: kubernetes-validate is not installed; scripts/test.sh installs it and runs this check");
    None
}
