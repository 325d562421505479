//! The native on-disk store: one redb table of string keys and byte values. Each update is one
//! redb write transaction (ACID, crash-safe); nothing of a failed one is kept. Write
//! transactions run on a thread of the store's own, so the caller's thread (the node's event
//! loop) only computes the change between the reads and the writes; the full load at open reads
//! on the caller's thread. redb panics on some damaged files instead of returning an error:
//! such a panic is caught here and becomes [`StoreError::Damaged`], and the store refuses every
//! operation after it (redb's state is not to be trusted then).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use futures_channel::oneshot;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Store, StoreError, Write};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("warpnet-stats");

/// A write transaction to run on the store's thread.
type Job = Box<dyn FnOnce(&Database) + Send>;

/// A redb database file.
#[derive(Debug)]
pub struct RedbStore {
    db: Arc<Database>,
    /// Where the file is, and whether redb failed on it (see the module docs).
    health: Arc<Health>,
    /// To the thread that runs write transactions, one at a time; `None` once closing.
    jobs: Option<mpsc::Sender<Job>>,
    /// That thread, joined when the store is dropped (so the file is closed then).
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// Whether redb panicked on a store's file: from then on every operation fails with
/// [`StoreError::Damaged`].
#[derive(Debug)]
struct Health {
    location: String,
    damaged: AtomicBool,
}

impl Health {
    /// Runs `work` (which calls into redb), turning a panic into [`StoreError::Damaged`].
    fn guard<T>(&self, work: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        if self.damaged.load(Ordering::Acquire) {
            return Err(self.damaged("an earlier operation failed"));
        }
        catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
            self.damaged.store(true, Ordering::Release);
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the database engine failed".to_owned());
            tracing::error!(location = %self.location, %detail, "the store is damaged");
            Err(self.damaged(&detail))
        })
    }

    fn damaged(&self, detail: &str) -> StoreError {
        StoreError::Damaged { location: self.location.clone(), detail: detail.to_owned() }
    }
}

/// The most memory redb keeps of the file's pages.
const CACHE_BYTES: usize = 16 << 20;

impl RedbStore {
    /// Opens the database at `path`, creating it if missing. The file holds the node's secret
    /// key, so it is its owner's alone: created with mode 0600, and an existing file that
    /// others may read is narrowed to 0600 (with a warning).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let location = || path.as_ref().display().to_string();
        let open =
            |error: redb::Error| StoreError::Open { location: location(), source: Arc::new(error) };
        #[cfg(unix)]
        make_private(path.as_ref())
            .map_err(|error| StoreError::Open { location: location(), source: Arc::new(error) })?;
        let health = Arc::new(Health { location: location(), damaged: AtomicBool::new(false) });
        let db = health.guard(|| {
            // redb caches up to 1 GiB of pages by default: under a flood of writes an edge
            // node's memory grew by that much. Reads after opening are rare (memory holds the
            // state).
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(path.as_ref())
                .map_err(|e| open(e.into()))?;
            let txn = db.begin_write().map_err(|e| open(e.into()))?;
            txn.open_table(TABLE).map_err(|e| open(e.into()))?;
            txn.commit().map_err(|e| open(e.into()))?;
            Ok(db)
        })?;
        let db = Arc::new(db);
        let (jobs, queue) = mpsc::channel::<Job>();
        let (writer, guard) = (db.clone(), health.clone());
        let writer = std::thread::Builder::new()
            .name("redb".into())
            .spawn(move || {
                // A job that panicked dropped its reply channels: its caller gets an error.
                queue.into_iter().for_each(|job| {
                    let _ = guard.guard(|| {
                        job(&writer);
                        Ok(())
                    });
                });
            })
            .map_err(|error| StoreError::Open { location: location(), source: Arc::new(error) })?;
        Ok(Self { db, health, jobs: Some(jobs), writer: Some(writer) })
    }
}

impl RedbStore {
    /// The error of an operation whose job never answered: redb failed on it (the store is
    /// damaged), or the store is closing.
    fn stopped(&self) -> StoreError {
        if self.health.damaged.load(Ordering::Acquire) {
            return self.health.damaged("an earlier operation failed");
        }
        StoreError::write(std::io::Error::other("the store's thread stopped"))
    }
}

