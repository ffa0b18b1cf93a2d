//! Strings that YAML readers are known to misread, and a pipeline that
//! carries them in every place a user's text reaches the manifests: a task's
//! `image`, its `env` values and its `command` (which travels inside the IR
//! ConfigMap). Shared by the YAML property test (`build.rs`, through
//! serde_norway) and the real-cluster test (through kubectl's own reader).

#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::Value;

/// Pieces that have tripped YAML emitters: line breaks YAML 1.1 knows and
/// JSON does not (U+0085, U+2028, U+2029), control and non-characters,
/// indicators, and the words YAML 1.1 resolves to booleans, nulls and numbers.
const PIECES: &[&str] = &[
    "\u{85}", "\u{2028}", "\u{2029}", "\u{feff}", "\u{fffe}", "\u{ffff}", "\u{0}", "\u{1}", "\u{7}", "\u{1b}", "\r",
    "\r\n", "\u{7f}", "\u{9b}", "\u{a0}", "\t", "\n", "\n\n", " ", "- ", ": ", "#", " #", "'", "\"", "\\", "yes", "no",
    "on", "off", "y", "n", "true", "False", "null", "~", "NULL", "1", "0755", "0x1F", "1e3", "1_000", ".inf", "-.5",
    "12:30", "---", "...", "|", ">", "&a", "*a", "!t", "%", "@", "`", "?", "[", "]", ",", "über", "日本", "😀",
];

/// An arbitrary string, mostly made of `PIECES`, sometimes of any characters.
pub fn tricky_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-z]{1,4}",
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

/// Image references (the checker refuses anything else, K0029) that YAML 1.1
/// resolves to something other than a string when written plain: booleans,
/// octal, hexadecimal, exponents, sexagesimal `12:30` (750), and names that
/// only a quoted scalar keeps.
const IMAGES: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "false",
    "1",
    "0755",
    "0x1f",
    "1e3",
    "12:30",
    "1.5",
    "nan",
    "inf",
    "yes:no",
    "on:1",
    "null:latest",
    "alpine:3.20",
    "registry.example:5000/a/b:1",
    "a-b_c.d:1e3",
];

/// An image reference from `IMAGES`.
pub fn tricky_image() -> impl Strategy<Value = String> {
    proptest::sample::select(IMAGES).prop_map(str::to_owned)
}

/// `text` as a Koalja string literal: the language escapes only `"`, `\`,
/// newline and tab (LANGUAGE.md §1); every other character is written as is.
pub fn literal(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One task `t` in pipeline `NAMESPACE/strings` whose image, env values
/// `V0`, `V1`, … and command arguments are the given strings.
pub fn pipeline(namespace: &str, image: &str, env: &[String], args: &[String]) -> String {
    let env: Vec<String> = env.iter().enumerate().map(|(i, value)| format!("V{i}: {}", literal(value))).collect();
    let args: Vec<String> = args.iter().map(|arg| literal(arg)).collect();
    format!(
        "[{namespace}/strings]\n(in) t (out)\ntask t {{\n  image: {}\n  command: [{}]\n  env: {{ {} }}\n}}\n",
        literal(image),
        args.join(", "),
        env.join(", ")
    )
}

/// What a reader made of the objects of `pipeline`: the task container's
/// image, the values of `V0`, `V1`, … and the command in the IR ConfigMap.
#[derive(Debug, PartialEq, Eq)]
pub struct ReadBack {
    pub image: String,
    pub env: Vec<String>,
    pub command: Vec<String>,
}

/// Finds the strings again in `objects` (JSON values of the objects as a
/// reader parsed them).
pub fn read_back(objects: &[Value]) -> ReadBack {
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in what was read back"))
    };
    let task = find("StatefulSet", "strings-t");
    let container = &task["spec"]["template"]["spec"]["containers"][0];
    let mut env: Vec<(usize, String)> = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|var| {
            let index = var["name"].as_str()?.strip_prefix('V')?.parse().ok()?;
            Some((index, var["value"].as_str().unwrap_or_default().to_owned()))
        })
        .collect();
    env.sort();
    let ir_text = find("ConfigMap", "strings-ir")["data"]["ir.json"].as_str().expect("the IR as text").to_owned();
    let ir: Value = serde_json::from_str(&ir_text).expect("the IR ConfigMap holds JSON");
    let command = command_of(&ir, "t");
    ReadBack {
        image: container["image"].as_str().unwrap_or_default().to_owned(),
        env: env.into_iter().map(|(_, value)| value).collect(),
        command,
    }
}

/// The literal arguments of task `task`'s command in an IR (wire names and
/// appended paths left out).
fn command_of(ir: &Value, task: &str) -> Vec<String> {
    let nodes = ir["nodes"].as_array().expect("IR nodes");
    let node = nodes
        .iter()
        .find(|n| n["kind"] == "task" && n["name"] == task)
        .unwrap_or_else(|| panic!("no task {task} in the IR"));
    node["run"]["command"]["args"]
        .as_array()
        .expect("a command")
        .iter()
        .filter_map(|part| part["literal"].as_str().map(str::to_owned))
        .collect()
}
