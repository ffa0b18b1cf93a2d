//! The last local runs beside the code: what `koaljac run` left in the
//! state directory beside the file (`.koalja/`, as `koaljac run` defaults
//! to), read through the runtime's own provenance reader (read-only, so it
//! works while a run goes on). Hover shows a wire's newest values; a code
//! lens on each task its runs and its last failure.
//!
//! Loading a store reads every agent's database, so the summary is kept
//! per state directory and loaded again only when one of its database
//! files changed (size or modification time).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use koalja_agent::local::agent_dirs;
use koalja_agent::provenance::History;
use koalja_agent::record::{RunRecord, RunStatus, GATEWAY};

/// Values shown per wire on hover, newest first.
const NEWEST: usize = 3;

/// A published value, as hover shows it.
#[derive(Clone, Debug)]
pub struct Value {
    pub id: String,
    /// The producing task and run; `gateway` and the drop number for a
    /// dropped file.
    pub task: String,
    pub run: u64,
    pub size: u64,
    pub created: String,
}

#[derive(Clone, Debug)]
pub struct TaskRuns {
    pub runs: usize,
    pub failed: usize,
    /// The newest run (by run number).
    pub last: RunRecord,
}

#[derive(Debug, Default)]
pub struct LastRuns {
    pub state: PathBuf,
    pub tasks: BTreeMap<String, TaskRuns>,
    /// Newest first, at most `NEWEST` per wire.
    pub wires: BTreeMap<String, Vec<Value>>,
}

impl LastRuns {
    fn from_history(state: &Path, history: History) -> LastRuns {
        let mut tasks: BTreeMap<String, TaskRuns> = BTreeMap::new();
        for run in history.runs.into_values() {
            let failed = usize::from(run.status == RunStatus::Failed);
            match tasks.get_mut(&run.task) {
                Some(seen) => {
                    seen.runs += 1;
                    seen.failed += failed;
                    if run.run > seen.last.run {
                        seen.last = run;
                    }
                }
                None => {
                    tasks.insert(run.task.clone(), TaskRuns { runs: 1, failed, last: run });
                }
            }
        }
        let mut wires: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for av in history.avs.into_values() {
            wires.entry(av.wire.clone()).or_default().push(Value {
                id: av.id,
                task: av.task,
                run: av.run,
                size: av.size,
                created: av.created,
            });
        }
        for values in wires.values_mut() {
            // RFC 3339 in UTC sorts as text; the id breaks ties.
            values.sort_by(|a, b| (&b.created, &b.id).cmp(&(&a.created, &a.id)));
            values.truncate(NEWEST);
        }
        LastRuns { state: state.to_path_buf(), tasks, wires }
    }

    /// The code lens title of a task, e.g. "12 runs · last failed: exit 1".
    pub fn lens_title(&self, task: &str) -> Option<String> {
        let seen = self.tasks.get(task)?;
        let runs = if seen.runs == 1 { "1 run".to_owned() } else { format!("{} runs", seen.runs) };
        let last = &seen.last;
        let how = match last.status {
            RunStatus::Failed => match last.exit_status {
                Some(code) => format!("last failed: exit {code}"),
                None => "last failed".to_owned(),
            },
            RunStatus::Succeeded => "last ok".to_owned(),
            RunStatus::Running => "running".to_owned(),
            RunStatus::Pending => "waiting to run".to_owned(),
            RunStatus::Replaced => "last replaced".to_owned(),
        };
        let failed = if seen.failed > 0 && last.status != RunStatus::Failed {
            format!(" · {} failed", seen.failed)
        } else {
            String::new()
        };
        Some(format!("{runs} · {how}{failed}"))
    }

    /// Markdown for hover on a wire: its newest values.
    pub fn wire_markdown(&self, wire: &str, now: SystemTime) -> Option<String> {
        let values = self.wires.get(wire)?;
        let mut text = format!("**last run** ({}): newest values\n", self.state.display());
        for value in values {
            let from = if value.task == GATEWAY {
                format!("dropped in (drop {})", value.run)
            } else {
                format!("run {} of `{}`", value.run, value.task)
            };
            let age = age(&value.created, now).map(|age| format!(", {age} ago")).unwrap_or_default();
            text.push_str(&format!("- `{}`: {from}, {}{age}\n", value.id, size(value.size)));
        }
        Some(text)
    }
}

