//! The replica: local counters, incremental totals, sealing what leaves, and merging of sealed
//! leaves with seal checks (forged, tampered, mis-attributed and foreign entries change nothing).
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use warpnet_stats::{
    Caps, CapsError, EntryKey, Namespace, OutOfBounds, PnCounter, Rejection, Replica, StatKind,
    Stats, Writer,
    seal::{Sealed, Signature},
};

fn sorted_entries(replica: &Replica) -> Vec<(EntryKey, PnCounter)> {
    let mut entries: Vec<_> = replica.entries().map(|e| (e.key, e.counter)).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// The local entry for (tweet, stat) of `replica`, sealed as it leaves the node.
fn sealed(replica: &Replica, tweet_id: &str, stat: StatKind) -> Sealed {
    let key = EntryKey { tweet: tweet(tweet_id), stat, writer: replica.local_writer() };
    replica.sealed([&key]).pop().expect("the local entry is held")
}

#[test]
fn local_changes_touch_only_the_local_writer_and_move_totals() {
    let mut a = replica(1);
    let t = tweet("t1");
    for _ in 0..3 {
        a.increment(&t, StatKind::Likes).expect("within bounds");
    }
    let changed = a.decrement(&t, StatKind::Likes).expect("within bounds");
    assert_eq!(changed.key.writer, a.local_writer());
    assert_eq!(changed.counter, PnCounter::new(3, 1));
    a.increment(&t, StatKind::Views).expect("within bounds");
    assert_eq!(a.stats(&t), Stats { likes: 2, retweets: 0, replies: 0, views: 1 });
    assert_eq!(a.count(&t, StatKind::Likes), 2);
    assert_eq!(a.len(), 2);
    assert_eq!(a.stats(&tweet("unknown")), Stats::default());
}

#[test]
fn the_aggregate_is_the_sum_over_writers() {
    let mut nodes: Vec<Replica> = (1..=4).map(replica).collect();
    let t = tweet("t");
    for (i, node) in nodes.iter_mut().enumerate() {
        for _ in 0..=i {
            node.increment(&t, StatKind::Retweets).expect("within bounds");
        }
    }
    let batch: Vec<Sealed> = nodes.iter().map(|n| sealed(n, "t", StatKind::Retweets)).collect();
    let mut observer = replica(9);
    let report = observer.merge(&namespace(), batch);
    assert_eq!(report.changed.len(), 4);
    assert!(report.rejected.is_empty());
    assert_eq!(observer.stats(&t).retweets, 1 + 2 + 3 + 4);
    let mut per_writer: Vec<i128> =
        observer.contributions(&t).iter().map(|c| c.value(StatKind::Retweets)).collect();
    per_writer.sort();
    assert_eq!(per_writer, [1, 2, 3, 4]);
}

#[test]
fn a_burst_of_changes_costs_one_signature_and_verifies_at_peers() {
    let mut a = replica(1);
    let t = tweet("t");
    for _ in 0..100 {
        a.increment(&t, StatKind::Likes).expect("within bounds");
    }
    let first = sealed(&a, "t", StatKind::Likes);
    // One leaf, one signature, however many actions it counts; sealing it again gives the same
    // bytes (ed25519 signatures are deterministic).
    assert_eq!(sealed(&a, "t", StatKind::Likes), first);
    assert_eq!(first.leaves[0].1.counter, PnCounter::new(100, 0));
    let mut b = replica(2);
    assert_eq!(b.merge(&namespace(), vec![first.clone()]).changed.len(), 1);
    assert_eq!(b.stats(&t).likes, 100);
    // A new change invalidates the signature.
    a.increment(&t, StatKind::Likes).expect("within bounds");
    let second = sealed(&a, "t", StatKind::Likes);
    assert_ne!(second.signature, first.signature);
    assert_eq!(b.merge(&namespace(), vec![second]).changed.len(), 1);
    assert_eq!(b.stats(&t).likes, 101);
}

#[test]
fn merged_entries_are_relayed_with_their_writers_seal() {
    let mut a = replica(1);
    a.increment(&tweet("t"), StatKind::Views).expect("within bounds");
    let original = sealed(&a, "t", StatKind::Views);
    let mut relay = replica(2);
    relay.merge(&namespace(), vec![original.clone()]);
    let key = original.leaves[0].1.key(original.writer);
    let relayed = relay.sealed([&key]).pop().expect("held");
    assert_eq!(relayed, original);
    let mut c = replica(3);
    assert!(c.merge(&namespace(), vec![relayed]).rejected.is_empty());
    assert_eq!(c.stats(&tweet("t")).views, 1);
}

#[test]
fn entries_are_checked_whatever_is_held() {
    let mut a = replica(1);
    a.increment(&tweet("t"), StatKind::Likes).expect("within bounds");
    let older_signed = sealed(&a, "t", StatKind::Likes);
    a.increment(&tweet("t"), StatKind::Likes).expect("within bounds");
    let newer = sealed(&a, "t", StatKind::Likes);
    let mut b = replica(2);
    b.merge(&namespace(), vec![newer.clone()]);
    // Not newer than what b holds, with garbage signatures: rejected all the same (a relay
    // must never pass them on).
    let mut same = newer.clone();
    same.signature = Signature([0; 64]);
    let mut older = newer.clone();
    older.leaves[0].1.counter = PnCounter::new(1, 0);
    older.signature = Signature([1; 64]);
    let report = b.merge(&namespace(), vec![same, older]);
    assert_eq!(
        report.rejected.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
        [Rejection::BadSignature; 2]
    );
    // Honest stale entries are valid, and change nothing.
    let report = b.merge(&namespace(), vec![older_signed, newer]);
    assert_eq!((report.stale, report.changed.len(), report.rejected.len()), (2, 0, 0));
    assert_eq!(b.stats(&tweet("t")).likes, 2);
}

#[test]
fn entries_out_of_bounds_are_rejected_even_when_signed() {
    // A hostile writer with a larger cap than the namespace's signs what honest nodes refuse.
    let mut mallory = replica_under(
        66,
        warpnet_stats::Rules { caps: Caps { likes: u64::MAX, ..Caps::DEFAULT }, ..RULES },
    );
    let t = tweet("t");
    for _ in 0..=Caps::DEFAULT.likes {
        mallory.increment(&t, StatKind::Likes).expect("mallory's own caps");
    }
    let inflated = sealed(&mallory, "t", StatKind::Likes);
    let mut b = replica(2);
    let report = b.merge(&namespace(), vec![inflated]);
    let above = OutOfBounds::AboveCap { stat: StatKind::Likes, cap: Caps::DEFAULT.likes };
    assert_eq!(
        report.rejected.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
        [Rejection::OutOfBounds(above)]
    );
    assert_eq!(b.stats(&t).likes, 0);
}

#[test]
fn forged_tampered_and_misattributed_entries_are_rejected_and_change_nothing() {
    let mut a = replica(1);
    let mut mallory = replica(66);
    let t = tweet("t");
    a.increment(&t, StatKind::Likes).expect("within bounds");
    mallory.increment(&t, StatKind::Likes).expect("within bounds");
    let honest = sealed(&a, "t", StatKind::Likes);

    let mut forged = honest.clone();
    forged.signature = Signature([7; 64]);
    forged.leaves[0].1.tweet = tweet("other");

    let mut tampered = honest.clone();
    tampered.leaves[0].1.counter.increments = 100;

    // Mallory signs 500 likes with her own key, then claims they are a's.
    for _ in 1..500 {
        mallory.increment(&t, StatKind::Likes).expect("within bounds");
    }
    let mut misattributed = sealed(&mallory, "t", StatKind::Likes);
    misattributed.writer = a.local_writer();

    let mut b = replica(2);
    let before = sorted_entries(&b);
    let report =
        b.merge(&namespace(), vec![forged.clone(), tampered.clone(), misattributed.clone()]);
    let reasons: Vec<Rejection> = report.rejected.iter().map(|(_, r)| *r).collect();
    assert_eq!(reasons, [Rejection::BadSignature; 3]);
    assert!(report.changed.is_empty());
    assert_eq!(sorted_entries(&b), before);
    assert_eq!(b.stats(&t), Stats::default());

    // Good entries in the same batch as bad ones still get in (the batch check falls back to
    // checking one by one).
    let report = b.merge(&namespace(), vec![tampered, honest, forged, misattributed]);
    assert_eq!(report.changed.len(), 1);
    assert_eq!(report.rejected.len(), 3);
    assert_eq!(b.stats(&t).likes, 1);
}

#[test]
fn entries_of_another_namespace_are_refused() {
    let mut other = writer(Namespace::new("testnet").expect("valid"), 1, 1);
    other.increment(&tweet("t"), StatKind::Likes).expect("within bounds");
    let key = EntryKey { tweet: tweet("t"), stat: StatKind::Likes, writer: other.local_writer() };
    let entry = other.sealed([&key]).pop().expect("held");
    let mut b = replica(2);
    let report = b.merge(&Namespace::new("testnet").expect("valid"), vec![entry.clone()]);
    assert_eq!(report.rejected, vec![(key.clone(), Rejection::ForeignNamespace)]);
    // Claiming our namespace does not help: the signature covers the namespace it was made for.
    let report = b.merge(&namespace(), vec![entry]);
    assert_eq!(report.rejected, vec![(key, Rejection::BadSignature)]);
    assert!(b.is_empty());
}

#[test]
fn a_new_generation_counts_separately_so_nothing_is_swallowed() {
    let t = tweet("t");
    let mut peer = replica(2);
    // Node 1 likes five times and publishes.
    let mut before_loss = writer(namespace(), 1, 1);
    for _ in 0..5 {
        before_loss.increment(&t, StatKind::Likes).expect("within bounds");
    }
    peer.merge(&namespace(), vec![sealed(&before_loss, "t", StatKind::Likes)]);
    // Its store is lost. Reusing the old generation would restart at 1, which the peer's
    // maximum swallows:
    let mut reused = writer(namespace(), 1, 1);
    reused.increment(&t, StatKind::Likes).expect("within bounds");
    let report = peer.merge(&namespace(), vec![sealed(&reused, "t", StatKind::Likes)]);
    assert_eq!((report.stale, peer.stats(&t).likes), (1, 5));
    // A fresh generation is a new writer: its like adds up.
    let mut fresh = writer(namespace(), 1, 2);
    fresh.increment(&t, StatKind::Likes).expect("within bounds");
    peer.merge(&namespace(), vec![sealed(&fresh, "t", StatKind::Likes)]);
    assert_eq!(peer.stats(&t).likes, 6);
}

#[test]
fn own_entries_seen_elsewhere_raise_the_local_counter() {
    // A node restored from an old copy of its store learns its own newer counter from a peer
    // and continues from there instead of below it.
    let t = tweet("t");
    let mut original = replica(1);
    for _ in 0..5 {
        original.increment(&t, StatKind::Views).expect("within bounds");
    }
    let published = sealed(&original, "t", StatKind::Views);
    let mut restored = replica(1);
    restored.increment(&t, StatKind::Views).expect("within bounds");
    restored.merge(&namespace(), vec![published]);
    let next = restored.increment(&t, StatKind::Views).expect("within bounds");
    assert_eq!(next.counter, PnCounter::new(6, 0));
    assert_eq!(restored.stats(&t).views, 6);
}

#[test]
fn a_writer_never_goes_below_zero_nor_above_the_cap() {
    let caps = Caps { likes: 2, ..Caps::DEFAULT };
    let mut a = replica_under(1, warpnet_stats::Rules { caps, ..RULES });
    let t = tweet("t");
    assert_eq!(a.decrement(&t, StatKind::Likes), Err(OutOfBounds::BelowZero));
    assert_eq!((a.stats(&t).likes, a.len()), (0, 0), "a refused change changes nothing");
    a.increment(&t, StatKind::Likes).expect("within bounds");
    a.increment(&t, StatKind::Likes).expect("within bounds");
    let above = OutOfBounds::AboveCap { stat: StatKind::Likes, cap: 2 };
    assert_eq!(a.increment(&t, StatKind::Likes), Err(above));
    assert_eq!(a.stats(&t).likes, 2);
    assert_eq!(above.to_string(), "a writer's likes cannot exceed 2 per tweet");
    // Taking back makes room again.
    a.decrement(&t, StatKind::Likes).expect("within bounds");
    assert_eq!(a.increment(&t, StatKind::Likes).map(|e| e.counter), Ok(PnCounter::new(3, 1)));
}

#[test]
fn contributions_show_each_writer_and_add_up_to_the_totals() {
    let mut a = replica(1);
    let mut b = replica(2);
    let t = tweet("t");
    a.increment(&t, StatKind::Likes).expect("within bounds");
    a.increment(&t, StatKind::Views).expect("within bounds");
    a.increment(&t, StatKind::Views).expect("within bounds");
    b.increment(&t, StatKind::Likes).expect("within bounds");
    b.increment(&t, StatKind::Replies).expect("within bounds");
    b.decrement(&t, StatKind::Replies).expect("within bounds");
    let from_b: Vec<Sealed> = [StatKind::Likes, StatKind::Replies]
        .into_iter()
        .map(|stat| sealed(&b, "t", stat))
        .collect();
    assert!(a.merge(&namespace(), from_b).rejected.is_empty());
    let shares = a.contributions(&t);
    let mut writers: Vec<Writer> = vec![a.local_writer(), b.local_writer()];
    writers.sort();
    assert_eq!(shares.iter().map(|c| c.writer).collect::<Vec<_>>(), writers);
    let of = |w: Writer| shares.iter().find(|c| c.writer == w).expect("listed");
    assert_eq!(of(a.local_writer()).counter(StatKind::Views), PnCounter::new(2, 0));
    assert_eq!(of(b.local_writer()).counter(StatKind::Replies), PnCounter::new(1, 1));
    assert_eq!(of(b.local_writer()).value(StatKind::Views), 0);
    let stats = a.stats(&t);
    for stat in StatKind::ALL {
        let sum: i128 = shares.iter().map(|c| c.value(stat)).sum();
        assert_eq!(sum, i128::from(stats.get(stat)), "{stat:?}");
    }
    assert!(a.contributions(&tweet("unknown")).is_empty());
}

#[test]
fn node_ids_whose_key_is_not_a_usable_point_never_verify() {
    // Structurally an ed25519 PeerId, but the key is the identity point (small order): any
    // signature "by" it is refused.
    let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20, 0x01];
    bytes.extend([0u8; 31]);
    let node = warpnet_stats::NodeId::from_bytes(&bytes).expect("well-formed PeerId");
    let mut a = replica(1);
    a.increment(&tweet("t"), StatKind::Likes).expect("within bounds");
    let mut entry = sealed(&a, "t", StatKind::Likes);
    entry.writer.node = node;
    entry.signature = Signature([0; 64]);
    let mut b = replica(2);
    let report = b.merge(&namespace(), vec![entry]);
    assert_eq!(report.rejected.len(), 1);
    assert!(b.is_empty());
}

