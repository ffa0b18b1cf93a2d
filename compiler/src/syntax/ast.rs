//! The syntax tree, exactly as written (no resolution, no defaults applied).
//! Every node has its span. Broken parts are explicit: an `Item::Error` for a
//! statement the parser had to skip, `broken` flags on lists and blocks whose
//! inside it skipped, so the checker can stay quiet about what it cannot see
//! and the language server still has everything around the error.

use serde::Serialize;
use smol_str::SmolStr;

use crate::span::Span;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Item {
    Header(Header),
    Wiring(Wiring),
    Task(TaskBlock),
    Type(TypeDecl),
    Defaults(DefaultsBlock),
    /// A statement that did not parse; the parser resumed after it.
    Error(Span),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Header(header) => header.span,
            Item::Wiring(wiring) => wiring.span,
            Item::Task(task) => task.span,
            Item::Type(decl) => decl.span,
            Item::Defaults(defaults) => defaults.span,
            Item::Error(span) => *span,
        }
    }
}

/// A name as written: a wire, task, type, key, or option value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Name {
    pub text: SmolStr,
    pub span: Span,
}

/// `[name]`, `[namespace/name]` or `[namespace:name]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Header {
    pub namespace: Option<Name>,
    pub name: Name,
    pub span: Span,
}

/// `( inputs ) task ( outputs )`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Wiring {
    pub inputs: PortList<Input>,
    pub task: Name,
    pub outputs: PortList<Output>,
    pub span: Span,
}

/// A parenthesised list. `broken` means the parser skipped some of it, so
/// `items` may be missing entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortList<T> {
    pub items: Vec<T>,
    pub broken: bool,
    pub span: Span,
}

/// One input: a wire or a merge (`a + b`), then an optional buffer spec,
/// `implicit`, and a type annotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Input {
    /// One member for a plain input; two or more for a merge.
    pub members: Vec<MergeMember>,
    pub implicit: Option<Span>,
    pub ty: Option<Name>,
    pub span: Span,
}

impl Input {
    /// The name the input goes by in commands: its first member's.
    pub fn name(&self) -> &Name {
        &self.members[0].wire
    }

    /// The buffer written after the last member, which applies to the input.
    pub fn buffer(&self) -> Option<&Buffer> {
        self.members.last().and_then(|member| member.buffer.as_ref())
    }

    pub fn is_merge(&self) -> bool {
        self.members.len() > 1
    }
}

/// A member of an input; for a plain input, the input's only member. Only the
/// last member of a merge may carry a buffer (K0019 otherwise).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergeMember {
    pub wire: Name,
    pub buffer: Option<Buffer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Buffer {
    pub form: BufferForm,
    pub span: Span,
}

/// Buffer forms as written. Numbers are `u64`; the checker bounds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BufferForm {
    /// `[N]`
    Count(u64),
    /// `[M-N]`
    Range(u64, u64),
    /// `[N/S]`
    Window(u64, u64),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Output {
    pub wire: Name,
    pub implicit: Option<Span>,
    pub ty: Option<Name>,
    pub span: Span,
}

/// `type name = base "mime" export`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypeDecl {
    pub name: Name,
    pub base: Name,
    pub mime: Option<StringLit>,
    pub export: Option<Span>,
    pub span: Span,
}

/// `task name { entries }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskBlock {
    pub name: Name,
    pub body: Block,
    pub span: Span,
}

/// `defaults { entries }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DefaultsBlock {
    pub keyword: Span,
    pub body: Block,
    pub span: Span,
}

/// The braces of a task or defaults block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Block {
    pub entries: Vec<Entry>,
    pub broken: bool,
    pub span: Span,
}

/// `key: value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub key: Name,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StringLit {
    /// With escapes decoded.
    pub value: SmolStr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Value {
    Str(StringLit),
    Int {
        value: u64,
        span: Span,
    },
    Name(Name),
    /// `[a, "b", 3]`: elements are scalars (no nesting).
    List {
        items: Vec<Value>,
        span: Span,
    },
    /// `{ KEY: value, … }`: values are scalars (no nesting).
    Map {
        entries: Vec<Entry>,
        span: Span,
    },
    /// A value the parser skipped.
    Error(Span),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Str(string) => string.span,
            Value::Int { span, .. } => *span,
            Value::Name(name) => name.span,
            Value::List { span, .. } => *span,
            Value::Map { span, .. } => *span,
            Value::Error(span) => *span,
        }
    }

    /// How the value is named in "expected …, found …" messages.
    pub fn kind_description(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int { .. } => "an integer",
            Value::Name(_) => "a name",
            Value::List { .. } => "a list",
            Value::Map { .. } => "a map",
            Value::Error(_) => "an invalid value",
        }
    }
}