/// Runs one update on the store's thread: reads `keys` and sends their values, waits for the
/// writes, applies and commits them, and sends the outcome. If the writes never come (the
/// update was dropped), the transaction is dropped unapplied.
fn transaction(
    db: &Database,
    keys: &[String],
    current: oneshot::Sender<Result<Vec<Option<Vec<u8>>>, StoreError>>,
    writes: mpsc::Receiver<Vec<Write>>,
    done: oneshot::Sender<Result<(), StoreError>>,
) {
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(error) => return drop(current.send(Err(write(error)))),
    };
    let values = txn.open_table(TABLE).map_err(write).and_then(|table| {
        keys.iter()
            .map(|k| Ok(table.get(k.as_str()).map_err(read)?.map(|v| v.value().to_vec())))
            .collect()
    });
    let failed = values.is_err();
    if current.send(values).is_err() || failed {
        return;
    }
    let Ok(writes) = writes.recv() else { return };
    let applied = txn.open_table(TABLE).map_err(write).and_then(|mut table| {
        for (key, value) in writes {
            match value {
                Some(value) => table.insert(key.as_str(), value.as_slice()).map(drop),
                None => table.remove(key.as_str()).map(drop),
            }
            .map_err(write)?;
        }
        Ok(())
    });
    let _ = done.send(applied.and_then(|()| txn.commit().map_err(write)));
}

/// Creates the file with mode 0600 if missing; narrows an existing one others may read or
/// write to 0600.
#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        tracing::warn!(
            path = %path.display(),
            was = format!("{mode:o}"),
            "the store was open to other users; it is now its owner's alone (0600)"
        );
    }
    Ok(())
}

fn read(e: impl Into<redb::Error>) -> StoreError {
    StoreError::read(e.into())
}

/// Deletes the keys under `prefixes` in one write transaction (on the store's thread).
fn delete_prefixed(db: &Database, prefixes: &[String]) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(write)?;
    {
        let mut table = txn.open_table(TABLE).map_err(write)?;
        for prefix in prefixes {
            let end = super::prefix_end(prefix);
            let keys = table
                .range::<&str>(prefix.as_str()..end.as_str())
                .map_err(read)?
                .map(|row| row.map(|(key, _)| key.value().to_owned()).map_err(read))
                .collect::<Result<Vec<String>, _>>()?;
            for key in keys {
                table.remove(key.as_str()).map_err(write)?;
            }
        }
    }
    txn.commit().map_err(write)
}

fn write(e: impl Into<redb::Error>) -> StoreError {
    StoreError::write(e.into())
}

impl Store for RedbStore {
    async fn load(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.health.guard(|| {
            let txn = self.db.begin_read().map_err(read)?;
            let table = txn.open_table(TABLE).map_err(read)?;
            table
                .iter()
                .map_err(read)?
                .map(|row| {
                    let (k, v) = row.map_err(read)?;
                    Ok((k.value().to_owned(), v.value().to_vec()))
                })
                .collect()
        })
    }

    async fn update<R>(
        &self,
        keys: &[String],
        change: impl FnOnce(Vec<Option<Vec<u8>>>) -> (Vec<Write>, R),
    ) -> Result<R, StoreError> {
        let keys = keys.to_vec();
        let (current, values) = oneshot::channel();
        let (send_writes, writes) = mpsc::channel();
        let (done, outcome) = oneshot::channel();
        let job: Job = Box::new(move |db| transaction(db, &keys, current, writes, done));
        self.jobs.as_ref().ok_or_else(|| self.stopped())?.send(job).map_err(|_| self.stopped())?;
        let (changes, result) = change(values.await.map_err(|_| self.stopped())??);
        send_writes.send(changes).map_err(|_| self.stopped())?;
        outcome.await.map_err(|_| self.stopped())??;
        Ok(result)
    }

    async fn delete_prefixed(&self, prefixes: &[String]) -> Result<(), StoreError> {
        let prefixes = prefixes.to_vec();
        let (done, outcome) = oneshot::channel();
        let job: Job = Box::new(move |db| drop(done.send(delete_prefixed(db, &prefixes))));
        self.jobs.as_ref().ok_or_else(|| self.stopped())?.send(job).map_err(|_| self.stopped())?;
        outcome.await.map_err(|_| self.stopped())?
    }

    fn persistent(&self) -> bool {
        true
    }
}
