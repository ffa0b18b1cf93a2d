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
    /// The working directory (shared by an agent's runs, one at a time).
    pub dir: PathBuf,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub succeeded: bool,
    pub attempts: u32,
    /// The exit code, or the negated signal number of a killed child;
    /// `None` when the program could not start.
    pub exit_status: Option<i32>,
    /// The last 2 KiB of each stream (none when empty).
    pub stdout_tail: Option<String>,
    pub stderr_tail: Option<String>,
}

/// How much of standard output and error a run's record keeps.
const TAIL_BYTES: usize = 2048;

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
        let mut outcome =
            Outcome { succeeded: false, attempts: 0, exit_status: None, stdout_tail: None, stderr_tail: None };
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
            stdout_tail: None,
            stderr_tail: Some(stderr_tail),
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
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => return failed(None, format!("cannot start `{program}`: {error}")),
        };
        // The streams are read as they come (a full pipe would stall the
        // child) and only their tails are kept, in the run's record: no
        // log file per run, whose inode would cost more than a small run.
        let stdout = child.stdout.take().map(|pipe| tokio::spawn(tail_of(pipe)));
        let stderr = child.stderr.take().map(|pipe| tokio::spawn(tail_of(pipe)));
        let mut timed_out = false;
        let status = match self.task.timeout_ms {
            Some(limit) => match tokio::time::timeout(Duration::from_millis(limit), child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    timed_out = true;
                    kill_group(&child);
                    child.wait().await
                }
            },
            None => child.wait().await,
        };
        let stdout_tail = collect(stdout).await;
        let stderr_tail = collect(stderr).await;
        if timed_out {
            let limit = self.task.timeout_ms.unwrap_or(0);
            return failed(None, format!("timed out after {limit} ms; killed\n{stderr_tail}").trim_end().to_owned());
        }
        match status {
            Ok(status) if status.success() => Outcome {
                succeeded: true,
                attempts: 1,
                exit_status: Some(0),
                stdout_tail: Some(stdout_tail).filter(|t| !t.is_empty()),
                stderr_tail: Some(stderr_tail).filter(|t| !t.is_empty()),
            },
            Ok(status) => {
                let code = status.code().or_else(|| status.signal().map(|signal| -signal));
                Outcome { stdout_tail: Some(stdout_tail).filter(|t| !t.is_empty()), ..failed(code, stderr_tail) }
            }
            Err(error) => failed(None, format!("waiting for the program failed: {error}")),
        }
    }
}

/// Reads a stream to its end, keeping the last `TAIL_BYTES`.
async fn tail_of(mut pipe: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut tail = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n) = pipe.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buffer[..n]);
        if tail.len() > 2 * TAIL_BYTES {
            tail.drain(..tail.len() - TAIL_BYTES);
        }
    }
    let start = tail.len().saturating_sub(TAIL_BYTES);
    tail.split_off(start)
}

/// A stream's tail as text. A descendant that left the process group can
/// keep the pipe open after the child exits: wait a little, then give up.
async fn collect(reader: Option<tokio::task::JoinHandle<Vec<u8>>>) -> String {
    let Some(mut reader) = reader else { return String::new() };
    match tokio::time::timeout(Duration::from_secs(2), &mut reader).await {
        Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).trim_end().to_owned(),
        _ => {
            reader.abort();
            String::new()
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

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// POSIX shell quoting (single quotes when needed).
fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| "''".to_owned(), |quoted| quoted.into_owned())
}

#[cfg(test)]
mod tests;
