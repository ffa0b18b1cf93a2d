//! The gateway's side of an agent: file drops into pipeline inputs, the
//! collected outputs, and the pipeline's runs gathered from every agent.

use super::*;
use serde::Deserialize;

/// Every AV and run of a pipeline, as the gateway gathered them
/// (`GET /v1/pipeline/history`), with the agents it could not ask.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PipelineHistory {
    pub avs: Vec<Av>,
    pub runs: Vec<RunRecord>,
    pub unreachable: Vec<String>,
}

impl Agent {
    /// What this agent received with where it keeps it: for the gateway,
    /// the pipeline's outputs.
    pub fn collected(&self) -> Result<Vec<(Av, String)>, StoreError> {
        self.state().store.received_all()
    }

    /// The collected output `id` and where it is kept, if it is one.
    pub fn collected_output(&self, id: &str) -> Result<Option<(Av, String)>, StoreError> {
        self.state().store.received(id)
    }

    /// Every task's runs, asked of each agent over the link protocol (the
    /// gateway's view of the pipeline's provenance); an agent that does not
    /// answer is named in the error list instead.
    pub async fn pipeline_runs(&self) -> (Vec<RunRecord>, Vec<String>) {
        let Some((peers, link)) = self.peers.get() else { return (Vec::new(), vec!["not started".to_owned()]) };
        let mut runs = Vec::new();
        let mut unreachable = Vec::new();
        for task in &self.plan.tasks {
            match peers.base_url(&task.name) {
                Some(base) => match link.runs(&base, 0).await {
                    Ok(mut task_runs) => runs.append(&mut task_runs),
                    Err(error) => unreachable.push(format!("{}: {error}", task.name)),
                },
                None => unreachable.push(format!("{}: no address", task.name)),
            }
        }
        (runs, unreachable)
    }

    /// The pipeline's whole provenance, gathered like `pipeline_runs`: the
    /// AVs the gateway published (the dropped inputs), and from each task's
    /// agent the AVs of every wire it produces (its outbox, page by page)
    /// and its runs. What `koaljac log` and `trace` read of a deployed
    /// pipeline; an agent that does not answer is named instead.
    pub async fn pipeline_history(self: &Arc<Self>) -> PipelineHistory {
        let Some((peers, link)) = self.peers.get() else {
            return PipelineHistory { unreachable: vec!["not started".to_owned()], ..PipelineHistory::default() };
        };
        let mut history = PipelineHistory::default();
        match self.off_async(|agent| agent.state().store.published()).await {
            Ok(mut avs) => history.avs.append(&mut avs),
            Err(error) => history.unreachable.push(format!("{}: {error}", self.name)),
        }
        // The drops the other gateways took (each region keeps its own).
        let others = self.plan.gateways.iter().filter(|g| self.is_one_gateway() && g.kubernetes_name != self.name);
        for gateway in others {
            let Some(base) = peers.base_url(&gateway.kubernetes_name) else {
                history.unreachable.push(format!("{}: no address", gateway.kubernetes_name));
                continue;
            };
            match outboxes(link, &base, &gateway.inputs).await {
                Ok(mut avs) => history.avs.append(&mut avs),
                Err(error) => history.unreachable.push(format!("{}: {error}", gateway.kubernetes_name)),
            }
        }
        for task in &self.plan.tasks {
            let Some(base) = peers.base_url(&task.name) else {
                history.unreachable.push(format!("{}: no address", task.name));
                continue;
            };
            let wires: Vec<String> = task.outputs.iter().map(|output| output.wire.clone()).collect();
            let mut avs = match outboxes(link, &base, &wires).await {
                Ok(avs) => avs,
                Err(error) => {
                    history.unreachable.push(format!("{}: {error}", task.name));
                    continue;
                }
            };
            match link.runs(&base, 0).await {
                Ok(mut runs) => {
                    history.avs.append(&mut avs);
                    history.runs.append(&mut runs);
                }
                Err(error) => history.unreachable.push(format!("{}: {error}", task.name)),
            }
        }
        history
    }

