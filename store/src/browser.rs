//! The browser node's store: IndexedDB when it can be opened, otherwise memory (private mode,
//! blocked or missing IndexedDB), so the node keeps working for the session.

use super::{IndexedDbStore, MemoryStore, Store, StoreError, Write};

/// IndexedDB, or the memory fallback.
#[derive(Debug, Clone)]
pub enum BrowserStore {
    /// Persistent: the origin's IndexedDB database.
    IndexedDb(IndexedDbStore),
    /// Not persistent: IndexedDB could not be opened.
    Memory(MemoryStore),
}

impl BrowserStore {
    /// Opens IndexedDB database `name`, or falls back to memory; the error says why.
    pub async fn open(name: &str) -> (Self, Option<StoreError>) {
        match IndexedDbStore::open(name).await {
            Ok(store) => (Self::IndexedDb(store), None),
            Err(error) => (Self::Memory(MemoryStore::new()), Some(error)),
        }
    }
}

impl Store for BrowserStore {
    async fn load(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self {
            Self::IndexedDb(store) => store.load().await,
            Self::Memory(store) => store.load().await,
        }
    }

    async fn update<R>(
        &self,
        keys: &[String],
        change: impl FnOnce(Vec<Option<Vec<u8>>>) -> (Vec<Write>, R),
    ) -> Result<R, StoreError> {
        match self {
            Self::IndexedDb(store) => store.update(keys, change).await,
            Self::Memory(store) => store.update(keys, change).await,
        }
    }

    async fn delete_prefixed(&self, prefixes: &[String]) -> Result<(), StoreError> {
        match self {
            Self::IndexedDb(store) => store.delete_prefixed(prefixes).await,
            Self::Memory(store) => store.delete_prefixed(prefixes).await,
        }
    }

    fn persistent(&self) -> bool {
        matches!(self, Self::IndexedDb(_))
    }
}
