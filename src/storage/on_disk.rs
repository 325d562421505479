//! The native on-disk store: one redb table of string keys and byte values. Each update is one
//! redb write transaction (ACID, crash-safe); nothing of a failed one is kept. Transactions run
//! on a thread of the store's own, so the caller's thread (the node's event loop) never waits
//! for the disk: it only computes the change between the reads and the writes.

use std::path::Path;
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
        // redb caches up to 1 GiB of pages by default: under a flood of writes an edge node's
        // memory grew by that much. Reads after opening are rare (memory holds the state).
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path.as_ref())
            .map_err(|e| open(e.into()))?;
        let txn = db.begin_write().map_err(|e| open(e.into()))?;
        txn.open_table(TABLE).map_err(|e| open(e.into()))?;
        txn.commit().map_err(|e| open(e.into()))?;
        let db = Arc::new(db);
        let (jobs, queue) = mpsc::channel::<Job>();
        let writer = db.clone();
        let writer = std::thread::Builder::new()
            .name("redb".into())
            .spawn(move || queue.into_iter().for_each(|job| job(&writer)))
            .map_err(|error| StoreError::Open { location: location(), source: Arc::new(error) })?;
        Ok(Self { db, jobs: Some(jobs), writer: Some(writer) })
    }
}

/// The error of a store whose thread stopped (it panicked).
fn stopped<T>(_: T) -> StoreError {
    StoreError::write(std::io::Error::other("the store's thread stopped"))
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
        self.jobs.as_ref().ok_or_else(|| stopped(()))?.send(job).map_err(stopped)?;
        let (changes, result) = change(values.await.map_err(stopped)??);
        send_writes.send(changes).map_err(stopped)?;
        outcome.await.map_err(stopped)??;
        Ok(result)
    }

    async fn delete_prefixed(&self, prefixes: &[String]) -> Result<(), StoreError> {
        let prefixes = prefixes.to_vec();
        let (done, outcome) = oneshot::channel();
        let job: Job = Box::new(move |db| drop(done.send(delete_prefixed(db, &prefixes))));
        self.jobs.as_ref().ok_or_else(|| stopped(()))?.send(job).map_err(stopped)?;
        outcome.await.map_err(stopped)?
    }

    fn persistent(&self) -> bool {
        true
    }
}
