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

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::plan::Keep;
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
CREATE TABLE IF NOT EXISTS taken (
    wire TEXT NOT NULL,
    consumer TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (wire, consumer)
);
";

/// Retention's columns, added to a database made before it (`migrate`):
/// when a payload was removed (`NULL` while kept), and an inbox row's wire
/// (a merge feeds one input from several wires, each with its own count).
const RETENTION_COLUMNS: [(&str, &str); 3] =
    [("outbox", "removed TEXT"), ("inbox", "removed TEXT"), ("inbox", "wire TEXT")];

/// Only kept payloads are indexed, so a sweep reads the few still kept,
/// never the long tail of removed ones.
const RETENTION_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS outbox_kept ON outbox (wire, seq) WHERE removed IS NULL;
CREATE INDEX IF NOT EXISTS inbox_kept ON inbox (wire, value) WHERE removed IS NULL;
";

/// A payload retention may remove: its row, its id and where it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removable {
    pub position: u64,
    pub id: String,
    pub path: String,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let connection = Connection::open(path)
            .map_err(|error| StoreError(format!("cannot open the state database {}: {error}", path.display())))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.execute_batch(SCHEMA)?;
        migrate(&connection)?;
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

    /// The AV id of engine value `value`, if it was received.
    pub fn value_id(&self, value: ValueId) -> Result<Option<String>> {
        Ok(self
            .connection
            .prepare_cached("SELECT id FROM inbox WHERE value = ?1")?
            .query_row([value as i64], |row| row.get(0))
            .optional()?)
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

    /// The newest outbox position each consumer took of `wire` (it asked
    /// for what comes after it, so it committed everything up to it).
    pub fn taken(&self, wire: &str) -> Result<BTreeMap<String, u64>> {
        let mut statement = self.connection.prepare_cached("SELECT consumer, seq FROM taken WHERE wire = ?1")?;
        let rows = statement.query_map([wire], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Kept payloads of `wire` in the outbox at or before position
    /// `taken_by_all`, beyond what `keep` keeps, oldest first, at most `limit`.
    pub fn removable_published(
        &self,
        wire: &str,
        taken_by_all: u64,
        keep: Keep,
        limit: usize,
    ) -> Result<Vec<Removable>> {
        self.removable("outbox", "seq", wire, taken_by_all, keep, limit)
    }

    /// Kept payloads of `wire` in the inbox (copies of inputs, or the
    /// gateway's collected outputs) beyond what `keep` keeps, oldest first.
    pub fn removable_received(&self, wire: &str, keep: Keep, limit: usize) -> Result<Vec<Removable>> {
        self.removable("inbox", "value", wire, u64::MAX, keep, limit)
    }

    fn removable(
        &self,
        table: &str,
        position: &str,
        wire: &str,
        at_most: u64,
        keep: Keep,
        limit: usize,
    ) -> Result<Vec<Removable>> {
        let at_most = i64::try_from(at_most).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // The outbox keeps the file's path in the AV; the inbox beside it.
        let path = if table == "outbox" { "json_extract(av, '$.stored')" } else { "path" };
        let (beyond, bound): (String, rusqlite::types::Value) = match keep {
            Keep::All => return Ok(Vec::new()),
            // Older than the N-th newest of the wire, removed or not.
            Keep::Newest(n) => {
                let nth: Option<i64> = self
                    .connection
                    .prepare_cached(&format!(
                        "SELECT {position} FROM {table} WHERE wire = ?1 ORDER BY {position} DESC LIMIT 1 OFFSET ?2"
                    ))?
                    .query_row(params![wire, i64::try_from(n.saturating_sub(1)).unwrap_or(i64::MAX)], |row| row.get(0))
                    .optional()?;
                let Some(nth) = nth else { return Ok(Vec::new()) };
                (format!("{position} < ?4"), nth.into())
            }
            // Created before the cutoff: RFC 3339 in UTC with milliseconds
            // (`record::now`) sorts as text in time order.
            Keep::WithinMs(ms) => {
                let cutoff = std::time::SystemTime::now() - std::time::Duration::from_millis(ms);
                let cutoff = humantime::format_rfc3339_millis(cutoff).to_string();
                ("json_extract(av, '$.created') < ?4".to_owned(), cutoff.into())
            }
        };
        let sql = format!(
            "SELECT {position}, id, {path} FROM {table} INDEXED BY {table}_kept
             WHERE wire = ?1 AND removed IS NULL AND {position} <= ?2 AND {beyond}
             ORDER BY {position} LIMIT ?3"
        );
        let mut statement = self.connection.prepare_cached(&sql)?;
        let rows = statement.query_map(params![wire, at_most, limit, bound], |row| {
            Ok(Removable { position: row.get::<_, i64>(0)? as u64, id: row.get(1)?, path: row.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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

/// Brings a database made by an earlier agent up to this schema: the
/// retention columns (an inbox row's wire read from its AV), then their
/// indexes. Idempotent; a fresh database only gets the indexes.
fn migrate(connection: &Connection) -> Result<()> {
    for (table, column) in RETENTION_COLUMNS {
        let name = column.split(' ').next().unwrap_or(column);
        let present: bool = connection
            .prepare(&format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"))?
            .exists([name])?;
        if !present {
            connection.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column}"))?;
            if (table, name) == ("inbox", "wire") {
                connection.execute_batch("UPDATE inbox SET wire = json_extract(av, '$.wire')")?;
            }
        }
    }
    connection.execute_batch(RETENTION_INDEXES)?;
    Ok(())
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
            "INSERT INTO inbox (id, input, av, path, wire) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![av.id, input as i64, serde_json::to_string(av)?, path, av.wire],
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

    /// Consumer `consumer` took `wire` up to outbox position `seq`: never
    /// moves back (a consumer restarted from an older cursor asks again,
    /// but what it took before it had committed).
    pub fn set_taken(&self, wire: &str, consumer: &str, seq: u64) -> Result<()> {
        self.run(
            "INSERT INTO taken (wire, consumer, seq) VALUES (?1, ?2, ?3)
             ON CONFLICT (wire, consumer) DO UPDATE SET seq = max(seq, excluded.seq)",
            params![wire, consumer, seq as i64],
        )?;
        Ok(())
    }

    /// Marks payloads as removed by retention, at `at`, in their rows and
    /// in their AVs (which provenance reads); the records stay.
    pub fn mark_removed(&self, published: &[String], received: &[String], at: &str) -> Result<()> {
        for (table, ids) in [("outbox", published), ("inbox", received)] {
            for id in ids {
                self.run(
                    &format!("UPDATE {table} SET removed = ?2, av = json_set(av, '$.removed', ?2) WHERE id = ?1"),
                    params![id, at],
                )?;
            }
        }
        Ok(())
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
            removed: None,
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
    fn retention_removes_only_what_every_consumer_took_beyond_the_newest_n() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let tx = store.transaction().unwrap();
        for n in 1..=6 {
            tx.publish(&av(&format!("t.{n}.x"), "x")).unwrap();
            tx.receive(0, &av(&format!("p.{n}.in"), "in"), &format!("/cache/{n}")).unwrap();
        }
        tx.set_taken("x", "a", 4).unwrap();
        tx.set_taken("x", "a", 2).unwrap(); // never moves back
        tx.commit().unwrap();
        let ids = |found: Vec<Removable>| found.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(store.taken("x").unwrap().get("a"), Some(&4));
        // Newest 3 of 6 kept; of the other three, all were taken.
        assert_eq!(ids(store.removable_published("x", 4, Keep::Newest(3), 10).unwrap()), ["t.1.x", "t.2.x", "t.3.x"]);
        // Taken only up to 2: the third waits.
        assert_eq!(ids(store.removable_published("x", 2, Keep::Newest(3), 10).unwrap()), ["t.1.x", "t.2.x"]);
        assert!(store.removable_published("x", 6, Keep::All, 10).unwrap().is_empty());
        assert!(store.removable_published("x", 6, Keep::Newest(10), 10).unwrap().is_empty());
        // Everything was created just now: a day's keep removes nothing, and
        // a millisecond's removes what was taken once a millisecond passed.
        assert!(store.removable_published("x", 6, Keep::WithinMs(86_400_000), 10).unwrap().is_empty());
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(store.removable_published("x", 1, Keep::WithinMs(1), 10).unwrap().len(), 1);
        let received = store.removable_received("in", Keep::Newest(2), 10).unwrap();
        assert_eq!(
            received.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
            ["/cache/1", "/cache/2", "/cache/3", "/cache/4"]
        );

        // Marked removed: no longer a candidate, and the AV says so.
        let tx = store.transaction().unwrap();
        tx.mark_removed(&["t.1.x".into()], &["p.1.in".into()], "2026-12-02T00:00:00.000Z").unwrap();
        tx.commit().unwrap();
        assert_eq!(ids(store.removable_published("x", 4, Keep::Newest(3), 10).unwrap()), ["t.2.x", "t.3.x"]);
        assert_eq!(store.published_av("t.1.x").unwrap().unwrap().removed.as_deref(), Some("2026-12-02T00:00:00.000Z"));
        assert_eq!(store.received("p.1.in").unwrap().unwrap().0.removed.as_deref(), Some("2026-12-02T00:00:00.000Z"));
        assert!(store.published_av("t.2.x").unwrap().unwrap().removed.is_none());
        assert_eq!(store.removable_received("in", Keep::Newest(2), 10).unwrap().len(), 3);
    }

    #[test]
    fn a_database_from_before_retention_gets_its_columns_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            // The schema as agents before retention made it.
            let connection = Connection::open(&path).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, wire TEXT NOT NULL, av TEXT NOT NULL);
                     CREATE TABLE inbox (value INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, input INTEGER NOT NULL, av TEXT NOT NULL, path TEXT NOT NULL);",
                )
                .unwrap();
            let old = serde_json::to_string(&av("p.1.in", "in")).unwrap();
            connection
                .execute("INSERT INTO inbox (id, input, av, path) VALUES ('p.1.in', 0, ?1, '/c/1')", [&old])
                .unwrap();
            connection
                .execute(
                    "INSERT INTO inbox (id, input, av, path) VALUES ('p.2.in', 0, ?1, '/c/2')",
                    [&old.replace("p.1.in", "p.2.in")],
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.removable_received("in", Keep::Newest(1), 10).unwrap().len(), 1);
        drop(store);
        // Opening again changes nothing.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.received_all().unwrap().len(), 2);
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
