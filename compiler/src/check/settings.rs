//! Phase 4: task settings. Reads every `task` block and the `defaults` block
//! (K0027 unknown keys, K0028 repeated keys, K0029 bad values, K0030 unknown
//! policy or launch, K0031 both `command` and `shell`, K0035 `service` in
//! defaults), then gives each wired task its settings: its own block's value
//! for each key, else the default. `command` and `shell` fill one slot, so a
//! task that sets either ignores both defaults. Finally K0032 (no command)
//! and K0034 (a service output without a port).

use std::collections::BTreeMap;

use super::items::Items;
use super::Checker;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{shell_placeholders, Arg, Keep, Launch, Policy, Run, StorageSettings};
use crate::span::Span;
use crate::syntax::ast::{Block, Entry, Name, Value};
use smol_str::SmolStr;

/// The keys of a task block, with what each takes (for messages and hover).
pub const KEYS: [(&str, &str); 13] = [
    ("image", "container image, a string"),
    ("command", "argv, a list of strings and wire names"),
    ("shell", "a `/bin/sh -c` script with `{wire}` placeholders, a string"),
    ("policy", "`all-new`, `swap-new-for-old` or `sliding-window`"),
    ("launch", "`auto`, `restart` or `custom`"),
    ("service", "the port a service task listens on, an integer"),
    ("env", "environment variables, `{ NAME: \"value\" }`"),
    ("resources", "requests, `{ cpu: \"500m\", memory: \"1Gi\" }`"),
    ("region", "where the task must run, a string"),
    ("timeout", "per-run limit, a duration string such as \"5m\""),
    ("retries", "how often a failed run is retried, an integer"),
    (
        "keep",
        "which payloads of each output wire to keep once every consumer took them: the newest N, an integer, or those younger than a duration string such as \"7d\"",
    ),
    ("storage", "the size of the task's state volume, a Kubernetes quantity such as \"10Gi\""),
];

/// The most payloads per wire `keep` can name: beyond it, keep everything.
const KEEP_MOST: u64 = 1_000_000_000;

pub const RESOURCE_KEYS: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// The run of a task, with the wire names it mentions and where.
#[derive(Clone, Debug)]
pub(super) struct RunSetting {
    pub run: Run,
    pub span: Span,
    pub named_wires: Vec<(SmolStr, Span)>,
}

/// What one block says, each value with the span it came from.
#[derive(Clone, Debug, Default)]
pub(super) struct BlockSettings {
    pub image: Option<SmolStr>,
    pub command: Option<RunSetting>,
    pub shell: Option<RunSetting>,
    pub policy: Option<(Policy, Span)>,
    pub launch: Option<Launch>,
    pub service: Option<u16>,
    pub env: Option<BTreeMap<SmolStr, SmolStr>>,
    pub resources: Option<BTreeMap<SmolStr, SmolStr>>,
    pub region: Option<(SmolStr, Span)>,
    pub timeout_ms: Option<u64>,
    pub retries: Option<u32>,
    pub keep: Option<Keep>,
    pub storage: Option<SmolStr>,
    pub broken: bool,
}

/// One task's settings after defaults, with the spans the later checks
/// point at (the model keeps `model::TaskSettings`, without spans).
#[derive(Clone, Debug, Default)]
pub(super) struct ResolvedSettings {
    pub image: Option<SmolStr>,
    pub run: Option<RunSetting>,
    pub run_from_defaults: bool,
    pub policy: Option<(Policy, Span)>,
    pub launch: Option<Launch>,
    pub service: Option<u16>,
    pub env: BTreeMap<SmolStr, SmolStr>,
    pub resources: BTreeMap<SmolStr, SmolStr>,
    pub region: Option<(SmolStr, Span)>,
    pub timeout_ms: Option<u64>,
    pub retries: Option<u32>,
    pub storage: StorageSettings,
    /// Part of the task's block or the defaults did not parse.
    pub incomplete: bool,
    pub block_span: Option<Span>,
}

