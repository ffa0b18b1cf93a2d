//! An agent's durable state: one SQLite database per agent (a task or the
//! gateway). WAL mode with `synchronous=NORMAL`: a commit is in the log
//! before `commit` returns, so killing the process at any moment keeps every
//! committed transaction (only a power cut can drop the last few, and then
//! all agents roll back together with their host's disk).
//!
//! The crash-safety argument of the whole runtime lives in two transactions:
//! - `receive`: the AVs pulled from a producer, the cursor advance past them,
//!   the engine state after pushing them and every snapshot that fired
//!   (as pending runs) commit together;
//! - `finish`: a run's output AVs (published to the outbox) and the run's
//!   final record commit together.
//!
//! A crash between the two re-runs the pending run after restart, under the
//! same run number, so its outputs get the same AV ids and are published once.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::record::{Av, RunRecord, RunStatus};
use crate::snapshot::{Engine, ValueId};

pub struct Store {
    connection: Connection,
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError(format!("state database: {error}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> StoreError {
        StoreError(format!("state database holds a record this agent cannot read: {error}"))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    wire TEXT NOT NULL,
    av TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_wire ON outbox (wire, seq);
CREATE TABLE IF NOT EXISTS inbox (
    value INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    input INTEGER NOT NULL,
    av TEXT NOT NULL,
    path TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (wire TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (run INTEGER PRIMARY KEY, status TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let connection = Connection::open(path)
            .map_err(|error| StoreError(format!("cannot open the state database {}: {error}", path.display())))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.execute_batch(SCHEMA)?;
        Ok(Store { connection })
    }

    /// Opens an existing database for queries (`koaljac log` / `trace`)
    /// while its agent may be running.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let connection = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|error| StoreError(format!("cannot open the state database {}: {error}", path.display())))?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Store { connection })
    }

    pub fn transaction(&mut self) -> Result<Tx<'_>> {
        Ok(Tx(self.connection.transaction()?))
    }

    pub fn cursor(&self, wire: &str) -> Result<u64> {
        let seq: Option<i64> = self
            .connection
            .query_row("SELECT seq FROM cursors WHERE wire = ?1", [wire], |row| row.get(0))
            .optional()?;
        Ok(seq.unwrap_or(0) as u64)
    }

    pub fn engine(&self) -> Result<Option<Engine>> {
        self.meta("engine")?.map(|text| Ok(serde_json::from_str(&text)?)).transpose()
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .connection
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?)
    }

    /// The AV and local payload path of a received AV, by id.
    pub fn received(&self, id: &str) -> Result<Option<(Av, String)>> {
        let row: Option<(String, String)> = self
            .connection
            .prepare_cached("SELECT av, path FROM inbox WHERE id = ?1")?
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        row.map(|(av, path)| Ok((serde_json::from_str(&av)?, path))).transpose()
    }

    /// Every received AV with its local path, in arrival order.
    pub fn received_all(&self) -> Result<Vec<(Av, String)>> {
        let mut statement = self.connection.prepare("SELECT av, path FROM inbox ORDER BY value")?;
        let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
        rows.map(|row| {
            let (av, path) = row?;
            Ok((serde_json::from_str(&av)?, path))
        })
        .collect()
    }

    /// Where one received AV is kept (`id` is unique in the inbox).
    pub fn received_path(&self, id: &str) -> Result<Option<String>> {
        Ok(self
            .connection
            .prepare_cached("SELECT path FROM inbox WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?)
    }

    /// Pending runs after run number `after`, oldest first.
    pub fn pending_runs(&self, after: u64) -> Result<Vec<RunRecord>> {
        self.runs_where("status = 'pending'", after, i64::MAX)
    }

    /// Pending and running runs (a long-running task's, after a restart).
    pub fn unfinished_runs(&self) -> Result<Vec<RunRecord>> {
        self.runs_where("status IN ('pending', 'running')", 0, i64::MAX)
    }

    /// Runs after run number `after`, oldest first.
    pub fn runs(&self, after: u64) -> Result<Vec<RunRecord>> {
        self.runs_where("1", after, i64::MAX)
    }

    /// At most `limit` runs after run number `after`, oldest first.
    pub fn runs_page(&self, after: u64, limit: usize) -> Result<Vec<RunRecord>> {
        self.runs_where("1", after, i64::try_from(limit).unwrap_or(i64::MAX))
    }

    fn runs_where(&self, condition: &str, after: u64, limit: i64) -> Result<Vec<RunRecord>> {
        let mut statement = self
            .connection
            .prepare_cached(&format!("SELECT record FROM runs WHERE {condition} AND run > ?1 ORDER BY run LIMIT ?2"))?;
        let rows = statement.query_map(params![after as i64, limit], |row| row.get::<_, String>(0))?;
        rows.map(|text| Ok(serde_json::from_str(&text?)?)).collect()
    }

    /// Up to `limit` AVs of `wire` published after outbox position `after`.
    pub fn outbox_after(&self, wire: &str, after: u64, limit: usize) -> Result<Vec<(u64, Av)>> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT seq, av FROM outbox WHERE wire = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3")?;
        let rows = statement.query_map(params![wire, after as i64, limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        rows.map(|row| {
            let (seq, av) = row?;
            Ok((seq as u64, serde_json::from_str(&av)?))
        })
        .collect()
    }

    /// Every AV this agent published, oldest first.
    pub fn published(&self) -> Result<Vec<Av>> {
        let mut statement = self.connection.prepare("SELECT av FROM outbox ORDER BY seq")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|text| Ok(serde_json::from_str(&text?)?)).collect()
    }

    pub fn published_av(&self, id: &str) -> Result<Option<Av>> {
        let text: Option<String> = self
            .connection
            .prepare_cached("SELECT av FROM outbox WHERE id = ?1")?
            .query_row([id], |row| row.get(0))
            .optional()?;
        text.map(|text| Ok(serde_json::from_str(&text)?)).transpose()
    }

    /// The outbox position of the newest AV of `wire` (0 when none).
    pub fn head(&self, wire: &str) -> Result<u64> {
        let seq: Option<i64> = self
            .connection
            .prepare_cached("SELECT max(seq) FROM outbox WHERE wire = ?1")?
            .query_row([wire], |row| row.get(0))?;
        Ok(seq.unwrap_or(0) as u64)
    }
}

/// One transaction; dropped without `commit`, it rolls back.
pub struct Tx<'a>(Transaction<'a>);

impl Tx<'_> {
    /// Every statement goes through SQLite's prepared-statement cache:
    /// parsing SQL again for each run showed in profiles.
    fn run(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.0.prepare_cached(sql)?.execute(params)
    }

    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.0.prepare_cached(sql)?.query_row(params, row)
    }

