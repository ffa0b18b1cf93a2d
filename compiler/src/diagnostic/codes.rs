//! The stable diagnostic codes. A code never changes meaning once released;
//! retired codes are not reused. Each has a long explanation in
//! `compiler/explain/<CODE>.md` (printed by `koaljac explain`), and the tidy
//! test `tests/codes.rs` checks that every explanation's example program
//! really produces its code.

use super::Severity;

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $name:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// `K0001`, …
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, used as the SARIF rule name.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// The long explanation, Markdown, as `koaljac explain` prints it.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$variant => include_str!(concat!("../../explain/", $code, ".md")),)*
                }
            }

            /// Parses `K0007` (also `k0007` and `7`).
            pub fn parse(text: &str) -> Option<Code> {
                let digits = text.trim_start_matches(['K', 'k']);
                let number: u32 = digits.parse().ok()?;
                let canonical = format!("K{number:04}");
                Code::ALL.iter().copied().find(|code| code.as_str() == canonical)
            }
        }
    };
}

codes! {
    // Reading and lexing.
    InvalidUtf8 = "K0001", Error, "invalid-utf8";
    UnknownCharacter = "K0002", Error, "unknown-character";
    UnterminatedString = "K0003", Error, "unterminated-string";
    InvalidEscape = "K0004", Error, "invalid-escape";
    // Parsing.
    SyntaxError = "K0005", Error, "syntax-error";
    IntegerTooLarge = "K0006", Error, "integer-too-large";
    TooManyDiagnostics = "K0007", Error, "too-many-diagnostics";
    // Items.
    DuplicateHeader = "K0010", Error, "duplicate-header";
    LateHeader = "K0011", Error, "late-header";
    DuplicateDefaults = "K0012", Error, "duplicate-defaults";
    TaskWiredTwice = "K0013", Error, "task-wired-twice";
    DuplicateTaskBlock = "K0014", Error, "duplicate-task-block";
    // Wires.
    WireProducedTwice = "K0015", Error, "wire-produced-twice";
    UnproducedWire = "K0016", Error, "unproduced-wire";
    DuplicateWireInList = "K0017", Error, "duplicate-wire-in-list";
    InvalidBuffer = "K0018", Error, "invalid-buffer";
    MisplacedMergeBuffer = "K0019", Error, "misplaced-merge-buffer";
    InvalidImplicitInput = "K0020", Error, "invalid-implicit-input";
    // Types.
    UnknownType = "K0021", Error, "unknown-type";
    DuplicateType = "K0022", Error, "duplicate-type";
    InvalidTypeBase = "K0023", Error, "invalid-type-base";
    ConflictingWireTypes = "K0024", Error, "conflicting-wire-types";
    MergeTypeMismatch = "K0025", Error, "merge-type-mismatch";
    ImplicitMismatch = "K0026", Error, "implicit-mismatch";
    // Task settings.
    UnknownKey = "K0027", Error, "unknown-key";
    DuplicateKey = "K0028", Error, "duplicate-key";
    InvalidValue = "K0029", Error, "invalid-value";
    UnknownOption = "K0030", Error, "unknown-option";
    CommandAndShell = "K0031", Error, "command-and-shell";
    MissingCommand = "K0032", Error, "missing-command";
    CommandNamesForeignWire = "K0033", Error, "command-names-foreign-wire";
    ServiceWithoutPort = "K0034", Error, "service-without-port";
    KeyNotAllowedInDefaults = "K0035", Error, "key-not-allowed-in-defaults";
    // Snapshot policies.
    RangeNeedsAllNew = "K0036", Error, "range-needs-all-new";
    WindowNeedsSlidingWindow = "K0037", Error, "window-needs-sliding-window";
    SwapNeedsSingleValues = "K0038", Error, "swap-needs-single-values";
    // Kubernetes names and regions.
    KubernetesNameCollision = "K0039", Error, "kubernetes-name-collision";
    InvalidKubernetesName = "K0040", Error, "invalid-kubernetes-name";
    RegionCrossing = "K0041", Error, "region-crossing";
    // Firing contracts.
    InputCanNeverFill = "K0042", Error, "input-can-never-fill";
    // Reported by `koaljac build` only.
    MissingImage = "K0043", Error, "missing-image";
    IrTooLarge = "K0044", Error, "ir-too-large";
    // Warnings.
    DeadCycle = "K0050", Warning, "dead-cycle";
    UnusedTaskBlock = "K0051", Warning, "unused-task-block";
    WireNotInCommand = "K0052", Warning, "wire-not-in-command";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_the_usual_spellings() {
        assert_eq!(Code::parse("K0005"), Some(Code::SyntaxError));
        assert_eq!(Code::parse("k5"), Some(Code::SyntaxError));
        assert_eq!(Code::parse("5"), Some(Code::SyntaxError));
        assert_eq!(Code::parse("K0008"), None);
        assert_eq!(Code::parse("nonsense"), None);
    }

    #[test]
    fn codes_are_unique_and_in_order() {
        let strings: Vec<_> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = strings.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(strings, sorted);
    }
}