/// Every wired task's settings, in wiring order, and the gateway's storage
/// (what `defaults` say: the gateway has no block of its own).
pub(super) fn resolve(checker: &mut Checker<'_>, items: &Items<'_>) -> (Vec<ResolvedSettings>, StorageSettings) {
    let defaults = items.defaults.map(|d| read_block(checker, &d.body, true)).unwrap_or_default();
    let gateway = StorageSettings { keep: defaults.keep, storage: defaults.storage.clone() };
    // Blocks of unwired tasks are checked too, so their errors show.
    let mut blocks: Vec<_> = items.blocks.values().copied().collect();
    blocks.sort_by_key(|block| block.span.start);
    let mut read: rustc_hash::FxHashMap<&str, BlockSettings> = rustc_hash::FxHashMap::default();
    for block in blocks {
        read.insert(&block.name.text, read_block(checker, &block.body, false));
    }

    let mut all = Vec::with_capacity(items.wirings.len());
    for wiring in &items.wirings {
        // Each task is wired once, so its block's settings can be moved out.
        let own = read.remove(wiring.task.text.as_str()).unwrap_or_default();
        let block_span = items.blocks.get(wiring.task.text.as_str()).map(|b| b.span);
        let (run, run_from_defaults) = match own.command.or(own.shell) {
            Some(run) => (Some(run), false),
            None => (defaults.command.as_ref().or(defaults.shell.as_ref()).cloned(), true),
        };
        let settings = ResolvedSettings {
            image: own.image.or_else(|| defaults.image.clone()),
            run,
            run_from_defaults,
            policy: own.policy.or(defaults.policy),
            launch: own.launch.or(defaults.launch),
            service: own.service,
            env: own.env.or_else(|| defaults.env.clone()).unwrap_or_default(),
            resources: own.resources.or_else(|| defaults.resources.clone()).unwrap_or_default(),
            region: own.region.or_else(|| defaults.region.clone()),
            timeout_ms: own.timeout_ms.or(defaults.timeout_ms),
            retries: own.retries.or(defaults.retries),
            storage: StorageSettings {
                keep: own.keep.or(defaults.keep),
                storage: own.storage.or_else(|| defaults.storage.clone()),
            },
            incomplete: own.broken || defaults.broken,
            block_span,
        };
        if settings.run.is_none() && !items.incomplete {
            report_missing_command(checker, &wiring.task, block_span.is_some());
        }
        if settings.service.is_none() && !settings.incomplete {
            for output in &wiring.outputs.items {
                if let Some(implicit) = output.implicit {
                    checker.diagnostics.push(
                        Diagnostic::new(
                            Code::ServiceWithoutPort,
                            implicit,
                            format!("task `{}` offers a service but declares no port", wiring.task.text),
                        )
                        .label(output.wire.span, "the service output")
                        .help(format!(
                            "add `service: PORT` to `task {}`, the port its program listens on",
                            wiring.task.text
                        )),
                    );
                }
            }
        }
        all.push(settings);
    }
    (all, gateway)
}

fn report_missing_command(checker: &mut Checker<'_>, task: &Name, has_block: bool) {
    let mut diagnostic =
        Diagnostic::new(Code::MissingCommand, task.span, format!("task `{}` has nothing to run", task.text));
    if has_block {
        diagnostic = diagnostic
            .help(format!("add `command: [...]` or `shell: \"...\"` to `task {}`, or to `defaults`", task.text));
    } else {
        let end = checker.text.len() as u32;
        let newline = if checker.text.ends_with('\n') || checker.text.is_empty() { "" } else { "\n" };
        diagnostic = diagnostic
            .help(format!("define it: `task {} {{ command: [\"program\"] }}`, or give `defaults` a command", task.text))
            .fix(
                format!("add a `task {}` block", task.text),
                Span::empty_at(end),
                format!("{newline}\ntask {} {{\n  command: [\"program\"]\n}}\n", task.text),
            );
    }
    checker.diagnostics.push(diagnostic);
}

