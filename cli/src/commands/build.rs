//! `koaljac build`: Kubernetes objects as YAML or JSON; also the build
//! options and refusals the cluster commands share.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use koalja_compiler::diagnostic::Diagnostic;
use koalja_compiler::lower::{self, BuildOptions, Manifests};

use crate::args::ManifestFormat;
use crate::load::{eprint_diagnostics, load_all, Loaded};
use crate::output::{write_atomically, EXIT_INPUT_ERRORS, EXIT_USAGE_OR_IO};

/// Build options from the command line: `--agent-image`, and the cluster
/// commands' `--namespace`.
pub fn build_options(agent_image: Option<String>, namespace: Option<String>) -> BuildOptions {
    let defaults = BuildOptions::default();
    BuildOptions { agent_image: agent_image.unwrap_or(defaults.agent_image), namespace, ..defaults }
}

/// Prints why `file` does not build: its errors, or the tasks without an
/// image, as `check` shows diagnostics.
pub fn print_build_refusal(file: &Loaded, diagnostics: Vec<Diagnostic>) {
    let mut shown = file.analysis.clone();
    shown.diagnostics = diagnostics;
    eprint_diagnostics(file, &shown);
}

/// `build`: every file must build, or nothing is written at all.
pub fn build(paths: &[PathBuf], format: ManifestFormat, output: Option<&Path>, options: BuildOptions) -> ExitCode {
    let (loaded, io_failed) = load_all(paths);
    if io_failed {
        return ExitCode::from(EXIT_USAGE_OR_IO);
    }
    let mut built: Vec<(String, Manifests)> = Vec::new();
    let mut failed = false;
    for file in &loaded {
        match lower::build(&file.analysis, &options) {
            Ok(manifests) => {
                let pipeline = &file.analysis.pipeline;
                built.push((format!("{}-{}", manifests.namespace(), pipeline.name), manifests));
            }
            Err(diagnostics) => {
                failed = true;
                print_build_refusal(file, diagnostics);
            }
        }
    }
    if failed {
        eprintln!("error: nothing was built");
        return ExitCode::from(EXIT_INPUT_ERRORS);
    }
    let write = |manifests: &Manifests, out: &mut dyn Write| match format {
        ManifestFormat::Yaml => manifests.write_yaml(out),
        ManifestFormat::Json => manifests.write_json(out),
    };
    let extension = match format {
        ManifestFormat::Yaml => "yaml",
        ManifestFormat::Json => "json",
    };
    let written = match output {
        None => {
            let mut stdout = std::io::stdout().lock();
            built.iter().all(|(_, manifests)| write(manifests, &mut stdout).is_ok()) && stdout.flush().is_ok()
        }
        Some(directory) => {
            std::fs::create_dir_all(directory).is_ok()
                && built.iter().all(|(name, manifests)| {
                    let target = directory.join(format!("{name}.{extension}"));
                    write_atomically(&target, |out| write(manifests, out))
                        .map_err(|e| eprintln!("error: cannot write {}: {e}", target.display()))
                        .is_ok()
                })
        }
    };
    // As in `check`: the process is about to exit, so let the OS reclaim
    // the trees rather than free them node by node.
    std::mem::forget(built);
    std::mem::forget(loaded);
    if written {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_USAGE_OR_IO)
    }
}
