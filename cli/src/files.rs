//! Turns command-line paths into file contents: files as given, directories
//! walked for `*.kja` (sorted, so output order is stable), `-` as stdin.

use std::io::Read;
use std::path::{Path, PathBuf};

use koalja_compiler::source::MAX_SOURCE_BYTES;

pub enum Input {
    File(PathBuf, Vec<u8>),
    Stdin(Vec<u8>),
}

/// Each path's files, in order; an `Err` names a path that could not be read.
pub fn expand(paths: &[PathBuf]) -> Vec<Result<Input, String>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            inputs.push(match std::io::stdin().read_to_end(&mut bytes) {
                Ok(_) => Ok(Input::Stdin(bytes)),
                Err(error) => Err(format!("cannot read standard input: {error}")),
            });
            continue;
        }
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_dir() => {
                let mut found = Vec::new();
                if let Err(error) = walk(path, &mut found) {
                    inputs.push(Err(format!("cannot read directory {}: {error}", path.display())));
                    continue;
                }
                if found.is_empty() {
                    inputs.push(Err(format!("no .kja files under {}", path.display())));
                }
                found.sort();
                inputs.extend(found.into_iter().map(|file| read(&file)));
            }
            Ok(_) => inputs.push(read(path)),
            Err(error) => inputs.push(Err(format!("cannot read {}: {error}", path.display()))),
        }
    }
    inputs
}

fn walk(directory: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "kja") {
            found.push(path);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<Input, String> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= MAX_SOURCE_BYTES => {
            Err(format!("{} is larger than 4 GiB, the most koaljac reads", path.display()))
        }
        Ok(bytes) => Ok(Input::File(path.to_owned(), bytes)),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}