fn read_block(checker: &mut Checker<'_>, block: &Block, is_defaults: bool) -> BlockSettings {
    let mut settings = BlockSettings { broken: block.broken, ..BlockSettings::default() };
    // Where each key of KEYS was first set, by its index there.
    let mut seen: [Option<Span>; KEYS.len()] = [None; KEYS.len()];
    for entry in &block.entries {
        let key = entry.key.text.as_str();
        let Some(index) = KEYS.iter().position(|(known, _)| *known == key) else {
            report_unknown_key(checker, &entry.key, KEYS.iter().map(|(k, _)| *k), "task block");
            continue;
        };
        if let Some(first) = seen[index] {
            checker.diagnostics.push(
                Diagnostic::new(Code::DuplicateKey, entry.key.span, format!("`{key}` is set twice"))
                    .label(first, "first set here")
                    .help("each key appears once in a block; remove one"),
            );
            continue;
        }
        seen[index] = Some(entry.key.span);
        if is_defaults && key == "service" {
            checker.diagnostics.push(
                Diagnostic::new(Code::KeyNotAllowedInDefaults, entry.key.span, "`service` cannot be a default")
                    .help("a port belongs to the one task that listens on it; move it into that task's block"),
            );
            continue;
        }
        read_entry(checker, entry, &mut settings);
    }
    if let (Some(command), Some(shell)) = (&settings.command, &settings.shell) {
        let (first, second) =
            if command.span < shell.span { (command.span, shell.span) } else { (shell.span, command.span) };
        checker.diagnostics.push(
            Diagnostic::new(Code::CommandAndShell, second, "a task runs either a `command` or a `shell`, not both")
                .label(first, "the other one")
                .help("keep one: `command` for an argv list, `shell` for a `/bin/sh -c` script"),
        );
    }
    settings
}

fn read_entry(checker: &mut Checker<'_>, entry: &Entry, settings: &mut BlockSettings) {
    let value = &entry.value;
    if let Value::Error(_) = value {
        settings.broken = true;
        return;
    }
    match entry.key.text.as_str() {
        "image" => settings.image = expect_string(checker, entry).and_then(|(image, span)| validate_image(checker, image, span)),
        "command" => settings.command = read_command(checker, entry),
        "shell" => {
            if let Some((script, span)) = expect_string(checker, entry) {
                let raw = &checker.text[span.range()];
                let named_wires = shell_placeholders(raw)
                    .into_iter()
                    .map(|(range, name)| {
                        let start = span.start + range.start as u32;
                        (SmolStr::from(name), Span::new(start, start + range.len() as u32))
                    })
                    .collect();
                settings.shell = Some(RunSetting { run: Run::Shell(script), span, named_wires });
            }
        }
        "policy" => settings.policy = expect_option(checker, entry, &Policy::ALL).map(|p| (p, value.span())),
        "launch" => settings.launch = expect_option(checker, entry, &Launch::ALL),
        "service" => {
            settings.service = expect_integer(checker, entry).and_then(|(port, span)| match u16::try_from(port) {
                Ok(port) if port > 0 => Some(port),
                _ => {
                    invalid(checker, span, format!("{port} is not a port"), "ports go from 1 to 65535");
                    None
                }
            })
        }
        "env" => settings.env = read_map(checker, entry, None),
        "resources" => settings.resources = read_map(checker, entry, Some(&RESOURCE_KEYS)),
        "region" => {
            settings.region = expect_string(checker, entry).and_then(|(region, span)| {
                if is_label_value(&region) && !region.is_empty() {
                    Some((region, span))
                } else {
                    invalid(
                        checker,
                        span,
                        format!("`{region}` cannot be a region"),
                        "a region is a Kubernetes label value: up to 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
                    );
                    None
                }
            })
        }
        "timeout" => {
            settings.timeout_ms = expect_string(checker, entry).and_then(|(text, span)| match parse_duration(&text) {
                Some(ms) => Some(ms),
                None => {
                    invalid(
                        checker,
                        span,
                        format!("`{text}` is not a duration"),
                        "write a number and a unit: \"500ms\", \"30s\", \"5m\", \"2h\", or a sum such as \"1h30m\"",
                    );
                    None
                }
            })
        }
        "retries" => {
            settings.retries = expect_integer(checker, entry).and_then(|(n, span)| match u32::try_from(n) {
                Ok(n) if n <= 100 => Some(n),
                _ => {
                    invalid(checker, span, format!("{n} retries is more than the limit of 100"), "a run is retried at most 100 times");
                    None
                }
            })
        }
        "keep" => settings.keep = read_keep(checker, entry),
        "storage" => {
            settings.storage = expect_string(checker, entry).and_then(|(size, span)| {
                if is_storage_size(&size) {
                    Some(size)
                } else {
                    invalid(
                        checker,
                        span,
                        format!("`{size}` is not a volume size"),
                        "write a number of bytes with an optional suffix, more than zero: \"512Mi\", \"10Gi\", \"1.5Ti\"",
                    );
                    None
                }
            })
        }
        _ => unreachable!("keys are filtered against KEYS"),
    }
}