    /// Records a received AV as the next value of triggering input `input`.
    pub fn receive(&self, input: usize, av: &Av, path: &str) -> Result<ValueId> {
        self.run(
            "INSERT INTO inbox (id, input, av, path) VALUES (?1, ?2, ?3, ?4)",
            params![av.id, input as i64, serde_json::to_string(av)?, path],
        )?;
        Ok(self.0.last_insert_rowid() as ValueId)
    }

    /// The AV id of an engine value received earlier (in this transaction too).
    pub fn value_id(&self, value: ValueId) -> Result<String> {
        Ok(self.one("SELECT id FROM inbox WHERE value = ?1", [value as i64], |row| row.get(0))?)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.one("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0)).optional()?)
    }

    pub fn set_cursor(&self, wire: &str, seq: u64) -> Result<()> {
        self.run(
            "INSERT INTO cursors (wire, seq) VALUES (?1, ?2) ON CONFLICT (wire) DO UPDATE SET seq = excluded.seq",
            params![wire, seq as i64],
        )?;
        Ok(())
    }

    pub fn save_engine(&self, engine: &Engine) -> Result<()> {
        self.set_meta("engine", &serde_json::to_string(engine)?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.run(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// The next run number (1, 2, …), never reused.
    pub fn next_run_number(&self) -> Result<u64> {
        let last: Option<i64> = self.one("SELECT max(run) FROM runs", [], |row| row.get(0))?;
        Ok(last.unwrap_or(0) as u64 + 1)
    }

    /// Inserts or replaces a run's record.
    pub fn put_run(&self, record: &RunRecord) -> Result<()> {
        let status = match record.status {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Replaced => "replaced",
        };
        self.run(
            "INSERT INTO runs (run, status, record) VALUES (?1, ?2, ?3)
             ON CONFLICT (run) DO UPDATE SET status = excluded.status, record = excluded.record",
            params![record.run as i64, status, serde_json::to_string(record)?],
        )?;
        Ok(())
    }

    /// Appends an AV to the outbox; returns its position.
    pub fn publish(&self, av: &Av) -> Result<u64> {
        self.run(
            "INSERT INTO outbox (id, wire, av) VALUES (?1, ?2, ?3)",
            params![av.id, av.wire, serde_json::to_string(av)?],
        )?;
        Ok(self.0.last_insert_rowid() as u64)
    }

    pub fn commit(self) -> Result<()> {
        Ok(self.0.commit()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Policy;
    use crate::snapshot::Rule;

    fn av(id: &str, wire: &str) -> Av {
        Av {
            id: id.into(),
            wire: wire.into(),
            task: "t".into(),
            run: 1,
            inputs: vec![],
            definition: String::new(),
            content: "sha256:00".into(),
            size: 0,
            name: wire.into(),
            created: crate::record::now(),
            stored: "/x".into(),
        }
    }

    #[test]
    fn an_uncommitted_transaction_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        {
            let tx = store.transaction().unwrap();
            tx.publish(&av("a", "x")).unwrap();
            tx.set_cursor("in", 5).unwrap();
        }
        assert_eq!(store.head("x").unwrap(), 0);
        assert_eq!(store.cursor("in").unwrap(), 0);
        let tx = store.transaction().unwrap();
        assert_eq!(tx.publish(&av("a", "x")).unwrap(), 1);
        tx.set_cursor("in", 5).unwrap();
        tx.commit().unwrap();
        drop(store);
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(store.head("x").unwrap(), 1);
        assert_eq!(store.cursor("in").unwrap(), 5);
        assert_eq!(store.outbox_after("x", 0, 10).unwrap()[0].1.id, "a");
        assert!(store.outbox_after("x", 1, 10).unwrap().is_empty());
    }

    #[test]
    fn engine_state_and_runs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let mut engine = Engine::new(Policy::AllNew, &[Rule::Count { min: 2, max: 2 }]);
        let tx = store.transaction().unwrap();
        let value = tx.receive(0, &av("p.1.in", "in"), "/cache/p.1.in").unwrap();
        engine.push(0, value);
        tx.save_engine(&engine).unwrap();
        tx.commit().unwrap();
        assert_eq!(store.engine().unwrap(), Some(engine));
        assert_eq!(store.received("p.1.in").unwrap().map(|(_, path)| path), Some("/cache/p.1.in".into()));
        let tx = store.transaction().unwrap();
        assert_eq!(tx.value_id(value).unwrap(), "p.1.in");
        assert_eq!(tx.next_run_number().unwrap(), 1);
    }
}
