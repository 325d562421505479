//! An in-memory store: for tests, and the fallback when no persistent store can be opened.
//! Clones share the same data, as tabs share one IndexedDB database.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Store, StoreError, Write};

/// Keys and values in memory; clones share the data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    async fn load(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self.data.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    async fn update<R>(
        &self,
        keys: &[String],
        change: impl FnOnce(Vec<Option<Vec<u8>>>) -> (Vec<Write>, R),
    ) -> Result<R, StoreError> {
        let mut data = self.data.borrow_mut();
        let (writes, result) = change(keys.iter().map(|k| data.get(k).cloned()).collect());
        for (key, value) in writes {
            match value {
                Some(value) => data.insert(key, value),
                None => data.remove(&key),
            };
        }
        Ok(result)
    }

    async fn delete_prefixed(&self, prefixes: &[String]) -> Result<(), StoreError> {
        let mut data = self.data.borrow_mut();
        for prefix in prefixes {
            let keys: Vec<String> = data
                .range(prefix.clone()..)
                .take_while(|(key, _)| key.starts_with(prefix.as_str()))
                .map(|(key, _)| key.clone())
                .collect();
            for key in keys {
                data.remove(&key);
            }
        }
        Ok(())
    }

    fn persistent(&self) -> bool {
        false
    }
}
