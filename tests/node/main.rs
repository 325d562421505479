//! The node over real stores (memory, redb natively, IndexedDB in browsers): identity and
//! counts survive reopening, the journal, migration, seal records, light nodes' bounds, and the
//! StatsNode JS class in a browser.

#[cfg(target_arch = "wasm32")]
#[path = "../browser/mod.rs"]
mod browser;
#[path = "../common/mod.rs"]
mod common;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod indexed_db;
mod journal;
mod light_node;
mod migration;
mod redb_store;
mod runtime;
mod seal_records;
mod stats_node;
