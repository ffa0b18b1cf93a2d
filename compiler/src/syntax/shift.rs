//! Moving spans by the change in length of an edit before them: what keeps
//! the untouched tail of a file valid after an incremental re-parse
//! (`super::incremental`). Every span in the tree moves; the property test
//! there (re-parse equals a fresh parse) checks it, and each impl names every
//! field so that a field added to the tree does not compile until it moves.

use super::ast::{
    Block, Buffer, DefaultsBlock, Entry, Header, Input, Item, MergeMember, Name, Output, PortList, StringLit,
    TaskBlock, TypeDecl, Value, Wiring,
};
use crate::span::Span;

pub trait Shift {
    /// Moves every span by `delta` bytes. Only called on nodes after the edit,
    /// so no offset goes below the edit's start.
    fn shift(&mut self, delta: i64);
}

impl Shift for Span {
    fn shift(&mut self, delta: i64) {
        self.start = (i64::from(self.start) + delta) as u32;
        self.end = (i64::from(self.end) + delta) as u32;
    }
}

impl<T: Shift> Shift for Option<T> {
    fn shift(&mut self, delta: i64) {
        if let Some(inner) = self {
            inner.shift(delta);
        }
    }
}

impl<T: Shift> Shift for Vec<T> {
    fn shift(&mut self, delta: i64) {
        for inner in self {
            inner.shift(delta);
        }
    }
}

impl Shift for Item {
    fn shift(&mut self, delta: i64) {
        match self {
            Item::Header(header) => header.shift(delta),
            Item::Wiring(wiring) => wiring.shift(delta),
            Item::Task(task) => task.shift(delta),
            Item::Type(decl) => decl.shift(delta),
            Item::Defaults(defaults) => defaults.shift(delta),
            Item::Error(span) => span.shift(delta),
        }
    }
}

impl Shift for Name {
    fn shift(&mut self, delta: i64) {
        let Name { text: _, span } = self;
        span.shift(delta);
    }
}

impl Shift for StringLit {
    fn shift(&mut self, delta: i64) {
        let StringLit { value: _, span } = self;
        span.shift(delta);
    }
}

impl Shift for Header {
    fn shift(&mut self, delta: i64) {
        let Header { namespace, name, span } = self;
        namespace.shift(delta);
        name.shift(delta);
        span.shift(delta);
    }
}

impl Shift for Wiring {
    fn shift(&mut self, delta: i64) {
        let Wiring { inputs, task, outputs, span } = self;
        inputs.shift(delta);
        task.shift(delta);
        outputs.shift(delta);
        span.shift(delta);
    }
}

impl<T: Shift> Shift for PortList<T> {
    fn shift(&mut self, delta: i64) {
        let PortList { items, broken: _, span } = self;
        items.shift(delta);
        span.shift(delta);
    }
}

impl Shift for Input {
    fn shift(&mut self, delta: i64) {
        let Input { members, implicit, ty, span } = self;
        members.shift(delta);
        implicit.shift(delta);
        ty.shift(delta);
        span.shift(delta);
    }
}

impl Shift for MergeMember {
    fn shift(&mut self, delta: i64) {
        let MergeMember { wire, buffer } = self;
        wire.shift(delta);
        buffer.shift(delta);
    }
}

impl Shift for Buffer {
    fn shift(&mut self, delta: i64) {
        let Buffer { form: _, span } = self;
        span.shift(delta);
    }
}

impl Shift for Output {
    fn shift(&mut self, delta: i64) {
        let Output { wire, implicit, ty, span } = self;
        wire.shift(delta);
        implicit.shift(delta);
        ty.shift(delta);
        span.shift(delta);
    }
}

impl Shift for TypeDecl {
    fn shift(&mut self, delta: i64) {
        let TypeDecl { name, base, mime, export, span } = self;
        name.shift(delta);
        base.shift(delta);
        mime.shift(delta);
        export.shift(delta);
        span.shift(delta);
    }
}

impl Shift for TaskBlock {
    fn shift(&mut self, delta: i64) {
        let TaskBlock { name, body, span } = self;
        name.shift(delta);
        body.shift(delta);
        span.shift(delta);
    }
}

impl Shift for DefaultsBlock {
    fn shift(&mut self, delta: i64) {
        let DefaultsBlock { keyword, body, span } = self;
        keyword.shift(delta);
        body.shift(delta);
        span.shift(delta);
    }
}

impl Shift for Block {
    fn shift(&mut self, delta: i64) {
        let Block { entries, broken: _, span } = self;
        entries.shift(delta);
        span.shift(delta);
    }
}

impl Shift for Entry {
    fn shift(&mut self, delta: i64) {
        let Entry { key, value, span } = self;
        key.shift(delta);
        value.shift(delta);
        span.shift(delta);
    }
}

impl Shift for Value {
    fn shift(&mut self, delta: i64) {
        match self {
            Value::Str(string) => string.shift(delta),
            Value::Int { span, .. } | Value::Error(span) => span.shift(delta),
            Value::Name(name) => name.shift(delta),
            Value::List { items, span } => {
                items.shift(delta);
                span.shift(delta);
            }
            Value::Map { entries, span } => {
                entries.shift(delta);
                span.shift(delta);
            }
        }
    }
}
