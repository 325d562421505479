//! Stores written by earlier versions: a layout-1 store (one signature per entry) opens
//! migrated, its own counts kept, peers' entries set aside untouched and no longer counted; a
//! layout-2 store (seals named by their root alone) opens migrated with every counter kept and
//! servable.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use futures::executor::block_on;
use warpnet_stats::{Action, EntryKey, Mark, MemoryStore, Node, StatKind, Store};

fn open(store: MemoryStore) -> Node<MemoryStore> {
    block_on(Node::open(namespace(), RULES, store)).expect("opens")
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
    assert_eq!(stored["meta/version"], vec![3]);
    let peer_row: Vec<(String, Vec<u8>)> =
        rows.iter().filter(|(k, _)| *k == peer.path(&namespace())).cloned().collect();
    assert_eq!(stored["legacy/v1/bucket/2a3"], bucket(&peer_row), "set aside whole");
    // The node works on: its own counter goes on from where it was.
    let (applied, _) =
        block_on(node.act(&[(tweet("t"), Action::Like(user("bob")))])).expect("commits");
    assert_eq!(applied[0].as_ref().map(|a| a.count), Ok(2));
    assert_eq!(open(store).stats(&tweet("t")).likes, 2);
}

/// A layout-2 store (witnesses named their seal by its root alone; seal records too) opens
/// migrated: every witness gets its seal's leaf count from the seal records, the records are
/// named anew, and every peer's counter is still served under its writer's signature.
#[test]
fn a_layout_2_store_opens_migrated_with_every_counter_servable() {
    let store = MemoryStore::new();
    {
        let node = open(store.clone());
        block_on(node.act(&[(tweet("t0"), Action::Like(user("alice")))])).expect("commits");
        let mut writer = replica(7);
        let keys: Vec<EntryKey> = (0..5)
            .map(|i| writer.increment(&tweet(&format!("t{i}")), StatKind::Likes).expect("ok").key)
            .collect();
        block_on(node.merge(writer.sealed(&keys))).expect("stores");
    }
    // The same store as layout 2 wrote it.
    let v3 = block_on(store.load()).expect("loads");
    let mut writes: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    for (key, value) in v3 {
        if key == "meta/version" {
            writes.push((key, Some(vec![2])));
        } else if let Some(rest) = key.strip_prefix("seal/") {
            let parts: Vec<&str> = rest.split('/').collect();
            let root = parts[2].split('.').next().expect("root");
            writes.push((key.clone(), None));
            writes
                .push((format!("seal/{}/{}/{root}/{}", parts[0], parts[1], parts[3]), Some(value)));
        } else if key.starts_with("bucket/") {
            let mut rows = Vec::new();
            let mut bytes = &value[..];
            while !bytes.is_empty() {
                let mut part = || {
                    let len = u32::from_be_bytes(bytes[..4].try_into().expect("4")) as usize;
                    let part = bytes[4..4 + len].to_vec();
                    bytes = &bytes[4 + len..];
                    part
                };
                let (text, mut row) = (part(), part());
                if let flag @ (0x11 | 0x12) = row[16] {
                    let count = usize::from(flag & 3);
                    row[16] = flag & 3;
                    for n in (0..count).rev() {
                        let at = 17 + n * 40 + 16;
                        row.drain(at..at + 4);
                    }
                }
                rows.push((text, row));
            }
            let mut out = Vec::new();
            for (text, row) in rows {
                for part in [text, row] {
                    out.extend((part.len() as u32).to_be_bytes());
                    out.extend(part);
                }
            }
            writes.push((key, Some(out)));
        }
    }
    block_on(store.update(&[], move |_| (writes, ()))).expect("writes");

    let node = open(store.clone());
    assert_eq!(node.skipped_rows(), 0);
    assert_eq!(node.stats(&tweet("t0")).likes, 2);
    assert!(node.has_mark(Mark::Liked, &tweet("t0"), "alice"));
    let stored: std::collections::BTreeMap<String, Vec<u8>> =
        block_on(store.load()).expect("loads").into_iter().collect();
    assert_eq!(stored["meta/version"], vec![3]);
    assert!(
        stored.keys().filter(|k| k.starts_with("seal/")).all(|k| k.contains('.')),
        "named anew"
    );
    // Everything is served, and checks, at a fresh replica.
    let mut fresh = replica(8);
    let (mut session, mut request) = warpnet_stats::sync::SyncSession::start();
    loop {
        let step = session.handle(&mut fresh, node.answer(&request).expect("answers")).expect("ok");
        assert!(fresh.merge(&namespace(), step.fetched).rejected.is_empty());
        match step.next {
            Some(next) => request = next,
            None => break,
        }
    }
    // The peer's five (this node's own like leaves it once its identity proof is minted).
    assert_eq!(fresh.len(), 5);
    assert!((0..5).all(|i| fresh.stats(&tweet(&format!("t{i}"))).likes == 1));
}
