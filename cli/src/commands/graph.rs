//! `koaljac graph`: the designed map as DOT, Mermaid, JSON or SVG.

use std::path::Path;
use std::process::ExitCode;

use koalja_compiler::graph::layout::Direction;
use koalja_compiler::graph::{dot, json, mermaid, svg, GraphView};
use koalja_compiler::ir::Ir;

use crate::args::GraphFormat;
use crate::load::{input_exit_code, load_one};
use crate::output::{write_atomically, write_stdout, EXIT_USAGE_OR_IO};

/// Drawn even when the file has errors (error nodes mark them); exit 1 then.
pub fn graph(path: &Path, format: GraphFormat, direction: Direction, output: Option<&Path>) -> ExitCode {
    let file = match load_one(std::slice::from_ref(&path.to_path_buf()), "graph") {
        Ok(file) => file,
        Err(code) => return code,
    };
    let ir = Ir::from_analysis(&file.analysis);
    let view = GraphView::from_ir(&ir);
    let drawing = match format {
        GraphFormat::Dot => dot::render_in(&view, direction),
        GraphFormat::Mermaid => mermaid::render_in(&view, direction),
        GraphFormat::Json => json::render(&view, &file.analysis),
        GraphFormat::Svg => svg::render_in(&view, direction),
    };
    let written = match output {
        Some(target) => write_atomically(target, |out| out.write_all(drawing.as_bytes())).map_err(|error| {
            eprintln!("error: cannot write {}: {error}", target.display());
        }),
        None => write_stdout(&drawing).map_err(|_| ()),
    };
    if written.is_err() {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    input_exit_code(&file.analysis, false)
}
