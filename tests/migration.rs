//! Stores written by earlier versions: a layout-1 store (one signature per entry) opens
//! migrated, its own counts kept, peers' entries set aside untouched and no longer counted.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::*;
use futures::executor::block_on;
use warpnet_stats::{Action, EntryKey, Mark, MemoryStore, Node, StatKind, Store};

fn open(store: MemoryStore) -> Node<MemoryStore> {
    block_on(Node::open_with(namespace(), RULES, store)).expect("opens")
}

#[test]
fn a_layout_1_store_opens_migrated_and_sets_peers_entries_signed_one_by_one_aside() {
    // A store as version 1 wrote it: a local row (no signature, one mark) and a peer's row
    // (with its per-entry signature) in one bucket.
    let store = MemoryStore::new();
    let local =
        EntryKey { tweet: tweet("t"), stat: StatKind::Likes, writer: replica(3).local_writer() };
    let peer = EntryKey { writer: replica(4).local_writer(), ..local.clone() };
    let row = |counter: u64, signature: Option<[u8; 64]>, mark: &str| {
        let mut value = [counter.to_be_bytes(), 0u64.to_be_bytes()].concat();
        match signature {
            Some(signature) => value.extend([&[1][..], &signature].concat()),
            None => value.push(0),
        }
        value.push(mark.len() as u8);
        value.extend(mark.as_bytes());
        value
    };
    let bucket = |rows: &[(String, Vec<u8>)]| -> Vec<u8> {
        let mut out = Vec::new();
        for (key, value) in rows {
            for part in [key.as_bytes(), value] {
                out.extend((part.len() as u32).to_be_bytes());
                out.extend(part);
            }
        }
        out
    };
    let (local_path, peer_path) = (local.path(&namespace()), peer.path(&namespace()));
    let mut rows =
        vec![(local_path, row(1, None, "alice")), (peer_path, row(5, Some([9; 64]), ""))];
    rows.sort();
    let writes = vec![
        ("meta/version".to_owned(), Some(vec![1])),
        ("meta/identity".to_owned(), Some(vec![3; 32])),
        ("meta/generation".to_owned(), Some(vec![3; 16])),
        ("bucket/2a3".to_owned(), Some(bucket(&rows))),
    ];
    block_on(store.update(&[], move |_| (writes, ()))).expect("writes");

    let node = open(store.clone());
    assert_eq!(node.stats(&tweet("t")).likes, 1, "the local like counts, the peer's does not");
    assert!(node.has_mark(Mark::Liked, &tweet("t"), "alice"));
    assert_eq!(node.skipped_rows(), 0);
    let stored: std::collections::BTreeMap<String, Vec<u8>> =
        block_on(store.load()).expect("loads").into_iter().collect();
    assert_eq!(stored["meta/version"], vec![2]);
    let peer_row: Vec<(String, Vec<u8>)> =
        rows.iter().filter(|(k, _)| *k == peer.path(&namespace())).cloned().collect();
    assert_eq!(stored["legacy/v1/bucket/2a3"], bucket(&peer_row), "set aside whole");
    // The node works on: its own counter goes on from where it was.
    let (applied, _) =
        block_on(node.act(&[(tweet("t"), Action::Like(user("bob")))])).expect("commits");
    assert_eq!(applied[0].as_ref().map(|a| a.count), Ok(2));
    assert_eq!(open(store).stats(&tweet("t")).likes, 2);
}
