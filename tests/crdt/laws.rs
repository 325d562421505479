//! Property tests of the CRDT laws: counter merge is commutative, associative and idempotent;
//! replicas that receive the same sealed entries in any order, in any batches, with duplicates,
//! converge to the exact totals (decrements included); loss never over-counts and catch-up
//! restores the exact totals; no tampering with wire bytes gets an entry accepted.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::collections::{BTreeMap, HashMap};

use common::*;
use proptest::prelude::*;
use warpnet_stats::{
    Entry, EntryKey, PnCounter, Replica, StatKind, Stats, TweetId, Writer, seal::Sealed,
    wire::SealedBatch,
};

const CASES: u32 = 64;

const TWEETS: [&str; 3] = ["t0", "t1", "t2"];

fn counter() -> impl Strategy<Value = PnCounter> {
    (any::<u64>(), any::<u64>()).prop_map(|(p, n)| PnCounter::new(p, n))
}

/// One local change: (writer index, tweet index, stat index, increment?).
type Op = (usize, usize, usize, bool);

fn history() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec((0..4usize, 0..3usize, 0..4usize, prop::bool::weighted(0.7)), 1..40)
}

/// Four writers: nodes 1, 2, 3, and node 1 again in a second generation of its store.
fn writers() -> Vec<Replica> {
    vec![replica(1), replica(2), replica(3), writer(namespace(), 1, 99)]
}

struct Run {
    /// Every signed snapshot published, one per change, in the order made.
    messages: Vec<Sealed>,
    /// Each writer's final signed entries (what a catch-up would send).
    finals: Vec<Sealed>,
    /// The exact totals per tweet.
    expected: HashMap<TweetId, Stats>,
}

fn run(history: &[Op]) -> Run {
    let mut writers = writers();
    let mut messages = Vec::new();
    let mut sums: HashMap<(usize, usize), i128> = HashMap::new();
    for &(w, t, s, up) in history {
        let (tweet, stat) = (tweet(TWEETS[t]), StatKind::ALL[s]);
        let changed = if up {
            writers[w].increment(&tweet, stat)
        } else {
            writers[w].decrement(&tweet, stat)
        };
        // A writer cannot take back more than it counted: such a change is refused.
        let Ok(entry) = changed else { continue };
        *sums.entry((t, s)).or_default() += if up { 1 } else { -1 };
        messages.extend(writers[w].sealed([&entry.key]));
    }
    let finals = writers
        .iter()
        .flat_map(|w| {
            let keys: Vec<EntryKey> = w.entries().map(|e| e.key).collect();
            w.sealed(&keys)
        })
        .collect();
    let expected = TWEETS
        .iter()
        .enumerate()
        .map(|(t, id)| {
            let count = |s: usize| {
                u64::try_from(sums.get(&(t, s)).copied().unwrap_or(0).max(0)).expect("small")
            };
            (
                tweet(id),
                Stats { likes: count(0), retweets: count(1), replies: count(2), views: count(3) },
            )
        })
        .collect();
    Run { messages, finals, expected }
}

/// The replica's state as a comparable value.
fn state(replica: &Replica) -> BTreeMap<(String, StatKind, Writer), PnCounter> {
    replica
        .entries()
        .map(|e| ((e.key.tweet.to_string(), e.key.stat, e.key.writer), e.counter))
        .collect()
}

/// Delivers `messages` in the order given by `keys`, in batches of `batch` entries.
fn deliver(replica: &mut Replica, messages: &[Sealed], keys: &[u64], batch: usize) {
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| keys.get(i).copied().unwrap_or(i as u64));
    let shuffled: Vec<Sealed> = order.into_iter().map(|i| messages[i].clone()).collect();
    for chunk in shuffled.chunks(batch.max(1)) {
        let report = replica.merge(&namespace(), chunk.to_vec());
        assert!(report.rejected.is_empty(), "honest entries rejected: {:?}", report.rejected);
    }
}

