//! Property tests of the trust bounds: whatever entries arrive (honest, hostile with any
//! counters, forged, from identities with and without a proof), in any order and batching,
//! every node ends with the same state, and each aggregate lies between the honest writers'
//! sum and that sum plus the stat's cap times the number of hostile identities with a valid
//! proof. A node's own store cannot get past the caps either.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::collections::BTreeMap;

use common::*;
use futures::executor::block_on;
use proptest::prelude::*;
use warpnet_stats::{
    Action, Caps, Difficulty, Generation, Identity, IdentityProof, MemoryStore, Minter, Node,
    PnCounter, Replica, Rules, StatKind, Store, Writer,
    seal::{Leaf, Sealed, seal_leaves},
};

/// Small caps, so that honest writers reach them and hostile ones go past them; identity
/// proofs of 6 bits.
const RULES: Rules =
    Rules { caps: Caps { likes: 3, retweets: 3, replies: 4, views: 6 }, difficulty: Difficulty(6) };
const CAPS: Caps = RULES.caps;
const TWEETS: [&str; 3] = ["t0", "t1", "t2"];
/// Hostile identities; the first [`MINTED`] have a valid proof, the others none.
const HOSTILE: usize = 4;
const MINTED: usize = 2;

/// A proof for `writer` under [`RULES`].
fn mint(writer: &Writer) -> IdentityProof {
    Minter::new(&namespace(), writer, RULES.difficulty, 0).step(1 << 20).expect("found")
}

/// A nonce that is not a proof for `writer` under [`RULES`].
fn no_proof(writer: &Writer) -> IdentityProof {
    (0..)
        .map(|nonce| IdentityProof { nonce })
        .find(|p| !p.holds(&namespace(), writer, RULES.difficulty))
        .expect("most nonces are not proofs")
}

/// Writer `seed` under [`RULES`], with its proof.
fn minted(seed: u8) -> Replica {
    let mut replica = Replica::new(namespace(), RULES, identity(seed), generation(seed));
    let proof = mint(&replica.local_writer());
    replica.set_identity_proof(proof).expect("holds");
    replica
}

/// One hostile entry: (identity, tweet, stat, increments, decrements, correctly signed?).
type Hostile = (usize, usize, usize, u64, u64, bool);

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![0..10u64, any::<u64>()]
}

/// A hostile writer's seal over one counter of its choosing (bad if not `valid`).
fn hostile_entry(&(who, t, s, increments, decrements, valid): &Hostile) -> Sealed {
    let identity = Identity::from_secret([200 + who as u8; 32]);
    let counter = PnCounter::new(increments, decrements);
    let leaf = Leaf { tweet: tweet(TWEETS[t]), stat: StatKind::ALL[s], counter };
    let (seal, tree) =
        seal_leaves(&identity, &namespace(), Generation([7; 16]), std::slice::from_ref(&leaf))
            .expect("one leaf");
    let proof = if who < MINTED { mint(&seal.writer) } else { no_proof(&seal.writer) };
    let mut sealed = Sealed::of(&seal, proof, &tree, vec![(0, leaf)]).expect("known");
    if !valid {
        sealed.signature.0[7] ^= 0x20;
    }
    sealed
}