#[test]
fn caps_read_and_print_as_stat_number_pairs() {
    let caps: Caps = "likes=5, views=7".parse().expect("valid");
    assert_eq!(caps, Caps { likes: 5, views: 7, ..Caps::DEFAULT });
    assert_eq!(caps.to_string(), "likes=5,retweets=1000,replies=1000,views=7");
    assert_eq!(caps.to_string().parse::<Caps>(), Ok(caps));
    assert_eq!("".parse::<Caps>(), Ok(Caps::DEFAULT));
    assert_eq!("likes".parse::<Caps>(), Err(CapsError::Malformed("likes".into())));
    assert_eq!("likes=-1".parse::<Caps>(), Err(CapsError::Malformed("likes=-1".into())));
    let unknown = "hearts=5".parse::<Caps>().expect_err("no such stat");
    assert!(matches!(unknown, CapsError::Stat(_)), "{unknown:?}");
}

#[test]
fn a_writers_divergent_signed_versions_join_and_both_stay_servable() {
    // One writer signs (50, 10), then (60, 5) (restored from a backup, say): neither contains
    // the other, and no signature covers their join (60, 10).
    let a = sealed_by([5; 32], &[("t", StatKind::Likes, PnCounter::new(50, 10))]);
    let b = sealed_by([5; 32], &[("t", StatKind::Likes, PnCounter::new(60, 5))]);
    let key = a.leaves[0].1.key(a.writer);
    let mut relay = replica(1);
    relay.merge(&namespace(), vec![a.clone()]);
    relay.merge(&namespace(), vec![b.clone()]);
    assert_eq!(relay.get(&key), Some(PnCounter::new(60, 10)));
    assert_eq!(relay.count(&tweet("t"), StatKind::Likes), 50);
    // Served as both leaves, each under its own seal: whoever takes them in holds the join.
    let served = relay.sealed([&key]);
    assert_eq!(served.len(), 2);
    let mut fresh = replica(2);
    assert!(fresh.merge(&namespace(), served).rejected.is_empty());
    assert_eq!(fresh.get(&key), Some(PnCounter::new(60, 10)));
    assert_eq!(fresh.sync_digest(), relay.sync_digest());
    // A later version containing both replaces them: one leaf again.
    let c = sealed_by([5; 32], &[("t", StatKind::Likes, PnCounter::new(61, 10))]);
    relay.merge(&namespace(), vec![c]);
    assert_eq!(relay.sealed([&key]).len(), 1);
    assert_eq!(relay.seal_count(), 1, "the seals nothing rests on are dropped");
}

