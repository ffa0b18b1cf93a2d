//! The executor: runs a task's code as a child process for one snapshot.
//!
//! `command` is an argv whose wire names expand to paths (N paths for a
//! buffer of N); `shell` runs `/bin/sh -c` with each `{wire}` replaced by
//! its shell-quoted paths. The child gets its own process group, so a
//! timeout kills everything it started. A run succeeds on exit 0; a failure
//! is retried `retries` times with a doubling back-off, and the last
//! failure's exit status and standard-error tail are kept for the record.
//! When the agent stops (SIGTERM to its pod), running code is drained: its
//! group gets SIGTERM and a grace period to finish, then SIGKILL.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::files::remove_any;
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

/// The agent's stop, as running code sees it: once `stopping` is
/// cancelled, each running process group gets SIGTERM, and SIGKILL if it
/// has not exited after `grace`; no new attempt starts.
#[derive(Clone, Debug)]
pub struct Drain {
    pub stopping: CancellationToken,
    pub grace: Duration,
}

impl Drain {
    pub fn new(grace: Duration) -> Drain {
        Drain { stopping: CancellationToken::new(), grace }
    }
}

/// The agent stopped the code before it finished (it did not exit 0 within
/// the drain's grace): the run did not happen, and stays pending, to run
/// again when the agent starts again.
#[derive(Debug, PartialEq, Eq)]
pub struct Interrupted;

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
    /// cannot start is a failed run, recorded like any other), but is
    /// `Interrupted` by the agent's `drain`.
    pub async fn run(&self, drain: &Drain) -> Result<Outcome, Interrupted> {
        let attempts = self.task.retries.saturating_add(1);
        let mut outcome =
            Outcome { succeeded: false, attempts: 0, exit_status: None, stdout_tail: None, stderr_tail: None };
        for attempt in 1..=attempts {
            if attempt > 1 {
                let backoff = Duration::from_millis(100u64 << (attempt - 2).min(6)).min(Duration::from_secs(5));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = drain.stopping.cancelled() => return Err(Interrupted),
                }
            }
            outcome = self.attempt(drain).await?;
            outcome.attempts = attempt;
            if outcome.succeeded {
                break;
            }
        }
        Ok(outcome)
    }

    /// Starts the code with its streams piped; `Err` is why it could not.
    fn spawn(&self) -> Result<Running, String> {
        for (_, path) in &self.outputs {
            remove_any(path);
        }
        let argv = self.argv();
        let Some((program, args)) = argv.split_first() else {
            return Err("the command is empty".to_owned());
        };
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(&self.dir)
            .envs(self.task.env.iter())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(self.services.iter().map(|(wire, address)| (service_variable(wire), address)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|error| format!("cannot start `{program}`: {error}"))?;
        // The streams are read as they come (a full pipe would stall the
        // child) and only their tails are kept, in the run's record: no
        // log file per run, whose inode would cost more than a small run.
        let stdout = child.stdout.take().map(|pipe| tokio::spawn(tail_of(pipe)));
        let stderr = child.stderr.take().map(|pipe| tokio::spawn(tail_of(pipe)));
        Ok(Running { group: child.id(), child, stdout, stderr })
    }

    async fn attempt(&self, drain: &Drain) -> Result<Outcome, Interrupted> {
        if drain.stopping.is_cancelled() {
            return Err(Interrupted);
        }
        let mut running = match self.spawn() {
            Ok(running) => running,
            Err(reason) => return Ok(Outcome::failed(None, reason)),
        };
        let limit = self.task.timeout_ms.map(Duration::from_millis);
        let timed_out = async {
            match limit {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = running.child.wait() => Ok(running.outcome(status).await),
            _ = timed_out => {
                let mut outcome = running.stop(Duration::ZERO).await;
                let tail = outcome.stderr_tail.take().unwrap_or_default();
                let limit = limit.unwrap_or_default().as_millis();
                Ok(Outcome {
                    exit_status: None,
                    ..Outcome::failed(None, format!("timed out after {limit} ms; killed\n{tail}").trim_end().to_owned())
                })
            }
            // Code that finishes its work on SIGTERM (exit 0) has run;
            // anything else was cut short.
            _ = drain.stopping.cancelled() => {
                let outcome = running.stop(drain.grace).await;
                if outcome.succeeded { Ok(outcome) } else { Err(Interrupted) }
            }
        }
    }

    /// Starts long-running code (a service, or `launch: restart`): the
    /// caller waits for it to exit or stops it.
    pub fn start(&self) -> Result<Running, Outcome> {
        self.spawn().map_err(|reason| Outcome { attempts: 1, ..Outcome::failed(None, reason) })
    }
}

/// `KOALJA_SERVICE_<WIRE>`: the wire's name in upper case, `-` as `_`.
pub fn service_variable(wire: &str) -> String {
    format!("KOALJA_SERVICE_{}", wire.to_ascii_uppercase().replace('-', "_"))
}

impl Outcome {
    pub fn failed(exit_status: Option<i32>, stderr_tail: String) -> Outcome {
        Outcome { succeeded: false, attempts: 1, exit_status, stdout_tail: None, stderr_tail: Some(stderr_tail) }
    }
}

/// A started child process. Dropping it kills its whole process group.
pub struct Running {
    child: tokio::process::Child,
    /// The child's pid, which is also its process group's id; kept because
    /// tokio forgets the pid once the child is reaped.
    group: Option<u32>,
    stdout: Option<tokio::task::JoinHandle<Vec<u8>>>,
    stderr: Option<tokio::task::JoinHandle<Vec<u8>>>,
}

impl Running {
    /// Waits for the process to exit by itself.
    pub async fn exited(&mut self) -> Outcome {
        let status = self.child.wait().await;
        self.outcome(status).await
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) -> Outcome {
        if !grace.is_zero() {
            self.signal_group(libc::SIGTERM);
            if let Ok(status) = tokio::time::timeout(grace, self.child.wait()).await {
                return self.outcome(status).await;
            }
        }
        self.signal_group(libc::SIGKILL);
        let status = self.child.wait().await;
        self.outcome(status).await
    }

    async fn outcome(&mut self, status: std::io::Result<std::process::ExitStatus>) -> Outcome {
        // The group may have members left (a shell's background job): they
        // go with the child, so the pipes close and nothing lingers.
        self.signal_group(libc::SIGKILL);
        let stdout_tail = collect(self.stdout.take()).await;
        let stderr_tail = collect(self.stderr.take()).await;
        let nonempty = |text: String| Some(text).filter(|t| !t.is_empty());
        match status {
            Ok(status) if status.success() => Outcome {
                succeeded: true,
                attempts: 1,
                exit_status: Some(0),
                stdout_tail: nonempty(stdout_tail),
                stderr_tail: nonempty(stderr_tail),
            },
            Ok(status) => {
                let code = status.code().or_else(|| status.signal().map(|signal| -signal));
                Outcome { stdout_tail: nonempty(stdout_tail), ..Outcome::failed(code, stderr_tail) }
            }
            Err(error) => Outcome::failed(None, format!("waiting for the program failed: {error}")),
        }
    }

    fn signal_group(&self, signal: i32) {
        if let Some(pid) = self.group {
            // SAFETY: kill(2) with a negative pid signals that process
            // group; the group is the child's own (process_group(0)).
            unsafe {
                libc::kill(-(pid as i32), signal);
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal_group(libc::SIGKILL);
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

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// POSIX shell quoting (single quotes when needed).
fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| "''".to_owned(), |quoted| quoted.into_owned())
}

#[cfg(test)]
mod tests;
