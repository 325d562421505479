//! The native on-disk store: one redb table of string keys and byte values. Each update is one
//! redb write transaction (ACID, crash-safe); nothing of a failed one is kept.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Store, StoreError, Write};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("warpnet-stats");

/// A redb database file.
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
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
        Ok(Self { db })
    }
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
        let txn = self.db.begin_write().map_err(write)?;
        let result = {
            let mut table = txn.open_table(TABLE).map_err(write)?;
            let current = keys
                .iter()
                .map(|k| Ok(table.get(k.as_str()).map_err(read)?.map(|v| v.value().to_vec())))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let (writes, result) = change(current);
            for (key, value) in writes {
                match value {
                    Some(value) => table.insert(key.as_str(), value.as_slice()).map(drop),
                    None => table.remove(key.as_str()).map(drop),
                }
                .map_err(write)?;
            }
            result
        };
        txn.commit().map_err(write)?;
        Ok(result)
    }

    fn persistent(&self) -> bool {
        true
    }
}
