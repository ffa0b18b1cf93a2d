//! One open document: its text, kept in step with the client's edits, and
//! the compiler's analysis of the latest version.

use std::sync::{Arc, OnceLock};

use koalja_compiler::analysis::{analyze_text, pipeline_name_for_path, reanalyze, Analysis};
use koalja_compiler::ir::Ir;
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::position::LineStarts;

#[derive(Clone, Debug)]
pub struct Document {
    pub text: String,
    pub version: i32,
    pub lines: LineStarts,
    /// Shared with requests in flight while a newer version is analysed.
    pub analysis: Arc<Analysis>,
    /// The IR of this version, built by the first request that needs it
    /// (hover, the graph) and shared by the rest.
    ir: Arc<OnceLock<Ir>>,
    /// The pipeline name when the file has no header: the file's stem, as
    /// `koaljac check` uses, so both report the same.
    default_name: String,
}

impl Document {
    pub fn open(uri: &Uri, text: String, version: i32) -> Document {
        let default_name =
            uri.to_file_path().map_or_else(|| "pipeline".to_owned(), |path| pipeline_name_for_path(&path));
        let analysis = Arc::new(analyze_text(&text, &default_name));
        Document { lines: LineStarts::new(&text), text, version, analysis, ir: Arc::default(), default_name }
    }

    pub fn ir(&self) -> &Ir {
        self.ir.get_or_init(|| Ir::from_analysis(&self.analysis))
    }

    /// Applies the client's changes in order (ranged ones splice, one without
    /// a range replaces the text), then analyses the result, re-parsing only
    /// what changed where the compiler can (`reanalyze`).
    pub fn change(&mut self, changes: Vec<TextDocumentContentChangeEvent>, version: i32) {
        for change in changes {
            match change.range {
                Some(range) => {
                    let bytes = self.lines.offsets(&self.text, range);
                    self.text.replace_range(bytes, &change.text);
                }
                None => self.text = change.text,
            }
            self.lines = LineStarts::new(&self.text);
        }
        self.version = version;
        self.analysis = Arc::new(reanalyze(&self.analysis, self.text.clone(), &self.default_name));
        self.ir = Arc::default();
    }
}