fn state(replica: &Replica) -> BTreeMap<(String, StatKind, Writer), PnCounter> {
    replica
        .entries()
        .map(|e| ((e.key.tweet.to_string(), e.key.stat, e.key.writer), e.counter))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn hostile_entries_never_take_an_aggregate_out_of_its_bounds(
        history in prop::collection::vec((0..3usize, 0..3usize, 0..4usize, prop::bool::weighted(0.8)), 0..40),
        hostile in prop::collection::vec((0..HOSTILE, 0..3usize, 0..4usize, amount(), amount(), prop::bool::weighted(0.8)), 0..30),
        orders in prop::collection::vec(prop::collection::vec(any::<u64>(), 80), 2),
        batches in prop::collection::vec(1..6usize, 2),
    ) {
        // Honest writers under the same caps: a change beyond them is refused at the source.
        let mut writers: Vec<Replica> = (1..=3).map(minted).collect();
        let mut honest = BTreeMap::new();
        let mut messages = Vec::new();
        for &(w, t, s, up) in &history {
            let (tweet, stat) = (tweet(TWEETS[t]), StatKind::ALL[s]);
            let changed = if up { writers[w].increment(&tweet, stat) } else { writers[w].decrement(&tweet, stat) };
            let Ok(entry) = changed else { continue };
            *honest.entry((t, s)).or_insert(0i64) += if up { 1 } else { -1 };
            messages.extend(writers[w].sealed([&entry.key]));
        }
        messages.extend(hostile.iter().map(hostile_entry));

        let mut receivers: Vec<Replica> = (10..12).map(minted).collect();
        for ((receiver, order), batch) in receivers.iter_mut().zip(&orders).zip(&batches) {
            let mut shuffled: Vec<(u64, Sealed)> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| (order.get(i).copied().unwrap_or(i as u64), m.clone()))
                .collect();
            shuffled.sort_by_key(|(k, _)| *k);
            let shuffled: Vec<Sealed> = shuffled.into_iter().map(|(_, m)| m).collect();
            for chunk in shuffled.chunks(*batch) {
                receiver.merge(&namespace(), chunk.to_vec());
            }
        }
        prop_assert_eq!(state(&receivers[0]), state(&receivers[1]));
        // Nothing of an identity without a proof is kept.
        let unproven: Vec<_> = (MINTED..HOSTILE)
            .map(|who| Identity::from_secret([200 + who as u8; 32]).node_id())
            .collect();
        for (_, _, writer) in state(&receivers[0]).keys() {
            prop_assert!(!unproven.contains(&writer.node), "kept an entry of {writer:?}");
        }
        for (t, id) in TWEETS.iter().enumerate() {
            for (s, stat) in StatKind::ALL.into_iter().enumerate() {
                let floor = u64::try_from(honest.get(&(t, s)).copied().unwrap_or(0)).expect("never below zero");
                let ceiling = floor + CAPS.get(stat) * MINTED as u64;
                let count = receivers[0].count(&tweet(id), stat);
                prop_assert!(floor <= count && count <= ceiling, "{stat} of {id}: {count} not in {floor}..={ceiling}");
            }
        }
    }
}

/// A stored counter beyond the namespace's caps (written under looser rules, or a corrupt
/// store) is never counted: not when the node opens, and not when an action on its tweet
/// reads it again (found by the `store` fuzz target: the action took it in as it was).
#[test]
fn a_stored_counter_beyond_the_caps_is_never_counted() {
    let store = MemoryStore::new();
    let open = |likes: u64| {
        let rules = Rules { caps: Caps::DEFAULT.with(StatKind::Likes, likes), ..common::RULES };
        block_on(Node::open(namespace(), rules, store.clone())).expect("opens")
    };
    let like = |node: &Node<MemoryStore>, name: &str| {
        let (results, _) =
            block_on(node.act(&[(tweet("t"), Action::Like(user(name)))])).expect("commits");
        results.into_iter().next().expect("one result").map(|applied| applied.count)
    };
    let node = open(5);
    assert_eq!(like(&node, "alice"), Ok(1));
    assert_eq!(like(&node, "bob"), Ok(2));
    drop(node);

    let node = open(1);
    assert_eq!((node.stats(&tweet("t")).likes, node.skipped_rows()), (0, 1));
    assert_eq!(like(&node, "carol"), Ok(1));
    assert_eq!(node.stats(&tweet("t")).likes, 1);
    drop(node);
    assert_eq!(open(1).stats(&tweet("t")).likes, 1);
}

/// A counter stored in another bucket than its tweet's (a corrupt store, a hand edit) is not
/// counted: actions read only the tweet's bucket, so a counter counted from elsewhere would
/// swallow their increments (found by the `store` fuzz target: a like reported counted, the
/// count still 0).
#[test]
fn a_counter_stored_in_the_wrong_bucket_is_not_counted_and_swallows_no_action() {
    let store = MemoryStore::new();
    let open = || block_on(Node::open(namespace(), common::RULES, store.clone())).expect("opens");
    let node = open();
    block_on(node.act(&[(tweet("t"), Action::Like(user("alice")))])).expect("commits");
    block_on(node.act(&[(tweet("t"), Action::Unlike(user("alice")))])).expect("commits");
    drop(node);
    // Move the tweet's bucket record, its counter (1 like, 1 unlike) in it, to another key.
    let records = block_on(store.load()).expect("loads");
    let (key, bytes) =
        records.into_iter().find(|(key, _)| key.starts_with("bucket/")).expect("a bucket");
    let elsewhere = if key == "bucket/000" { "bucket/001" } else { "bucket/000" }.to_owned();
    let writes = vec![(key, None), (elsewhere, Some(bytes))];
    block_on(store.update(&[], |_| (writes, ()))).expect("moved");

    let node = open();
    assert_eq!(node.skipped_rows(), 1);
    let (results, _) =
        block_on(node.act(&[(tweet("t"), Action::Like(user("carol")))])).expect("commits");
    assert_eq!(results[0].as_ref().map(|applied| applied.count), Ok(1));
    assert_eq!(node.stats(&tweet("t")).likes, 1);
    drop(node);
    assert_eq!(open().stats(&tweet("t")).likes, 1);
}
