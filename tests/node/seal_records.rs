//! How a node keeps the seals its peers' counters rest on: each merge adds a part holding what
//! it showed of a seal's tree (no record read or rewritten per merge); opening joins a seal's
//! parts into one record and deletes the records of seals no counter rests on any more; every
//! counter stays servable under its writer's signature throughout, whatever seals a writer
//! signs (one root under two leaf counts, overlapping trees, in one message or many, across
//! restarts).
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use futures::executor::block_on;
use proptest::prelude::*;
use warpnet_stats::{
    Generation, IdentityProof, MemoryStore, Node, PnCounter, Replica, StatKind, Store, Writer,
    seal::{Hash, Leaf, Sealed, Signature, Tree, seal_leaves, seal_payload},
    sync::SyncSession,
};

fn open(store: MemoryStore) -> Node<MemoryStore> {
    block_on(Node::open(namespace(), RULES, store)).expect("opens")
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

/// `leaves` shown at `indices` of their tree with its multiproof, under a claimed `leaf_count`
/// (the tree's own, or any other the proof happens to fit), signed by writer 7 whatever root
/// that makes: what a hostile writer can send. `None` if the proof does not fit that count.
fn signed_as(leaves: &[Leaf], indices: &[u32], leaf_count: u32) -> Option<Sealed> {
    let hashes: Vec<Hash> = leaves.iter().map(Leaf::hash).collect();
    let tree = Tree::build(&hashes).ok()?;
    let proof = tree.prove(indices)?;
    let present: Vec<(u32, Hash)> = indices.iter().map(|&i| (i, hashes[i as usize])).collect();
    let claimed = Tree::from_proof(leaf_count, &present, &proof).ok()?;
    let writer = Writer { node: identity(7).node_id(), generation: Generation([7; 16]) };
    let payload = seal_payload(&namespace(), &writer, leaf_count, &claimed.root());
    let signature = identity(7).to_libp2p().sign(&payload).ok()?;
    Some(Sealed {
        writer,
        identity: IdentityProof { nonce: 0 },
        leaf_count,
        signature: Signature(signature.try_into().ok()?),
        leaves: indices.iter().map(|&i| (i, leaves[i as usize].clone())).collect(),
        proof,
    })
}

fn likes(tweets: &[&str], likes: u64) -> Vec<Leaf> {
    let leaf = |t: &&str| Leaf {
        tweet: tweet(t),
        stat: StatKind::Likes,
        counter: PnCounter::new(likes, 0),
    };
    tweets.iter().map(leaf).collect()
}

/// One root signed under two leaf counts is two seals (the signature covers the count): a tree
/// of four leaves a, b, c, d, and the same root claimed for three leaves a, b and a third whose
/// hash is the node above c and d. Both checked, both kept apart, every leaf served with the
/// seal it came under. (Grouped by root alone, both in one message made the node panic, and in
/// a release build stored a record mixing both trees, served with proofs that fail.)
#[test]
fn one_root_signed_under_two_leaf_counts_is_two_seals() {
    let leaves = likes(&["a", "b", "c", "d"], 1);
    let three = signed_as(&leaves, &[0, 1], 3).expect("the proof fits three leaves");
    let four = signed_as(&leaves, &[2, 3], 4).expect("whole tree");
    let root = |s: &Sealed| {
        let present: Vec<(u32, Hash)> = s.leaves.iter().map(|(i, l)| (*i, l.hash())).collect();
        Tree::from_proof(s.leaf_count, &present, &s.proof).expect("fits").root()
    };
    assert_eq!(root(&three), root(&four), "one root, two leaf counts");
    for messages in
        [vec![vec![three.clone(), four.clone()]], vec![vec![three.clone()], vec![four.clone()]]]
    {
        let store = MemoryStore::new();
        let node = open(store.clone());
        for message in messages {
            let report = block_on(node.merge(message)).expect("stores");
            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        }
        assert_eq!(node.with_replica(Replica::seal_count), 2);
        for node in [node, open(store.clone())] {
            let relay = served_by(&node);
            assert_eq!(relay.len(), 4);
            assert!(["a", "b", "c", "d"].iter().all(|t| relay.stats(&tweet(t)).likes == 1));
        }
    }
}

/// The counters a replica holds, sorted.
fn held(replica: &Replica) -> Vec<(String, u64, u64)> {
    let mut held: Vec<(String, u64, u64)> = replica
        .entries()
        .map(|e| (e.key.path(&namespace()), e.counter.increments, e.counter.decrements))
        .collect();
    held.sort();
    held
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Whatever seals one writer signs (any leaves, any part shown, any leaf count the proof
    /// fits, overlapping or repeated, in one message or many, with the node reopened between
    /// any two), the node takes them without panicking, and everything it holds it serves
    /// under signatures a fresh receiver checks: the receiver ends with exactly its counters.
    #[test]
    fn any_seals_of_one_writer_are_held_servable(
        trees in prop::collection::vec(prop::collection::vec((0..6usize, 1..4u64), 1..9), 1..4),
        seals in prop::collection::vec(
            (
                0..3usize,
                prop::collection::vec(any::<bool>(), 8),
                prop::option::of(1..17u32),
                any::<bool>(),
                any::<bool>(),
            ),
            1..16,
        ),
    ) {
        let tweets = ["a", "b", "c", "d", "e", "f"];
        let trees: Vec<Vec<Leaf>> = trees
            .into_iter()
            .map(|leaves| {
                leaves
                    .into_iter()
                    .map(|(t, n)| Leaf { tweet: tweet(tweets[t]), stat: StatKind::Likes, counter: PnCounter::new(n, 0) })
                    .collect()
            })
            .collect();
        let store = MemoryStore::new();
        let mut node = open(store.clone());
        let mut message = Vec::new();
        // Parts of a few trees, each shown under its own leaf count or another one its proof
        // fits (then, often, under the same root).
        for (tree, shown, claimed, send, reopen) in seals {
            let leaves = &trees[tree % trees.len()];
            let mut indices: Vec<u32> =
                (0..leaves.len() as u32).filter(|&i| shown[i as usize]).collect();
            if indices.is_empty() {
                indices.push(0);
            }
            let count = claimed.unwrap_or(leaves.len() as u32);
            message.extend(signed_as(leaves, &indices, count));
            if send {
                block_on(node.merge(std::mem::take(&mut message))).expect("stores");
            }
            if reopen {
                drop(node);
                node = open(store.clone());
            }
        }
        block_on(node.merge(message)).expect("stores");
        for node in [open(store.clone()), node] {
            let relay = served_by(&node);
            prop_assert_eq!(held(&relay), node.with_replica(held));
        }
    }
}