/// `keep: 100` (the newest 100 per wire) or `keep: "7d"` (a week's worth).
fn read_keep(checker: &mut Checker<'_>, entry: &Entry) -> Option<Keep> {
    match &entry.value {
        Value::Int { value, span } => match *value {
            1..=KEEP_MOST => Some(Keep::Newest(*value)),
            0 => {
                invalid(
                    checker,
                    *span,
                    "`keep: 0` would remove every payload as soon as it is taken, the pipeline's outputs too"
                        .to_owned(),
                    "keep at least the newest payload: `keep: 1`, or leave `keep` out to keep everything",
                );
                None
            }
            _ => {
                invalid(
                    checker,
                    *span,
                    format!("{value} is more than `keep` can count"),
                    "at most 1000000000; leave `keep` out to keep everything",
                );
                None
            }
        },
        Value::Str(string) => match parse_duration(&string.value) {
            Some(ms) if ms > 0 => Some(Keep::WithinMs(ms)),
            _ => {
                invalid(
                    checker,
                    string.span,
                    format!("`{}` is not a duration to keep payloads for", string.value),
                    "write a number and a unit, more than zero: \"90m\", \"12h\", \"7d\", or a sum such as \"1d12h\"",
                );
                None
            }
        },
        _ => {
            wrong_kind(checker, entry, "an integer or a duration string");
            None
        }
    }
}

pub(super) fn report_unknown_key<'c>(
    checker: &mut Checker<'_>,
    key: &Name,
    known: impl Iterator<Item = &'c str> + Clone,
    place: &str,
) {
    let mut diagnostic =
        Diagnostic::new(Code::UnknownKey, key.span, format!("unknown key `{}` in a {place}", key.text));
    diagnostic = match checker.suggestions.closest(&key.text, known.clone()) {
        Some(s) => diagnostic.help(format!("did you mean `{s}`?")).fix(format!("replace with `{s}`"), key.span, s),
        None => {
            diagnostic.help(format!("the keys are {}", known.map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")))
        }
    };
    checker.diagnostics.push(diagnostic);
}

fn invalid(checker: &mut Checker<'_>, span: Span, message: String, help: &str) {
    checker.diagnostics.push(Diagnostic::new(Code::InvalidValue, span, message).help(help));
}

fn wrong_kind(checker: &mut Checker<'_>, entry: &Entry, wanted: &str) {
    let mut diagnostic = Diagnostic::new(
        Code::InvalidValue,
        entry.value.span(),
        format!("`{}` takes {wanted}, not {}", entry.key.text, entry.value.kind_description()),
    );
    let described = KEYS.iter().find(|(k, _)| *k == entry.key.text).map_or("", |(_, d)| d);
    diagnostic = diagnostic.help(format!("`{}`: {described}", entry.key.text));
    if wanted == "a string" {
        if let Value::Name(name) = &entry.value {
            diagnostic = diagnostic.fix("quote it", name.span, format!("\"{}\"", name.text));
        } else if let Value::Int { value, span } = &entry.value {
            diagnostic = diagnostic.fix("quote it", *span, format!("\"{value}\""));
        }
    }
    checker.diagnostics.push(diagnostic);
}

fn expect_string(checker: &mut Checker<'_>, entry: &Entry) -> Option<(SmolStr, Span)> {
    match &entry.value {
        Value::Str(string) => Some((string.value.clone(), string.span)),
        _ => {
            wrong_kind(checker, entry, "a string");
            None
        }
    }
}

fn expect_integer(checker: &mut Checker<'_>, entry: &Entry) -> Option<(u64, Span)> {
    match &entry.value {
        Value::Int { value, span } => Some((*value, *span)),
        _ => {
            wrong_kind(checker, entry, "an integer");
            None
        }
    }
}

fn expect_option<T: Copy>(checker: &mut Checker<'_>, entry: &Entry, options: &[(&'static str, T)]) -> Option<T> {
    let Value::Name(name) = &entry.value else {
        let listed = options.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let mut diagnostic = Diagnostic::new(
            Code::InvalidValue,
            entry.value.span(),
            format!("`{}` takes one of {listed}, not {}", entry.key.text, entry.value.kind_description()),
        );
        if let Value::Str(string) = &entry.value {
            if options.iter().any(|(n, _)| *n == string.value) {
                diagnostic = diagnostic.help("write it as a name, without quotes").fix(
                    "remove the quotes",
                    string.span,
                    string.value.clone(),
                );
            }
        }
        checker.diagnostics.push(diagnostic);
        return None;
    };
    if let Some((_, value)) = options.iter().find(|(n, _)| *n == name.text) {
        return Some(*value);
    }
    let mut diagnostic =
        Diagnostic::new(Code::UnknownOption, name.span, format!("`{}` is not a {} value", name.text, entry.key.text));
    diagnostic = match checker.suggestions.closest(&name.text, options.iter().map(|(n, _)| *n)) {
        Some(s) => diagnostic.help(format!("did you mean `{s}`?")).fix(format!("replace with `{s}`"), name.span, s),
        None => diagnostic.help(format!(
            "`{}` is one of {}",
            entry.key.text,
            options.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        )),
    };
    checker.diagnostics.push(diagnostic);
    None
}