    /// This agent is one of the plan's gateways (a pod's), not all of them.
    fn is_one_gateway(&self) -> bool {
        matches!(&self.role, Role::Gateway { scope: Some(_), .. })
    }

    /// A fresh path in this agent's staging directory, unique among
    /// concurrent drops.
    pub fn staging_path(&self) -> PathBuf {
        let n = self.staged.fetch_add(1, Ordering::Relaxed);
        self.dir.join("staging").join(format!("{}-{n}", std::process::id()))
    }

    /// Where the parts of upload `id` (a client's name for one file sent in
    /// pieces, already a safe file name) are put together.
    pub fn upload_path(&self, id: &str) -> PathBuf {
        self.dir.join("staging").join(format!("upload-{id}"))
    }

    /// Feeds a file that is already in `staging_path()` (an HTTP drop's
    /// body) into pipeline input `wire`: it is moved, not copied again.
    pub async fn drop_staged(self: &Arc<Self>, wire: &str, name: &str, staged: &Path) -> Result<Fed, AgentError> {
        let mut fed = self.feed(wire, vec![(name.to_owned(), staged.to_path_buf())], Source::Staged).await?;
        fed.pop().ok_or_else(|| AgentError("nothing was fed".into()))
    }

    /// Feeds files, as `(name, path)`, into pipeline input `wire`, in order,
    /// in one transaction (gateway only). Feeding the same content under the
    /// same name into the same wire again is a no-op, so re-running a
    /// command with the same `--drop` never feeds a file twice. The files
    /// are copied: the user's stay as they are.
    pub async fn drop_files(
        self: &Arc<Self>,
        wire: &str,
        files: Vec<(String, PathBuf)>,
    ) -> Result<Vec<Fed>, AgentError> {
        self.feed(wire, files, Source::Copy).await
    }

