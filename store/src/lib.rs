//! Storage behind one small, byte-oriented trait: string keys, byte values, a full load and an
//! atomic read-modify-write. Implementations: memory, redb on disk (native), IndexedDB (wasm).
//! Knows nothing of counters or the network; the runtime decides what keys and values mean.

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod indexed_db;
mod memory;
#[cfg(not(target_arch = "wasm32"))]
mod on_disk;

#[cfg(target_arch = "wasm32")]
pub use browser::BrowserStore;
#[cfg(target_arch = "wasm32")]
pub use indexed_db::IndexedDbStore;
pub use memory::MemoryStore;
#[cfg(not(target_arch = "wasm32"))]
pub use on_disk::RedbStore;

use std::sync::Arc;

/// A write inside an update: set `key` to the bytes, or delete it (`None`).
pub type Write = (String, Option<Vec<u8>>);

/// What made a store operation fail, as the store reported it. Shared: one failed transaction
/// is reported to every caller whose work it held.
pub type StoreCause = Arc<dyn std::error::Error + Send + Sync>;

/// Why a store operation failed. A failed update writes nothing.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be opened (blocked, unavailable, no permission, corrupt file).
    #[error("cannot open the store {location}: {source}")]
    Open {
        /// Where the store is: a file path, or an IndexedDB database name.
        location: String,
        /// The failure.
        source: StoreCause,
    },
    /// Reading failed.
    #[error("cannot read from the store: {0}")]
    Read(#[source] StoreCause),
    /// A write transaction failed or was aborted; nothing of it was kept.
    #[error("cannot write to the store: {0}")]
    Write(#[source] StoreCause),
    /// The node was dropped before the transaction holding this work ran.
    #[error("the write was abandoned before it ran (its node was closed)")]
    Abandoned,
    /// The store's file is damaged: its database engine failed on what it read (and the store
    /// refuses every operation after that). Move the file aside, or restore a backup.
    #[error("the store {location} is damaged ({detail}): move it aside or restore a backup")]
    Damaged {
        /// Where the store is.
        location: String,
        /// What the engine said.
        detail: String,
    },
}

impl StoreError {
    /// A read failure caused by `error`.
    pub fn read(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Read(Arc::new(error))
    }

    /// A write failure caused by `error`.
    pub fn write(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Write(Arc::new(error))
    }
}

/// A key-value store with atomic read-modify-write transactions.
///
/// `update` is the write path: it reads `keys`, hands their current values to `change`,
/// and writes what `change` returns, all in one transaction (`delete_prefixed` drops records by
/// the start of their keys). Two writers sharing a store (two
/// browser tabs on one IndexedDB database) are serialised by it, so an increment computed from
/// what the other just wrote is never lost.
#[allow(async_fn_in_trait)] // used single-threaded in the browser; no Send bound wanted
pub trait Store {
    /// Every key and value held.
    async fn load(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Reads `keys`, passes their values (in order, `None` if absent) to `change`, and writes
    /// the returned writes atomically. Returns what `change` returned alongside its writes.
    async fn update<R>(
        &self,
        keys: &[String],
        change: impl FnOnce(Vec<Option<Vec<u8>>>) -> (Vec<Write>, R),
    ) -> Result<R, StoreError>;

    /// Deletes every key that starts with one of `prefixes`, in one transaction. The stores
    /// delete by key range; this default reads every key first.
    async fn delete_prefixed(&self, prefixes: &[String]) -> Result<(), StoreError> {
        let keys = self.load().await?.into_iter().map(|(key, _)| key);
        let gone: Vec<Write> = keys
            .filter(|key| prefixes.iter().any(|prefix| key.starts_with(prefix.as_str())))
            .map(|key| (key, None))
            .collect();
        self.update(&[], |_| (gone, ())).await
    }

    /// Whether data outlives the process (false for the memory store).
    fn persistent(&self) -> bool;
}

/// The least key greater than every key starting with `prefix` (keys here are ASCII): the
/// exclusive end of the prefix's key range.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{ffff}")
}
