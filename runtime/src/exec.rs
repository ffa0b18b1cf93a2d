//! The executor: runs a task's code as a child process for one snapshot.
//!
//! `command` is an argv whose wire names expand to paths (N paths for a
//! buffer of N); `shell` runs `/bin/sh -c` with each `{wire}` replaced by
//! its shell-quoted paths. The child gets its own process group, so a
//! timeout kills everything it started. A run succeeds on exit 0; a failure
//! is retried `retries` times with a doubling back-off, and the last
//! failure's exit status and standard-error tail are kept for the record.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::link::remove_any;
use crate::plan::{Arg, Run, TaskPlan};

/// What one run sees, with paths already on this machine.
pub struct Invocation<'a> {
    pub task: &'a TaskPlan,
    /// Each triggering input by its name in commands, with its paths in
    /// snapshot order.
    pub inputs: Vec<(String, Vec<PathBuf>)>,
    /// Each implicit input by name, with its service's address.
    pub services: Vec<(String, String)>,
    /// Each output wire with the path the code must write.
    pub outputs: Vec<(String, PathBuf)>,
    /// Variables the agent adds (KOALJA_*), after the task's own `env`.
    pub env: Vec<(String, String)>,
    /// The working directory; `stdout` and `stderr` files are kept here.
    pub dir: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub succeeded: bool,
    pub attempts: u32,
    /// The exit code, or the negated signal number of a killed child;
    /// `None` when the program could not start.
    pub exit_status: Option<i32>,
    pub stderr_tail: Option<String>,
}

/// How much of standard error a failed run's record keeps.
const STDERR_TAIL_BYTES: usize = 2048;

impl Invocation<'_> {
    /// The argv: program first.
    pub fn argv(&self) -> Vec<String> {
        match &self.task.run {
            Run::Command { args, append_wire_paths } => {
                let mut argv = Vec::new();
                for arg in args {
                    match arg {
                        Arg::Literal(text) => argv.push(text.clone()),
                        Arg::Wire(name) => argv.extend(self.expand(name)),
                    }
                }
                if *append_wire_paths {
                    argv.extend(self.inputs.iter().flat_map(|(_, paths)| paths.iter().map(|path| path_text(path))));
                    argv.extend(self.outputs.iter().map(|(_, path)| path_text(path)));
                }
                argv
            }
            Run::Shell(script) => {
                let expanded = match &self.task.shell_template {
                    Some(parts) => parts
                        .iter()
                        .map(|part| match part {
                            Arg::Literal(text) => text.clone(),
                            Arg::Wire(name) => {
                                self.expand(name).iter().map(|word| quote(word)).collect::<Vec<_>>().join(" ")
                            }
                        })
                        .collect(),
                    None => script.clone(),
                };
                vec!["/bin/sh".to_owned(), "-c".to_owned(), expanded]
            }
        }
    }

    /// A wire name's words: an input's paths, an output's path, or a
    /// service's address.
    fn expand(&self, name: &str) -> Vec<String> {
        if let Some((_, paths)) = self.inputs.iter().find(|(input, _)| input == name) {
            return paths.iter().map(|path| path_text(path)).collect();
        }
        if let Some((_, path)) = self.outputs.iter().find(|(wire, _)| wire == name) {
            return vec![path_text(path)];
        }
        if let Some((_, address)) = self.services.iter().find(|(service, _)| service == name) {
            return vec![address.clone()];
        }
        Vec::new()
    }

    /// Runs the code, with retries; never fails itself (a program that
    /// cannot start is a failed run, recorded like any other).
    pub async fn run(&self) -> Outcome {
        let attempts = self.task.retries.saturating_add(1);
        let mut outcome = Outcome { succeeded: false, attempts: 0, exit_status: None, stderr_tail: None };
        for attempt in 1..=attempts {
            if attempt > 1 {
                let backoff = Duration::from_millis(100u64 << (attempt - 2).min(6)).min(Duration::from_secs(5));
                tokio::time::sleep(backoff).await;
            }
            outcome = self.attempt().await;
            outcome.attempts = attempt;
            if outcome.succeeded {
                break;
            }
        }
        outcome
    }

    async fn attempt(&self) -> Outcome {
        for (_, path) in &self.outputs {
            remove_any(path);
        }
        let failed = |exit_status, stderr_tail: String| Outcome {
            succeeded: false,
            attempts: 1,
            exit_status,
            stderr_tail: Some(stderr_tail),
        };
        let stdout = std::fs::File::create(self.dir.join("stdout"));
        let stderr_path = self.dir.join("stderr");
        let stderr = std::fs::File::create(&stderr_path);
        let (Ok(stdout), Ok(stderr)) = (stdout, stderr) else {
            return failed(None, format!("cannot create log files in {}", self.dir.display()));
        };
        let argv = self.argv();
        let Some((program, args)) = argv.split_first() else {
            return failed(None, "the command is empty".to_owned());
        };
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(&self.dir)
            .envs(self.task.env.iter())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => return failed(None, format!("cannot start `{program}`: {error}")),
        };
        let status = match self.task.timeout_ms {
            Some(limit) => match tokio::time::timeout(Duration::from_millis(limit), child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    kill_group(&child);
                    let _ = child.wait().await;
                    let tail = stderr_tail(&stderr_path);
                    return failed(None, format!("timed out after {} ms; killed\n{tail}", limit).trim_end().to_owned());
                }
            },
            None => child.wait().await,
        };
        match status {
            Ok(status) if status.success() => {
                Outcome { succeeded: true, attempts: 1, exit_status: Some(0), stderr_tail: None }
            }
            Ok(status) => {
                let code = status.code().or_else(|| status.signal().map(|signal| -signal));
                failed(code, stderr_tail(&stderr_path))
            }
            Err(error) => failed(None, format!("waiting for the program failed: {error}")),
        }
    }
}

/// Kills the child's whole process group (the shell and what it started).
fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) with a negative pid signals that process group;
        // the group is the child's own (process_group(0) at spawn).
        unsafe {
            libc::kill(-(pid as i32), libc::SIGKILL);
        }
    }
}

fn stderr_tail(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(STDERR_TAIL_BYTES);
    String::from_utf8_lossy(&bytes[start..]).trim_end().to_owned()
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// POSIX shell quoting (single quotes when needed).
fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| "''".to_owned(), |quoted| quoted.into_owned())
}

#[cfg(test)]
mod tests;
