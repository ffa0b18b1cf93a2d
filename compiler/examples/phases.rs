//! Times each front-end phase on one file: `phases FILE`. A profiling aid.

use std::time::Instant;

use koalja_compiler::diagnostic::Diagnostics;
use koalja_compiler::{check, syntax};

fn main() {
    let path = std::env::args().nth(1).expect("usage: phases FILE");
    let text = std::fs::read_to_string(path).expect("readable UTF-8 file");
    let mut diagnostics = Diagnostics::default();
    let start = Instant::now();
    let lexed = syntax::lexer::lex(&text, &mut diagnostics);
    let lexed_at = Instant::now();
    let file = syntax::parser::parse(&text, &lexed.tokens, &mut diagnostics);
    let parsed_at = Instant::now();
    let pipeline = check::check(&text, &file, "p", &mut diagnostics);
    let checked_at = Instant::now();
    println!(
        "{} bytes, {} tokens, {} tasks: lex {:?}, parse {:?}, check {:?}",
        text.len(),
        lexed.tokens.len(),
        pipeline.tasks.len(),
        lexed_at - start,
        parsed_at - lexed_at,
        checked_at - parsed_at
    );
}