    async fn feed(
        self: &Arc<Self>,
        wire: &str,
        files: Vec<(String, PathBuf)>,
        source: Source,
    ) -> Result<Vec<Fed>, AgentError> {
        if !matches!(self.role, Role::Gateway { .. }) {
            return Err(AgentError("only the gateway takes file drops".into()));
        }
        if !self.plan.pipeline_inputs.iter().any(|input| input == wire) {
            return Err(AgentError(format!(
                "`{wire}` is not a pipeline input; the inputs are {}",
                self.plan.pipeline_inputs.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        if !self.produces(wire) {
            let other = self.plan.gateway_of(wire).map_or(GATEWAY, |g| g.kubernetes_name.as_str());
            return Err(AgentError(format!(
                "`{wire}` is kept in its region: drop it into gateway `{other}`, not `{}`",
                self.name
            )));
        }
        let mut named = Vec::with_capacity(files.len());
        for (name, path) in files {
            let safe = crate::record::safe_file_name(&name)
                .ok_or_else(|| AgentError(format!("`{name}` cannot be used as a file name")))?;
            named.push((safe, path));
        }
        let wire = wire.to_owned();
        self.off_async(move |agent| agent.feed_now(&wire, named, source)).await
    }

    /// `feed`'s work, which blocks (digests, copies, renames, SQLite).
    fn feed_now(&self, wire: &str, named: Vec<(String, PathBuf)>, source: Source) -> Result<Vec<Fed>, AgentError> {
        // Digest and copy under temporary names outside the lock; the
        // renames and the one commit happen under it, so drop numbers are
        // dense and unique. Files fed before are not copied again.
        let digested = named
            .into_iter()
            .map(|(name, path)| {
                let (content, size) = content_digest(&path).map_err(io_error("cannot read", &path))?;
                Ok((name, path, content, size))
            })
            .collect::<Result<Vec<_>, AgentError>>()?;
        let known: Vec<Option<String>> = {
            let state = self.state();
            digested
                .iter()
                .map(|(name, _, content, _)| state.store.meta(&format!("drop:{wire}:{name}:{content}")))
                .collect::<Result<_, _>>()?
        };
        let to_stage: Vec<(usize, PathBuf, PathBuf)> = digested
            .iter()
            .enumerate()
            .filter(|(i, _)| known[*i].is_none())
            .map(|(i, d)| match source {
                Source::Copy => (i, d.1.clone(), self.staging_path()),
                Source::Staged => (i, d.1.clone(), d.1.clone()),
            })
            .collect();
        let staged: Vec<(usize, PathBuf)> = to_stage
            .into_iter()
            .map(|(i, from, staged)| {
                if from != staged {
                    std::fs::copy(&from, &staged).map_err(io_error("cannot copy", &from))?;
                }
                Ok((i, staged))
            })
            .collect::<Result<Vec<_>, AgentError>>()?;
        let mut staged: BTreeMap<usize, PathBuf> = staged.into_iter().collect();
        let mut fed = Vec::with_capacity(digested.len());
        let mut published = Vec::new();
        {
            let mut state = self.state();
            let tx = state.store.transaction()?;
            // Drops are numbered per wire, so an AV's id does not depend on
            // which gateway took it or what else was dropped meanwhile (a
            // local run and a deployed pipeline name the same drops alike).
            // A state from before starts its wires after its one count.
            let counter = format!("drops:{wire}");
            let count = |key: &str| tx.meta(key).map(|n| n.and_then(|n| n.parse::<u64>().ok()));
            let mut number = match count(&counter)? {
                Some(number) => number,
                None => count("drops")?.unwrap_or(0),
            };
            for (i, (name, _, content, size)) in digested.into_iter().enumerate() {
                let key = format!("drop:{wire}:{name}:{content}");
                let Some(staged) = staged.remove(&i) else {
                    fed.push(Fed { av: known[i].clone().unwrap_or_default(), new: false });
                    continue;
                };
                if let Some(id) = tx.meta(&key)? {
                    // The same file twice in one batch (or fed meanwhile).
                    remove_any(&staged);
                    fed.push(Fed { av: id, new: false });
                    continue;
                }
                number += 1;
                let id = format!("{GATEWAY}.{number}.{wire}");
                let mut av = Av {
                    id: id.clone(),
                    wire: wire.to_owned(),
                    task: GATEWAY.to_owned(),
                    run: number,
                    inputs: Vec::new(),
                    definition: String::new(),
                    content,
                    size,
                    name,
                    created: now(),
                    stored: String::new(),
                    removed: None,
                };
                let stored = self.dir.join("payloads").join(av.file_name());
                remove_any(&stored);
                std::fs::rename(&staged, &stored).map_err(io_error("cannot keep", &staged))?;
                read_only(&stored);
                av.stored = stored.to_string_lossy().into_owned();
                published.push((wire.to_owned(), tx.publish(&av)?));
                tx.set_meta(&key, &id)?;
                fed.push(Fed { av: id, new: true });
            }
            tx.set_meta(&counter, &number.to_string())?;
            tx.commit()?;
        }
        self.announce(&published);
        self.progress.changed();
        self.sweep_wanted.notify_one();
        Ok(fed)
    }
}

/// Every AV of `wires` in the outbox of the agent at `base`, page by page
/// (records only: no payload).
async fn outboxes(link: &Link, base: &str, wires: &[String]) -> Result<Vec<Av>, crate::link::LinkError> {
    let mut avs = Vec::new();
    for wire in wires {
        let mut after = 0;
        loop {
            let page = link.poll(base, wire, after, Duration::ZERO, None).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            avs.extend(page.into_iter().map(|entry| entry.av));
        }
    }
    Ok(avs)
}

/// Where a dropped file comes from.
#[derive(Clone, Copy)]
enum Source {
    /// The user's file: copied into staging, left as it is.
    Copy,
    /// Already a staging file of this agent: moved into place.
    Staged,
}
