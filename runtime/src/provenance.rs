//! Provenance queries over a state directory: every run (`koaljac log`)
//! and the path of an artifact back to the pipeline inputs (`koaljac
//! trace`). Reads the agents' stores read-only, so it works while a run is
//! going on and after it ended; or the records a deployed pipeline's
//! gateway gathered (`History::from_records`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::agent::AgentError;
use crate::local::agent_dirs;
use crate::record::{Av, RunRecord, GATEWAY};
use crate::store::Store;

pub struct History {
    /// Every AV published by any agent, by id.
    pub avs: BTreeMap<String, Av>,
    /// Every run, by (task, run number).
    pub runs: BTreeMap<(String, u64), RunRecord>,
}

/// One step of a trace: an AV, how deep it is (0 is the traced one), and
/// the run that made it (none for a pipeline input).
#[derive(Serialize)]
pub struct Step<'a> {
    pub depth: usize,
    pub av: &'a Av,
    pub run: Option<&'a RunRecord>,
}

impl History {
    pub fn load(state: &Path) -> Result<History, AgentError> {
        let dirs = agent_dirs(state);
        if dirs.is_empty() {
            return Err(AgentError(format!("{} holds no run state (run `koaljac run` first)", state.display())));
        }
        let mut history = History { avs: BTreeMap::new(), runs: BTreeMap::new() };
        for dir in dirs {
            let store = Store::open_read_only(&dir.join("state.db"))?;
            for av in store.published()? {
                history.avs.insert(av.id.clone(), av);
            }
            for run in store.runs(0)? {
                history.runs.insert((run.task.clone(), run.run), run);
            }
        }
        Ok(history)
    }

    /// A history of records gathered elsewhere (a deployed pipeline's
    /// gateway).
    pub fn from_records(avs: Vec<Av>, runs: Vec<RunRecord>) -> History {
        History {
            avs: avs.into_iter().map(|av| (av.id.clone(), av)).collect(),
            runs: runs.into_iter().map(|run| ((run.task.clone(), run.run), run)).collect(),
        }
    }

    /// Runs in the order they were assembled (then by task and number).
    pub fn runs_in_order(&self, task: Option<&str>) -> Vec<&RunRecord> {
        let mut runs: Vec<&RunRecord> =
            self.runs.values().filter(|run| task.is_none_or(|task| run.task == task)).collect();
        runs.sort_by(|a, b| (&a.assembled, &a.task, a.run).cmp(&(&b.assembled, &b.task, b.run)));
        runs
    }

    /// The AV id a user names: an id, or a path to an output file
    /// (`out/<wire>/<id>`) or to a stored payload (`…/payloads/<id>/<name>`).
    pub fn resolve(&self, target: &str) -> Option<&Av> {
        if let Some(av) = self.avs.get(target) {
            return Some(av);
        }
        let path = Path::new(target);
        let candidates = [path.file_name(), path.parent().and_then(Path::file_name)];
        candidates.into_iter().flatten().find_map(|name| self.avs.get(name.to_string_lossy().as_ref()))
    }

    /// The AV and, depth first, everything it was computed from, each AV
    /// once, down to the pipeline inputs.
    pub fn trace<'a>(&'a self, av: &'a Av) -> Vec<Step<'a>> {
        let mut steps = Vec::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![(0, av)];
        while let Some((depth, av)) = stack.pop() {
            if !seen.insert(av.id.as_str()) {
                continue;
            }
            let run = (av.task != GATEWAY).then(|| self.runs.get(&(av.task.clone(), av.run))).flatten();
            steps.push(Step { depth, av, run });
            for input in av.inputs.iter().rev() {
                if let Some(source) = self.avs.get(input) {
                    stack.push((depth + 1, source));
                }
            }
        }
        steps
    }
}
