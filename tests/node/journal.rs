//! The journal of large merges: a merge of many peers' rows is written as journal records of
//! bounded size (each closed at 64 KiB), so no store value, and no on-disk page holding one,
//! grows with the merge; folding them gives every row to its bucket.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use futures::executor::block_on;
use warpnet_stats::{MemoryStore, Node, StatKind, Store};

/// A record is closed once it reaches this size, so it ends within one row of it.
const RECORD_BYTES: usize = 64 << 10;

#[test]
fn a_large_merge_is_journaled_in_records_of_bounded_size_and_folded_whole() {
    let store = MemoryStore::new();
    let node = block_on(Node::open(namespace(), RULES, store.clone())).expect("opens");
    let mut peer = replica(7);
    let tweets: Vec<_> = (0..5000).map(|t| tweet(&format!("t{t}"))).collect();
    let keys: Vec<_> =
        tweets.iter().map(|t| peer.increment(t, StatKind::Likes).expect("ok").key).collect();
    let report = block_on(node.merge(peer.sealed(&keys))).expect("stores");
    assert_eq!(report.changed.len(), 5000);

    let records: Vec<usize> = block_on(store.load())
        .expect("loads")
        .into_iter()
        .filter(|(key, _)| key.starts_with("journal/"))
        .map(|(_, value)| value.len())
        .collect();
    assert!(records.len() > 1, "5,000 rows in one record");
    let largest = records.iter().max().copied().unwrap_or(0);
    assert!(largest < RECORD_BYTES + 1024, "a record of {largest} bytes");
    assert!(largest >= RECORD_BYTES / 2, "records far smaller than the bound: {largest} bytes");

    block_on(node.compact()).expect("folds");
    assert!(!node.has_journal());
    let keys: Vec<String> =
        block_on(store.load()).expect("loads").into_iter().map(|(key, _)| key).collect();
    assert!(!keys.iter().any(|key| key.starts_with("journal/")), "every record folded");
    drop(node);
    let reopened = block_on(Node::open(namespace(), RULES, store)).expect("opens");
    assert_eq!(reopened.skipped_rows(), 0);
    assert!(tweets.iter().all(|t| reopened.stats(t).likes == 1));
}