fn read_command(checker: &mut Checker<'_>, entry: &Entry) -> Option<RunSetting> {
    let Value::List { items, span } = &entry.value else {
        wrong_kind(checker, entry, "a list");
        return None;
    };
    if items.is_empty() {
        invalid(
            checker,
            *span,
            "a command needs at least a program".to_owned(),
            "write `command: [\"program\", \"arg\", wire]`",
        );
        return None;
    }
    let mut args = Vec::with_capacity(items.len());
    let mut named_wires = Vec::new();
    for item in items {
        match item {
            Value::Str(string) => args.push(Arg::Literal(string.value.clone())),
            Value::Name(name) => {
                args.push(Arg::Wire(name.text.clone()));
                named_wires.push((name.text.clone(), name.span));
            }
            Value::Int { value, span } => {
                checker.diagnostics.push(
                    Diagnostic::new(Code::InvalidValue, *span, "command elements are strings or wire names")
                        .help("quote numbers: they are passed as text")
                        .fix("quote it", *span, format!("\"{value}\"")),
                );
                args.push(Arg::Literal(value.to_string().into()));
            }
            other => invalid(
                checker,
                other.span(),
                "command elements are strings or wire names".to_owned(),
                "write `command: [\"program\", \"arg\", wire]`",
            ),
        }
    }
    let append_wire_paths = named_wires.is_empty();
    Some(RunSetting { run: Run::Command { args, append_wire_paths }, span: *span, named_wires })
}

fn read_map(
    checker: &mut Checker<'_>,
    entry: &Entry,
    known_keys: Option<&[&str]>,
) -> Option<BTreeMap<SmolStr, SmolStr>> {
    let Value::Map { entries, .. } = &entry.value else {
        wrong_kind(checker, entry, "a map `{ KEY: \"value\" }`");
        return None;
    };
    let mut map = BTreeMap::new();
    // Maps are small: a list searched in order, no allocation for one entry.
    let mut seen: Vec<(&str, Span)> = Vec::new();
    for inner in entries {
        if let Some(known) = known_keys {
            if !known.contains(&inner.key.text.as_str()) {
                report_unknown_key(checker, &inner.key, known.iter().copied(), &format!("`{}` map", entry.key.text));
                continue;
            }
        }
        if let Some(&(_, first)) = seen.iter().find(|(key, _)| *key == inner.key.text.as_str()) {
            checker.diagnostics.push(
                Diagnostic::new(Code::DuplicateKey, inner.key.span, format!("`{}` is set twice", inner.key.text))
                    .label(first, "first set here")
                    .help("each key appears once in a map; remove one"),
            );
            continue;
        }
        seen.push((&inner.key.text, inner.key.span));
        let value = match (&inner.value, known_keys.is_some()) {
            (Value::Str(string), _) => string.value.clone(),
            // Resource quantities may be bare integers (`cpu: 2`), as in Kubernetes.
            (Value::Int { value, .. }, true) => value.to_string().into(),
            (other, _) => {
                let mut diagnostic = Diagnostic::new(
                    Code::InvalidValue,
                    other.span(),
                    format!("`{}` values are strings, not {}", entry.key.text, other.kind_description()),
                );
                if let Value::Int { value, span } = other {
                    diagnostic = diagnostic.help("quote it").fix("quote it", *span, format!("\"{value}\""));
                }
                checker.diagnostics.push(diagnostic);
                continue;
            }
        };
        if known_keys.is_some() && !is_quantity(&value) {
            invalid(
                checker,
                inner.value.span(),
                format!("`{value}` is not a Kubernetes quantity"),
                "write a number with an optional suffix: \"500m\" or \"2\" for CPU, \"512Mi\" or \"1Gi\" for memory",
            );
            continue;
        }
        map.insert(inner.key.text.clone(), value);
    }
    Some(map)
}

