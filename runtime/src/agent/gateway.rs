//! The gateway's side of an agent: file drops into pipeline inputs, the
//! collected outputs, and the pipeline's runs gathered from every agent.

use super::*;

impl Agent {
    /// What this agent received with where it keeps it: for the gateway,
    /// the pipeline's outputs.
    pub fn collected(&self) -> Result<Vec<(Av, String)>, StoreError> {
        self.state().store.received_all()
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

    /// Feeds a file into pipeline input `wire` (gateway only). Feeding the
    /// same content under the same name into the same wire again is a
    /// no-op, so re-running a command with the same `--drop` never feeds a
    /// file twice.
    pub async fn drop_file(&self, wire: &str, name: &str, source: &Path) -> Result<Fed, AgentError> {
        if !matches!(self.role, Role::Gateway { .. }) {
            return Err(AgentError("only the gateway takes file drops".into()));
        }
        if !self.plan.pipeline_inputs.iter().any(|input| input == wire) {
            return Err(AgentError(format!(
                "`{wire}` is not a pipeline input; the inputs are {}",
                self.plan.pipeline_inputs.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        let name = crate::record::safe_file_name(name)
            .ok_or_else(|| AgentError(format!("`{name}` cannot be used as a file name")))?;
        let source_owned = source.to_path_buf();
        let (content, size) = tokio::task::spawn_blocking(move || content_digest(&source_owned))
            .await
            .map_err(|e| AgentError(e.to_string()))?
            .map_err(io_error("cannot read", source))?;
        let key = format!("drop:{wire}:{name}:{content}");
        if let Some(id) = self.state().store.meta(&key)? {
            return Ok(Fed { av: id, new: false });
        }
        // Copy under a temporary name first; the rename and the commit
        // happen under the lock, so drop numbers are dense and unique.
        let staged = self.dir.join("staging").join(content.trim_start_matches("sha256:"));
        std::fs::copy(source, &staged).map_err(io_error("cannot copy", source))?;
        let (id, seq) = {
            let mut state = self.state();
            let tx = state.store.transaction()?;
            let number = tx.meta("drops")?.and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) + 1;
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
            };
            let stored = self.dir.join("payloads").join(av.file_name());
            remove_any(&stored);
            std::fs::rename(&staged, &stored).map_err(io_error("cannot keep", &staged))?;
            read_only(&stored);
            av.stored = stored.to_string_lossy().into_owned();
            let seq = tx.publish(&av)?;
            tx.set_meta(&key, &id)?;
            tx.set_meta("drops", &number.to_string())?;
            tx.commit()?;
            (id, seq)
        };
        self.announce(&[(wire.to_owned(), seq)]);
        self.progress.changed();
        Ok(Fed { av: id, new: true })
    }
}