fn assert_totals(replica: &Replica, expected: &HashMap<TweetId, Stats>) {
    for (tweet, stats) in expected {
        assert_eq!(replica.stats(tweet), *stats, "totals of {tweet}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn counter_merge_is_commutative_associative_and_idempotent(a in counter(), b in counter(), c in counter()) {
        prop_assert_eq!(a.merge(b), b.merge(a));
        prop_assert_eq!(a.merge(b).merge(c), a.merge(b.merge(c)));
        prop_assert_eq!(a.merge(a), a);
        prop_assert!(!a.merge(b).is_behind(a) && !a.merge(b).is_behind(b));
    }

    #[test]
    fn replicas_converge_whatever_the_order_batching_and_duplication(
        history in history(),
        orders in prop::collection::vec(prop::collection::vec(any::<u64>(), 80), 3),
        duplicates in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        batches in prop::collection::vec(1..8usize, 3),
    ) {
        let run = run(&history);
        let mut with_duplicates = run.messages.clone();
        if !run.messages.is_empty() {
            with_duplicates.extend(duplicates.iter().map(|i| i.get(&run.messages).clone()));
        }
        let mut receivers: Vec<Replica> = (10..13).map(replica).collect();
        for ((receiver, order), batch) in receivers.iter_mut().zip(&orders).zip(&batches) {
            deliver(receiver, &with_duplicates, order, *batch);
            assert_totals(receiver, &run.expected);
        }
        prop_assert_eq!(state(&receivers[0]), state(&receivers[1]));
        prop_assert_eq!(state(&receivers[1]), state(&receivers[2]));
    }

    #[test]
    fn loss_never_overcounts_and_catch_up_restores_exact_totals(
        history in history(),
        kept in prop::collection::vec(any::<bool>(), 40),
        order in prop::collection::vec(any::<u64>(), 80),
    ) {
        let run = run(&history);
        let survivors: Vec<Sealed> = run
            .messages
            .iter()
            .zip(kept.iter().cycle())
            .filter(|(_, keep)| **keep)
            .map(|(m, _)| m.clone())
            .collect();
        let mut receiver = replica(10);
        deliver(&mut receiver, &survivors, &order, 3);
        let truth: Vec<Sealed> = run.finals.clone();
        for (writer, leaf) in truth.iter().flat_map(|g| g.leaves.iter().map(|(_, l)| (g.writer, l))) {
            let held = receiver.get(&leaf.key(writer)).unwrap_or_default();
            prop_assert!(held.increments <= leaf.counter.increments);
            prop_assert!(held.decrements <= leaf.counter.decrements);
        }
        deliver(&mut receiver, &truth, &order, 5);
        assert_totals(&receiver, &run.expected);
    }

    #[test]
    fn merging_replica_states_is_associative_and_commutative(
        history in history(),
        split in prop::collection::vec(0..3usize, 40),
    ) {
        let run = run(&history);
        // Three replicas, each with a different share of the messages.
        let share = |which: usize| -> Vec<Sealed> {
            run.messages.iter().zip(split.iter().cycle()).filter(|(_, s)| **s == which).map(|(m, _)| m.clone()).collect()
        };
        let export = |r: &mut Replica| -> Vec<Sealed> {
            let keys: Vec<EntryKey> = r.entries().map(|e| e.key).collect();
            r.sealed(&keys)
        };
        let fresh = |entries: Vec<Sealed>, seed: u8| {
            let mut r = replica(seed);
            r.merge(&namespace(), entries);
            r
        };
        let (mut a, mut b, mut c) = (fresh(share(0), 10), fresh(share(1), 11), fresh(share(2), 12));
        let (ea, eb, ec) = (export(&mut a), export(&mut b), export(&mut c));
        // (a ⊔ b) ⊔ c
        let mut left = fresh(ea.clone(), 20);
        left.merge(&namespace(), eb.clone());
        left.merge(&namespace(), ec.clone());
        // a ⊔ (b ⊔ c)
        let mut bc = fresh(eb.clone(), 21);
        bc.merge(&namespace(), ec.clone());
        let mut right = fresh(ea.clone(), 22);
        right.merge(&namespace(), export(&mut bc));
        // c ⊔ b ⊔ a
        let mut reversed = fresh(ec, 23);
        reversed.merge(&namespace(), eb);
        reversed.merge(&namespace(), ea.clone());
        prop_assert_eq!(state(&left), state(&right));
        prop_assert_eq!(state(&left), state(&reversed));
        // Idempotent: merging a state again changes nothing.
        let before = state(&left);
        let report = left.merge(&namespace(), ea);
        prop_assert!(report.changed.is_empty());
        prop_assert_eq!(state(&left), before);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = SealedBatch::decode(&bytes);
        let mut versioned = vec![warpnet_stats::wire::WIRE_VERSION];
        versioned.extend_from_slice(&bytes);
        let _ = SealedBatch::decode(&versioned);
    }

    #[test]
    fn tampered_wire_bytes_never_get_an_entry_accepted(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let mut a = replica(1);
        let t = tweet("t");
        for _ in 0..3 { a.increment(&t, StatKind::Likes).expect("within bounds"); }
        a.increment(&t, StatKind::Views).expect("within bounds");
        let keys: Vec<EntryKey> = a.entries().map(|e| e.key).collect();
        let originals: Vec<Entry> = a.entries().collect();
        let mut bytes = SealedBatch { namespace: namespace(), sealed: a.sealed(&keys) }.encode().expect("fits a message");
        for (at, mask) in &flips {
            let i = at.index(bytes.len() - 1) + 1; // keep the version byte
            bytes[i] ^= mask;
        }
        if let Ok(batch) = SealedBatch::decode(&bytes) {
            let mut receiver = replica(2);
            let report = receiver.merge(&batch.namespace, batch.sealed);
            for accepted in report.changed {
                prop_assert!(
                    originals.contains(&accepted),
                    "accepted a tampered entry {:?}", accepted
                );
            }
        }
    }
}