fn validate_image(checker: &mut Checker<'_>, image: SmolStr, span: Span) -> Option<SmolStr> {
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        invalid(
            checker,
            span,
            format!("`{image}` is not an image reference"),
            "write an image reference such as \"alpine:3.20\"",
        );
        return None;
    }
    Some(image)
}

/// `500ms`, `30s`, `5m`, `2h`, `7d`, or sums such as `1h30m`, in milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit_ms, unit_len) = if rest.starts_with("ms") {
            (1, 2)
        } else if rest.starts_with('s') {
            (1000, 1)
        } else if rest.starts_with('m') {
            (60_000, 1)
        } else if rest.starts_with('h') {
            (3_600_000, 1)
        } else if rest.starts_with('d') {
            (86_400_000, 1)
        } else {
            return None;
        };
        rest = &rest[unit_len..];
        total = total.checked_add(number.checked_mul(unit_ms)?)?;
    }
    Some(total)
}

/// A Kubernetes resource quantity: a decimal number with an optional
/// binary (`Ki`…`Ei`) or decimal (`m`, `k`, `M`…`E`) suffix, or an exponent.
pub fn is_quantity(text: &str) -> bool {
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let number = &text[..number_end];
    let valid_number = !number.is_empty() && number != "." && number.matches('.').count() <= 1;
    let suffix = &text[number_end..];
    let exponent = suffix.strip_prefix(['e', 'E']).map(|rest| rest.trim_start_matches(['+', '-']));
    let valid_suffix =
        matches!(suffix, "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei")
            || exponent.is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()));
    valid_number && valid_suffix
}

/// A volume size: a Kubernetes quantity of bytes above zero, a fraction
/// only before a suffix ("1.5Gi"); no milli-suffix and no exponent (a claim
/// of "500m" or "1e3" bytes is legal Kubernetes and certainly a mistake).
pub fn is_storage_size(text: &str) -> bool {
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let well_formed = !whole.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (!number.contains('.') || (!fraction.is_empty() && !suffix.is_empty()));
    well_formed
        && number.bytes().any(|b| b.is_ascii_digit() && b != b'0')
        && matches!(suffix, "" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei")
}

/// A Kubernetes label value (also used for node label selectors).
pub fn is_label_value(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() <= 63
        && bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes.first().is_none_or(u8::is_ascii_alphanumeric)
        && bytes.last().is_none_or(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(parse_duration("7d"), Some(604_800_000));
        assert_eq!(parse_duration("1d12h"), Some(129_600_000));
    }

    #[test]
    fn quantities() {
        for ok in ["500m", "1Gi", "2", "0.5", "1e3", "128974848"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "1GB", "abc", "1.2.3", "Gi", "1e"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn storage_sizes() {
        for ok in ["10Gi", "512Mi", "1073741824", "1T", "1.5Gi"] {
            assert!(is_storage_size(ok), "{ok}");
        }
        for bad in ["", "0", "0Gi", "1.5", "1.Gi", "500m", "1e9", "Gi", "10GB", "-1Gi", "0.0Gi"] {
            assert!(!is_storage_size(bad), "{bad}");
        }
    }
}
