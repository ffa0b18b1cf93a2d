//! Firing contracts: what makes each task run and what each run sees, derived
//! from its inputs' buffers, merges and its policy (LANGUAGE.md §3), in a form
//! for programs and a sentence for people ("runs after every 2 new values on
//! `in_images`; each run sees the 10 newest, oldest first"). Also how many
//! paths each wire name expands to in the command.

use serde::Serialize;
use smol_str::SmolStr;

use crate::model::{shell_placeholders, Arg, Firing, Pipeline, Policy, Run, Task, TaskInput};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Contract {
    pub policy: Policy,
    pub inputs: Vec<InputContract>,
    /// What each run writes, in wiring order (the order paths are appended
    /// to a `command` that names no wire).
    pub outputs: Vec<OutputContract>,
    /// A `shell` run split at its `{wire}` placeholders, so the runtime
    /// substitutes quoted paths without parsing the string again.
    pub shell: Option<Vec<Arg>>,
    /// The whole contract in words.
    pub sentence: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputContract {
    /// The name in commands (a merge's first member).
    pub name: SmolStr,
    /// The wires merged into this input (one for a plain input).
    pub wires: Vec<SmolStr>,
    /// Whether new values on this input can start a run (not for services).
    pub triggers: bool,
    pub firing: Firing,
    /// How many paths the name expands to in a command: `min..=max`
    /// (`[0, 0]` for a service, which expands to one address instead).
    pub paths: [u64; 2],
    /// This input in words.
    pub sentence: String,
    /// How the input is named in sentences: `` `a` (merged from …) ``.
    #[serde(skip)]
    shown: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutputContract {
    pub wire: SmolStr,
    /// The wire's resolved type (`service` for an implicit output).
    #[serde(rename = "type")]
    pub ty: SmolStr,
}

pub fn contract(pipeline: &Pipeline, task: &Task) -> Contract {
    let inputs: Vec<InputContract> = task.inputs.iter().map(|input| input_contract(pipeline, input)).collect();
    let outputs = task
        .outputs
        .iter()
        .map(|output| {
            let wire = &pipeline.wires[output.wire];
            OutputContract { wire: wire.name.clone(), ty: wire.ty.clone() }
        })
        .collect();
    let shell = match &task.settings.run {
        Some(Run::Shell(script)) => Some(shell_template(script)),
        _ => None,
    };
    let sentence = sentence(task.settings.policy, &inputs);
    Contract { policy: task.settings.policy, inputs, outputs, shell, sentence }
}

/// `sort {in} > {out}` as literal, wire, literal, wire; `{{` in a literal
/// part becomes the `{` it stands for (grammar/reference.md).
fn shell_template(script: &str) -> Vec<Arg> {
    let mut parts = Vec::new();
    let mut literal_start = 0;
    let literal = |text: &str, parts: &mut Vec<Arg>| {
        if !text.is_empty() {
            parts.push(Arg::Literal(text.replace("{{", "{").into()));
        }
    };
    for (range, name) in shell_placeholders(script) {
        literal(&script[literal_start..range.start], &mut parts);
        parts.push(Arg::Wire(name.into()));
        literal_start = range.end;
    }
    literal(&script[literal_start..], &mut parts);
    parts
}

fn input_contract(pipeline: &Pipeline, input: &TaskInput) -> InputContract {
    let wires: Vec<SmolStr> = input.wires.iter().map(|&w| pipeline.wires[w].name.clone()).collect();
    let (triggers, paths) = match input.firing {
        Firing::Count { min, max } => (true, [min, max]),
        Firing::Window { size, .. } => (true, [size, size]),
        Firing::Service => (false, [0, 0]),
    };
    let shown = match wires.len() {
        1 => format!("`{}`", input.name),
        _ => format!("`{}` (merged from {}, first come first served)", input.name, quoted_list(&wires, "and")),
    };
    let name = &shown;
    let sentence = match input.firing {
        Firing::Count { min: 1, max: 1 } => format!("one new value of {name}"),
        Firing::Count { min, max } if min == max => format!("{min} new values of {name}"),
        Firing::Count { min, max } => format!("{min} to {max} new values of {name}"),
        Firing::Window { size: 1, slide: 1 } => format!("the newest value of {name}"),
        Firing::Window { size, slide } if size == slide => {
            format!("the next {size} values of {name} (a tumbling window)")
        }
        Firing::Window { size, .. } => format!("the {size} newest values of {name}"),
        Firing::Service => format!("the address of the service {name}"),
    };
    InputContract { name: input.name.clone(), wires, triggers, firing: input.firing, paths, sentence, shown }
}

/// The contract in words. The single-input cases read as the design brief
/// writes them; several inputs are listed.
fn sentence(policy: Policy, inputs: &[InputContract]) -> String {
    let triggering: Vec<&InputContract> = inputs.iter().filter(|i| i.triggers).collect();
    let services: Vec<&InputContract> = inputs.iter().filter(|i| !i.triggers).collect();
    let mut text = match (policy, triggering.as_slice()) {
        (_, []) => "has no triggering inputs: runs once when the pipeline starts".to_owned(),
        (Policy::AllNew, [only]) => match only.firing {
            Firing::Count { min: 1, max: 1 } => format!("runs once for every new value on {}", only.shown),
            Firing::Count { min, max } if min == max => {
                format!("runs for every {min} new values on {}; each run takes those {min}, oldest first", only.shown)
            }
            Firing::Count { min, max } => format!(
                "runs when {} has at least {min} unused values; each run takes up to {max} of them, oldest first",
                only.shown
            ),
            _ => format!("runs on {}", only.sentence),
        },
        (Policy::AllNew, many) => format!(
            "runs when every input has enough unused values; each run takes {}; no value is used twice",
            sentences(many)
        ),
        (Policy::SwapNewForOld, many) => format!(
            "runs on every new value of {} once each has had one; each run sees the newest value of each",
            join(&many.iter().map(|i| i.shown.clone()).collect::<Vec<_>>(), "or")
        ),
        (Policy::SlidingWindow, [only]) => match only.firing {
            Firing::Window { size, slide } if size == slide && size == 1 => {
                format!("runs once for every new value on {}", only.shown)
            }
            Firing::Window { size, slide } if size == slide => {
                format!("runs for every {size} new values on {}; each run sees those {size}, oldest first", only.shown)
            }
            Firing::Window { size, slide } => format!(
                "runs after every {} on {}; each run sees the {size} newest, oldest first",
                values(slide),
                only.shown
            ),
            _ => format!("runs on {}", only.sentence),
        },
        (Policy::SlidingWindow, many) => {
            let advances: Vec<String> = many
                .iter()
                .map(|input| match input.firing {
                    Firing::Window { slide, .. } => format!("every {} on {}", values(slide), input.shown),
                    _ => input.shown.clone(),
                })
                .collect();
            let first: Vec<String> = many
                .iter()
                .map(|input| match input.firing {
                    Firing::Window { size, .. } => format!("{} has {}", input.shown, count(size)),
                    _ => format!("{} has values", input.shown),
                })
                .collect();
            format!(
                "first runs when {}; then after {}; each run sees {}, oldest first, reusing an input that did not advance",
                join(&first, "and"),
                join(&advances, "or"),
                sentences(many)
            )
        }
    };
    if !services.is_empty() {
        text.push_str(&format!(
            "; calls {} (never triggers a run)",
            join(&services.iter().map(|s| format!("the service `{}`", s.name)).collect::<Vec<_>>(), "and")
        ));
    }
    text
}

fn sentences(inputs: &[&InputContract]) -> String {
    join(&inputs.iter().map(|i| i.sentence.clone()).collect::<Vec<_>>(), "and")
}

fn values(n: u64) -> String {
    if n == 1 {
        "new value".to_owned()
    } else {
        format!("{n} new values")
    }
}

fn count(n: u64) -> String {
    if n == 1 {
        "a value".to_owned()
    } else {
        format!("{n} values")
    }
}

fn quoted_list(names: &[SmolStr], conjunction: &str) -> String {
    join(&names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>(), conjunction)
}

fn join(items: &[String], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}
