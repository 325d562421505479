//! How a node keeps the seals its peers' counters rest on: each merge adds a part holding what
//! it showed of a seal's tree (no record read or rewritten per merge); opening joins a seal's
//! parts into one record and deletes the records of seals no counter rests on any more; every
//! counter stays servable under its writer's signature throughout.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::*;
use futures::executor::block_on;
use warpnet_stats::{
    Generation, IdentityProof, Leaf, MemoryStore, Node, PnCounter, Replica, Sealed, StatKind,
    Store, SyncSession, seal_leaves,
};

fn open(store: MemoryStore) -> Node<MemoryStore> {
    block_on(Node::open_with(namespace(), RULES, store)).expect("opens")
}

/// The keys of the seal records in a store.
fn seal_records(store: &MemoryStore) -> Vec<String> {
    let records = block_on(store.load()).expect("loads");
    records.into_iter().map(|(key, _)| key).filter(|key| key.starts_with("seal/")).collect()
}

/// One writer's seal over `count` likes of `likes` each: the leaves `from..to` of it, with
/// their proof.
fn part_of(count: u32, likes: u64) -> impl Fn(std::ops::Range<u32>) -> Sealed {
    let leaves: Vec<Leaf> = (0..count)
        .map(|i| Leaf {
            tweet: tweet(&format!("t{i}")),
            stat: StatKind::Likes,
            counter: PnCounter::new(likes, 0),
        })
        .collect();
    let (seal, tree) = seal_leaves(&identity(7), &namespace(), Generation([7; 16]), &leaves)
        .expect("1 to 8192 leaves");
    move |range| {
        let shown = range.map(|i| (i, leaves[i as usize].clone())).collect();
        Sealed::of(&seal, IdentityProof { nonce: 0 }, &tree, shown).expect("every leaf known")
    }
}

/// Pulls everything `node` serves into a fresh replica, checking every leaf on the way.
fn served_by(node: &Node<MemoryStore>) -> Replica {
    let mut relay = replica(8);
    let (mut session, mut request) = SyncSession::start();
    loop {
        let response = node.answer(&request).expect("answers");
        let step = session.handle(&mut relay, response).expect("accepted");
        let merged = relay.merge(&namespace(), step.fetched);
        assert!(merged.rejected.is_empty(), "{:?}", merged.rejected);
        match step.next {
            Some(next) => request = next,
            None => return relay,
        }
    }
}

#[test]
fn a_seals_parts_are_joined_on_open_and_superseded_seals_deleted() {
    let store = MemoryStore::new();
    let node = open(store.clone());
    let first = part_of(100, 1);
    for range in [0..40, 40..100, 20..60] {
        block_on(node.merge(vec![first(range)])).expect("stores");
    }
    // Two merges changed counters, each added its part; the third changed nothing.
    assert_eq!(seal_records(&store).len(), 2);

    let reopened = open(store.clone());
    assert_eq!(seal_records(&store).len(), 1, "joined");
    let relay = served_by(&reopened);
    assert_eq!(relay.len(), 100);
    assert!((0..100).all(|i| relay.stats(&tweet(&format!("t{i}"))).likes == 1));
    drop((node, reopened));

    // The writer counts again on every tweet under a new seal: the first one is of no use.
    let second = part_of(100, 2);
    let node = open(store.clone());
    block_on(node.merge(vec![second(0..100)])).expect("stores");
    assert_eq!(seal_records(&store).len(), 2);
    let reopened = open(store.clone());
    assert_eq!(seal_records(&store).len(), 1, "the superseded seal's record is deleted");
    let relay = served_by(&reopened);
    assert!((0..100).all(|i| relay.stats(&tweet(&format!("t{i}"))).likes == 2));
}