/// What tells a store changed: each database file's size and time.
type Stamp = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn stamp(state: &Path) -> Stamp {
    let mut files = Vec::new();
    for dir in agent_dirs(state) {
        for name in ["state.db", "state.db-wal"] {
            let path = dir.join(name);
            if let Ok(meta) = std::fs::metadata(&path) {
                files.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    files
}

/// How often the stores of open files are looked at for new runs.
const WATCH_PERIOD: Duration = Duration::from_secs(1);

/// Summaries of the stores read so far, by state directory, and the state
/// directories of the files opened, which `watch` looks at.
#[derive(Default)]
pub struct Stores {
    loaded: Mutex<HashMap<PathBuf, (Stamp, Arc<LastRuns>)>>,
    watched: Arc<Mutex<BTreeSet<PathBuf>>>,
}

impl Stores {
    /// The last runs kept in `state`, or `None` when it holds no store (no
    /// run yet) or cannot be read.
    pub fn last_runs(&self, state: &Path) -> Option<Arc<LastRuns>> {
        let now = stamp(state);
        if now.is_empty() {
            return None;
        }
        if let Some((seen, runs)) = self.lock().get(state) {
            if *seen == now {
                return Some(runs.clone());
            }
        }
        let history = History::load(state).ok()?;
        let runs = Arc::new(LastRuns::from_history(state, history));
        self.lock().insert(state.to_path_buf(), (now, runs.clone()));
        Some(runs)
    }

    /// Looks at `state` from now on (a file beside it was opened).
    pub fn watch(&self, state: PathBuf) {
        lock(&self.watched).insert(state);
    }

    /// Every second, calls `changed` when a watched store changed since the
    /// last look (a run added records, or the store appeared): the server
    /// asks the editor to fetch its code lenses again, so they follow a run
    /// that goes on or has just ended.
    pub fn spawn_watcher(&self, changed: impl Fn() + Send + 'static) {
        let watched = self.watched.clone();
        tokio::spawn(async move {
            let mut seen: HashMap<PathBuf, Stamp> = HashMap::new();
            loop {
                tokio::time::sleep(WATCH_PERIOD).await;
                let dirs: Vec<PathBuf> = lock(&watched).iter().cloned().collect();
                let mut any = false;
                for dir in dirs {
                    let now = stamp(&dir);
                    let before = seen.insert(dir, now.clone());
                    any |= match before {
                        Some(before) => before != now,
                        None => !now.is_empty(),
                    };
                }
                if any {
                    changed();
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (Stamp, Arc<LastRuns>)>> {
        lock(&self.loaded)
    }
}

/// A lock that a panic elsewhere (caught by the server's isolation) did
/// not make useless: the data behind it is a cache.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn size(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1_024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// How long ago an RFC 3339 time was, in the largest whole unit.
fn age(created: &str, now: SystemTime) -> Option<String> {
    let then = humantime::parse_rfc3339_weak(created).ok()?;
    let seconds = now.duration_since(then).ok()?.as_secs();
    Some(match seconds {
        0..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", seconds / 60),
        3_600..86_400 => format!("{} h", seconds / 3_600),
        _ => format!("{} d", seconds / 86_400),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizes_and_ages_read_as_people_say_them() {
        assert_eq!(size(12), "12 B");
        assert_eq!(size(2_048), "2.0 KiB");
        assert_eq!(size(3 * 1_048_576), "3.0 MiB");
        let then = humantime::parse_rfc3339("2026-12-04T10:00:00Z").unwrap();
        assert_eq!(age("2026-12-04T10:00:00Z", then + Duration::from_secs(42)).unwrap(), "42 s");
        assert_eq!(age("2026-12-04T10:00:00Z", then + Duration::from_secs(180)).unwrap(), "3 min");
        assert_eq!(age("2026-12-04T10:00:00Z", then + Duration::from_secs(7_300)).unwrap(), "2 h");
        assert_eq!(age("2026-12-04T10:00:00Z", then + Duration::from_secs(200_000)).unwrap(), "2 d");
        assert_eq!(age("not a time", then), None);
    }
}
