//! The browser's persistent store: one IndexedDB object store of string keys and `Uint8Array`
//! values. Each update is one readwrite transaction; IndexedDB runs transactions on the same
//! store one after another, across tabs, so read-modify-writes from two tabs never interleave.

use indexed_db_futures::KeyRange;
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use std::sync::Arc;

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

use super::{Store, StoreError, Write};

const OBJECT_STORE: &str = "kv";

/// An IndexedDB database of this origin; clones share the connection.
#[derive(Debug, Clone)]
pub struct IndexedDbStore {
    db: Database,
}

impl IndexedDbStore {
    /// Opens (creating if missing) the database `name`.
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let db = Database::open(name)
            .with_version(1u8)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    db.create_object_store(OBJECT_STORE).build()?;
                }
                Ok(())
            })
            .await
            .map_err(|e| StoreError::Open {
                location: format!("IndexedDB {name:?}"),
                source: Arc::new(BrowserFailure::from(&e)),
            })?;
        Ok(Self { db })
    }

    /// Closes the connection; later operations on it fail with a clear error.
    pub fn close(&self) {
        self.db.clone().close();
    }
}

/// An IndexedDB failure as the browser described it (its own error holds JS values, which
/// cannot leave the thread).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BrowserFailure(String);

impl<E: std::fmt::Display> From<&E> for BrowserFailure {
    fn from(error: &E) -> Self {
        Self(error.to_string())
    }
}

fn read(e: impl std::fmt::Display) -> StoreError {
    StoreError::read(BrowserFailure::from(&e))
}

fn write(e: impl std::fmt::Display) -> StoreError {
    StoreError::write(BrowserFailure::from(&e))
}

fn bytes(value: JsValue) -> Vec<u8> {
    value.dyn_into::<Uint8Array>().map(|a| a.to_vec()).unwrap_or_default()
}

impl IndexedDbStore {
    /// A read-write transaction on the object store.
    fn read_write(&self) -> Result<Transaction<'_>, StoreError> {
        let tx = self.db.transaction(OBJECT_STORE).with_mode(TransactionMode::Readwrite);
        tx.build().map_err(write)
    }
}

impl Store for IndexedDbStore {
    async fn load(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let tx = self.db.transaction(OBJECT_STORE).build().map_err(read)?;
        let store = tx.object_store(OBJECT_STORE).map_err(read)?;
        let keys = store.get_all_keys::<String>().primitive().map_err(read)?;
        let values = store.get_all::<JsValue>().primitive().map_err(read)?;
        let keys = keys.await.map_err(read)?.collect::<Result<Vec<String>, _>>().map_err(read)?;
        let values =
            values.await.map_err(read)?.collect::<Result<Vec<JsValue>, _>>().map_err(read)?;
        Ok(keys.into_iter().zip(values.into_iter().map(bytes)).collect())
    }

    async fn update<R>(
        &self,
        keys: &[String],
        change: impl FnOnce(Vec<Option<Vec<u8>>>) -> (Vec<Write>, R),
    ) -> Result<R, StoreError> {
        let tx = self.read_write()?;
        let store = tx.object_store(OBJECT_STORE).map_err(write)?;
        // All reads go out at once; the transaction stays active while they are pending.
        let reads = keys
            .iter()
            .map(|key| store.get::<JsValue, _, _>(key.as_str()).primitive().map_err(read))
            .collect::<Result<Vec<_>, _>>()?;
        let mut current = Vec::with_capacity(reads.len());
        for request in reads {
            current.push(request.await.map_err(read)?.map(bytes));
        }
        let (writes, result) = change(current);
        for (key, value) in writes {
            match value {
                Some(value) => {
                    let value: JsValue = Uint8Array::from(value.as_slice()).into();
                    drop(store.put(value).with_key(key).primitive().map_err(write)?);
                }
                None => drop(store.delete(key).primitive().map_err(write)?),
            }
        }
        tx.commit().await.map_err(write)?;
        Ok(result)
    }

    async fn delete_prefixed(&self, prefixes: &[String]) -> Result<(), StoreError> {
        let tx = self.read_write()?;
        let store = tx.object_store(OBJECT_STORE).map_err(write)?;
        for prefix in prefixes {
            let range = KeyRange::Bound(prefix.clone(), false, super::prefix_end(prefix), true);
            drop(store.delete::<String, _>(range).primitive().map_err(write)?);
        }
        tx.commit().await.map_err(write)
    }

    fn persistent(&self) -> bool {
        true
    }
}