#[test]
fn a_writer_counts_only_with_an_identity_proof_at_the_namespace_difficulty() {
    let rules = warpnet_stats::Rules { difficulty: warpnet_stats::Difficulty(8), ..RULES };
    let mut a = replica_under(1, rules);
    let t = tweet("t");
    let key = a.increment(&t, StatKind::Likes).expect("within bounds").key;
    // Nonce 0 held at difficulty 0; at 8 it does not (for this writer), and is not taken.
    let weak = a.set_identity_proof(warpnet_stats::IdentityProof { nonce: 1 });
    assert_eq!(weak.map_err(|e| e.difficulty), Err(rules.difficulty));
    assert!(a.sealed([&key]).is_empty(), "nothing leaves without a proof that holds");
    let mut minter =
        warpnet_stats::Minter::new(&namespace(), &a.local_writer(), rules.difficulty, 0);
    let proof = minter.step(1 << 20).expect("found in 2^20 attempts");
    a.set_identity_proof(proof).expect("holds");
    let unproven = Sealed {
        identity: warpnet_stats::IdentityProof { nonce: 1 },
        ..sealed(&a, "t", StatKind::Likes)
    };
    let mut b = replica_under(2, rules);
    let report = b.merge(&namespace(), vec![unproven]);
    assert_eq!(report.rejected, vec![(key.clone(), Rejection::NoIdentityProof)]);
    assert!(b.is_empty());
    let report = b.merge(&namespace(), a.sealed([&key]));
    assert_eq!((report.changed.len(), report.rejected.len()), (1, 0));
}

#[test]
fn local_counters_leave_only_once_the_identity_proof_is_set() {
    let unminted = Replica::new(namespace(), RULES, identity(1), generation(1));
    let mut unminted = unminted;
    let key = unminted.increment(&tweet("t"), StatKind::Views).expect("within bounds").key;
    assert!(unminted.sealed([&key]).is_empty(), "counted, not served");
    assert_eq!(unminted.count(&tweet("t"), StatKind::Views), 1);
    unminted.set_identity_proof(warpnet_stats::IdentityProof { nonce: 0 }).expect("holds");
    assert_eq!(unminted.sealed([&key]).len(), 1);
}
