//! Catch-up (anti-entropy): two replicas that each pull from the other end with the same
//! entries, whatever each had; the bytes exchanged grow with the difference, not the state;
//! malformed requests and responses get errors, never panics. Every message goes through its
//! wire encoding, as it would between nodes.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use warpnet_stats::{
    EntryKey, PnCounter, Replica, StatKind, Writer,
    seal::Sealed,
    sync::{
        MAX_REQUEST_ITEMS, MAX_RESPONSE_ENTRIES, Summary, SyncError, SyncRequest, SyncResponse,
        SyncSession,
    },
    wire::{MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, SealedBatch},
};

/// What one catch-up cost.
#[derive(Debug, Default)]
struct Cost {
    rounds: u32,
    bytes: usize,
    fetched: usize,
}

/// Runs a whole catch-up of `into` from `from`, every message encoded and decoded.
fn pull(into: &mut Replica, from: &mut Replica) -> Cost {
    let mut cost = Cost::default();
    let (mut session, mut request) = SyncSession::start();
    loop {
        let bytes = request.encode(&namespace());
        cost.bytes += bytes.len();
        let (asked_namespace, asked) = SyncRequest::decode(&bytes).expect("request decodes");
        assert_eq!(asked_namespace, namespace());
        let response = asked.answer_from(from).expect("honest request answered");
        let bytes = response.encode(&namespace());
        cost.bytes += bytes.len();
        let response = SyncResponse::decode(&bytes).expect("response decodes");
        let step = session.handle(into, response).expect("honest response accepted");
        cost.fetched += step.fetched.iter().map(|g| g.leaves.len()).sum::<usize>();
        let report = into.merge(&namespace(), step.fetched);
        assert!(report.rejected.is_empty(), "honest entries rejected: {:?}", report.rejected);
        match step.next {
            Some(next) => request = next,
            None => break,
        }
        assert!(session.rounds() < 1000, "catch-up does not end");
    }
    cost.rounds = session.rounds();
    cost
}

fn state(replica: &Replica) -> BTreeMap<(String, StatKind, Writer), PnCounter> {
    replica
        .entries()
        .map(|e| ((e.key.tweet.to_string(), e.key.stat, e.key.writer), e.counter))
        .collect()
}

/// `count` entries spread over ten writers, one like each on its own tweet.
fn entries(count: usize) -> Vec<Sealed> {
    let mut writers: Vec<Replica> = (1..=10).map(replica).collect();
    (0..count)
        .map(|i| {
            let writer = &mut writers[i % 10];
            let entry = writer
                .increment(&tweet(&format!("tweet-{i}")), StatKind::Likes)
                .expect("within bounds");
            writer.sealed([&entry.key]).pop().expect("held")
        })
        .collect()
}

fn holding(seed: u8, entries: &[Sealed]) -> Replica {
    let mut replica = replica(seed);
    for chunk in entries.chunks(MAX_BATCH_ENTRIES) {
        replica.merge(&namespace(), chunk.to_vec());
    }
    replica
}

/// Bytes of sending every entry `replica` holds in full, in messages as large as the wire
/// allows.
fn full_transfer_bytes(replica: &Replica) -> usize {
    let keys: Vec<EntryKey> = replica.entries().map(|entry| entry.key).collect();
    let messages = SealedBatch::messages(replica, &keys, MAX_MESSAGE_BYTES);
    assert_eq!(messages.iter().map(|(keys, _)| keys.len()).sum::<usize>(), keys.len());
    messages.iter().map(|(_, bytes)| bytes.len()).sum()
}

/// Bytes grow with the difference: `total` entries of which `missing` are absent on one side.
fn check_difference_cost(total: usize, missing: usize) -> (Cost, usize) {
    let all = entries(total);
    let mut full = holding(20, &all);
    let mut behind = holding(21, &all[missing..]);
    let cost = pull(&mut behind, &mut full);
    assert_eq!(cost.fetched, missing);
    assert_eq!(state(&behind), state(&full));
    assert_eq!(behind.sync_digest(), full.sync_digest());
    let full_bytes = full_transfer_bytes(&full);
    assert!(
        cost.bytes * 100 < full_bytes,
        "catch-up of {missing} in {total} took {} bytes, a full transfer {full_bytes}",
        cost.bytes
    );
    assert!(cost.rounds <= 5, "took {} round trips", cost.rounds);
    // The other way round there is nothing to fetch.
    let back = pull(&mut full, &mut behind);
    assert_eq!(back.fetched, 0);
    (cost, full_bytes)
}

#[test]
fn equal_replicas_agree_in_one_round_trip() {
    let all = entries(50);
    let (mut a, mut b) = (holding(20, &all), holding(21, &all));
    let cost = pull(&mut a, &mut b);
    assert_eq!((cost.rounds, cost.fetched), (1, 0));
    assert_eq!(a.sync_digest(), b.sync_digest());
}

#[test]
fn an_empty_replica_fetches_everything_including_unsigned_local_counters() {
    let mut source = holding(20, &entries(300));
    for i in 0..5 {
        source.increment(&tweet(&format!("own-{i}")), StatKind::Views).expect("within bounds");
    }
    let mut empty = replica(21);
    let cost = pull(&mut empty, &mut source);
    assert_eq!(cost.fetched, 305);
    assert_eq!(state(&empty), state(&source));
    assert_eq!(empty.stats(&tweet("own-3")).views, 1);
}

#[test]
fn bytes_grow_with_the_difference_not_the_state() {
    let (cost, full) = check_difference_cost(10_000, 10);
    assert!(cost.bytes < 20_000, "{cost:?} of {full}");
}

/// The case: 100,000 entries of which 100 differ. Native only: building the state
/// signs 100,000 entries, too slow for a browser test run.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_hundred_differences_in_a_hundred_thousand_cost_under_one_percent() {
    let (cost, full) = check_difference_cost(100_000, 100);
    println!(
        "100 of 100,000: {} bytes in {} round trips, {:.3}% of a full transfer ({full} bytes)",
        cost.bytes,
        cost.rounds,
        cost.bytes as f64 * 100.0 / full as f64
    );
}

#[test]
fn both_sides_pull_newer_versions_of_the_same_counters() {
    let mut a = replica(1);
    let mut b = replica(2);
    let shared = tweet("shared");
    a.increment(&shared, StatKind::Likes).expect("within bounds");
    let first = a.sealed([&EntryKey {
        tweet: shared.clone(),
        stat: StatKind::Likes,
        writer: a.local_writer(),
    }]);
    b.merge(&namespace(), first);
    a.decrement(&shared, StatKind::Likes).expect("within bounds"); // b holds an older version of a's counter
    b.increment(&shared, StatKind::Likes).expect("within bounds");
    pull(&mut a, &mut b);
    pull(&mut b, &mut a);
    assert_eq!(state(&a), state(&b));
    assert_eq!(a.stats(&shared).likes, 1);
}

#[test]
fn malformed_requests_get_errors() {
    let mut r = holding(20, &entries(10));
    let children = |level, indices| SyncRequest::Children { level, indices };
    assert_eq!(
        children(3, vec![0]).answer_from(&mut r),
        Err(SyncError::BadIndex { level: 3, index: 0 })
    );
    assert_eq!(
        children(1, vec![16]).answer_from(&mut r),
        Err(SyncError::BadIndex { level: 1, index: 16 })
    );
    assert_eq!(
        SyncRequest::Leaves { indices: vec![4096] }.answer_from(&mut r),
        Err(SyncError::BadIndex { level: 3, index: 4096 })
    );
    assert_eq!(
        SyncRequest::Fetch { key_hashes: vec![] }.answer_from(&mut r),
        Err(SyncError::ItemCount(0))
    );
    let too_many = vec![0; MAX_REQUEST_ITEMS + 1];
    assert_eq!(
        SyncRequest::Fetch { key_hashes: too_many }.answer_from(&mut r),
        Err(SyncError::ItemCount(MAX_REQUEST_ITEMS + 1))
    );
    // Unknown hashes are answered, with nothing.
    assert_eq!(
        SyncRequest::Fetch { key_hashes: vec![7] }.answer_from(&mut r),
        Ok(SyncResponse::Entries { answered: 1, entries: vec![] })
    );
}

#[test]
fn repeated_or_unordered_request_items_are_refused() {
    let mut r = holding(21, &entries(10));
    // One index asked 256 times would be answered 256 times: 16 digests each.
    let repeated = SyncRequest::Children { level: 1, indices: vec![3; 256] };
    assert_eq!(repeated.answer_from(&mut r), Err(SyncError::NotIncreasing));
    let unordered = SyncRequest::Leaves { indices: vec![5, 2] };
    assert_eq!(unordered.answer_from(&mut r), Err(SyncError::NotIncreasing));
    let hashes = every_key_hash(&mut r);
    let twice = SyncRequest::Fetch { key_hashes: vec![hashes[0], hashes[0]] };
    assert_eq!(twice.answer_from(&mut r), Err(SyncError::NotIncreasing));
    let once = SyncRequest::Fetch { key_hashes: vec![hashes[0], hashes[1]] };
    assert!(matches!(once.answer_from(&mut r), Ok(SyncResponse::Entries { answered: 2, .. })));
    // The initiator asks each key hash once, in order, even when a leaf lists one twice.
    let all = entries(2000);
    let mut source = holding(23, &all);
    let mut into = holding(24, &all[..200]);
    let (mut session, mut request) = SyncSession::start();
    let mut fetches = 0;
    loop {
        let mut response = request.answer_from(&mut source).expect("answered");
        if let SyncResponse::Leaves { leaves } = &mut response {
            for leaf in leaves.iter_mut() {
                leaf.extend(leaf.clone());
            }
        }
        let step = session.handle(&mut into, response).expect("accepted");
        into.merge(&namespace(), step.fetched);
        let Some(next) = step.next else { break };
        fetches += usize::from(matches!(next, SyncRequest::Fetch { .. }));
        request = next;
    }
    assert!(fetches > 0, "no fetch was asked");
    assert_eq!(state(&into), state(&source));
}

#[test]
fn responses_that_do_not_fit_the_request_are_refused() {
    let mut mine = replica(1);
    let (mut session, _) = SyncSession::start();
    let wrong_count = SyncResponse::Children { digests: vec![1; 15] };
    assert!(matches!(session.handle(&mut mine, wrong_count), Err(SyncError::Unexpected(_))));
    let wrong_kind = SyncResponse::Entries { answered: 1, entries: vec![] };
    assert!(matches!(session.handle(&mut mine, wrong_kind), Err(SyncError::Unexpected(_))));

    // A responder that claims a difference where this replica holds its one entry, down to
    // the leaf, then answers the leaf request with more leaves than asked; or with none, which
    // says the leaf is too large to summarise: its key-hash range is asked for instead.
    mine.increment(&tweet("mine"), StatKind::Likes).expect("within bounds");
    let (mut session, mut request) = SyncSession::start();
    for _ in 0..3 {
        let SyncResponse::Children { mut digests } = request.answer_from(&mut mine).expect("ok")
        else {
            panic!("not digests");
        };
        let held = digests.iter().position(|&d| d != 0).expect("the entry's path");
        digests[held] ^= 1;
        let step = session.handle(&mut mine, SyncResponse::Children { digests });
        request = step.expect("descends").next.expect("a next request");
    }
    let SyncRequest::Leaves { indices } = request else { panic!("not a leaves request") };
    assert_eq!(indices.len(), 1);
    let two = SyncResponse::Leaves { leaves: vec![vec![], vec![]] };
    assert!(matches!(session.handle(&mut mine, two), Err(SyncError::Unexpected(_))));
    let empty = SyncResponse::Leaves { leaves: vec![] };
    let next = session.handle(&mut mine, empty).expect("accepted").next;
    let span = 1u64 << 52;
    let from = u64::from(indices[0]) * span;
    assert_eq!(next, Some(SyncRequest::Range { from, to: from + (span - 1) }));
}

/// A replica holding `count` counters of one writer, sealed as that writer serves them.
fn holding_one_writers(count: usize) -> Replica {
    let mut writer = replica(30);
    let keys: Vec<EntryKey> = (0..count)
        .map(|i| writer.increment(&tweet(&format!("tweet-{i}")), StatKind::Likes).expect("ok").key)
        .collect();
    let mut source = replica(31);
    let report = source.merge(&namespace(), writer.sealed(&keys));
    assert_eq!(report.changed.len(), count);
    source
}

#[test]
fn an_empty_replica_fetches_by_key_hash_range_page_by_page() {
    let count = 10_000;
    let mut source = holding_one_writers(count);
    let mut empty = replica(21);
    let (mut session, mut request) = SyncSession::start();
    let mut ranges = 0;
    loop {
        // No summaries, no key lists: the root's children, then ranges only.
        assert!(matches!(
            request,
            SyncRequest::Children { level: 0, .. } | SyncRequest::Range { .. }
        ));
        ranges += usize::from(matches!(request, SyncRequest::Range { .. }));
        let response = request.answer_from(&mut source).expect("answered");
        let step = session.handle(&mut empty, response).expect("accepted");
        assert!(empty.merge(&namespace(), step.fetched).rejected.is_empty());
        match step.next {
            Some(next) => request = next,
            None => break,
        }
    }
    assert_eq!(ranges, count.div_ceil(MAX_RESPONSE_ENTRIES));
    assert_eq!(state(&empty), state(&source));
}

#[test]
fn a_cold_catch_up_costs_little_more_than_the_entries() {
    // Seals put their leaves in key-hash order, so each page of a range proves a run of every
    // seal, not scattered leaves.
    let count = 10_000;
    let mut source = holding_one_writers(count);
    let mut empty = replica(21);
    let cost = pull(&mut empty, &mut source);
    assert_eq!(cost.fetched, count);
    assert_eq!(cost.rounds as usize, 1 + count.div_ceil(MAX_RESPONSE_ENTRIES));
    assert!(cost.bytes < 24 * count, "{} bytes for {count} entries", cost.bytes);
}

#[test]
fn range_pages_cover_the_range_once_and_stop_at_whole_key_hashes() {
    let mut source = holding_one_writers(MAX_RESPONSE_ENTRIES + 500);
    let (from, to) = (u64::MAX / 8, u64::MAX / 8 * 7);
    let mut next = Some(from);
    let mut seen = Vec::new();
    while let Some(start) = next {
        let request = SyncRequest::Range { from: start, to };
        let Ok(SyncResponse::Range { resume, entries }) = request.answer_from(&mut source) else {
            panic!("not a range response");
        };
        let end = resume.map_or(to, |r| r - 1);
        for group in &entries {
            for (_, leaf) in &group.leaves {
                let hash = leaf.key(group.writer).key_hash();
                assert!((start..=end).contains(&hash), "{hash} outside {start}..={end}");
                seen.push(hash);
            }
        }
        next = resume;
    }
    let expected: Vec<u64> =
        every_key_hash(&mut source).into_iter().filter(|h| (from..=to).contains(h)).collect();
    seen.sort_unstable();
    assert_eq!(seen, expected);
    assert_eq!(
        SyncRequest::Range { from: 9, to: 8 }.answer_from(&mut source),
        Err(SyncError::EmptyRange { from: 9, to: 8 })
    );
}

/// Every key hash a replica holds, sorted (from its leaf summaries).
fn every_key_hash(replica: &mut Replica) -> Vec<u64> {
    let every_leaf = SyncRequest::Leaves { indices: (0..4096).collect() };
    let Ok(SyncResponse::Leaves { leaves }) = every_leaf.answer_from(replica) else {
        panic!("not leaves");
    };
    leaves.iter().flatten().map(|s| s.key_hash).collect()
}

#[test]
fn range_responses_that_overstep_the_range_or_make_no_progress_are_refused() {
    let mut source = holding_one_writers(50);
    let (mut session, request) = SyncSession::start();
    let mut empty = replica(21);
    let children = request.answer_from(&mut source).expect("answered");
    let step = session.handle(&mut empty, children).expect("accepted");
    let Some(SyncRequest::Range { from, to }) = step.next else { panic!("not a range") };
    let Ok(SyncResponse::Range { entries, .. }) =
        SyncRequest::Range { from, to }.answer_from(&mut source)
    else {
        panic!("not a range response");
    };
    let hashes: Vec<u64> =
        entries[0].leaves.iter().map(|(_, leaf)| leaf.key(entries[0].writer).key_hash()).collect();
    // Claiming to stop before entries it sends: those are not of the part answered.
    let mut bad = session_at_range(&mut source);
    let step = bad.handle(
        &mut empty,
        SyncResponse::Range { resume: Some(hashes[0]), entries: entries.clone() },
    );
    assert!(step.expect("well formed").unsolicited > 0);
    // A resume point that does not move forward, or moves with nothing sent.
    for (resume, sent) in [(Some(from), entries.clone()), (Some(to), vec![])] {
        let mut bad = session_at_range(&mut source);
        let step = bad.handle(&mut empty, SyncResponse::Range { resume, entries: sent });
        assert!(matches!(step, Err(SyncError::Unexpected(_))), "{resume:?}");
    }
    // The honest answer is taken whole.
    let step = session.handle(&mut empty, SyncResponse::Range { resume: None, entries });
    let step = step.expect("accepted");
    assert_eq!(
        (step.unsolicited, step.fetched.iter().map(|g| g.leaves.len()).sum::<usize>()),
        (0, 50)
    );
}

/// A session of an empty replica waiting for the answer to its first range request.
fn session_at_range(source: &mut Replica) -> SyncSession {
    let (mut session, request) = SyncSession::start();
    let children = request.answer_from(source).expect("answered");
    let step = session.handle(&mut replica(22), children).expect("accepted");
    assert!(matches!(step.next, Some(SyncRequest::Range { .. })));
    session
}

#[test]
fn forged_entries_in_a_response_are_not_kept() {
    let honest = entries(3);
    let mut liar = replica(9);
    liar.merge(&namespace(), honest);
    let mut victim = replica(1);
    let (mut session, mut request) = SyncSession::start();
    let (mut rejected, mut tampered) = (0, false);
    loop {
        let mut response = request.answer_from(&mut liar).expect("answered");
        if let SyncResponse::Entries { entries, .. } | SyncResponse::Range { entries, .. } =
            &mut response
            && !std::mem::replace(&mut tampered, true)
        {
            entries[0].leaves[0].1.counter.increments += 5; // tampered after signing
        }
        let step = session.handle(&mut victim, response).expect("well formed");
        rejected += victim.merge(&namespace(), step.fetched).rejected.len();
        match step.next {
            Some(next) => request = next,
            None => break,
        }
    }
    assert_eq!(rejected, 1);
    assert_eq!(victim.len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn two_replicas_converge_to_the_union_of_what_they_held(
        history in prop::collection::vec((0..3usize, 0..5usize, 0..4usize, prop::bool::weighted(0.7)), 1..60),
        delivery in prop::collection::vec(0..4u8, 60),
        local in prop::collection::vec((0..5usize, any::<bool>()), 0..6),
    ) {
        let mut writers: Vec<Replica> = (1..=3).map(replica).collect();
        let (mut a, mut b, mut union) = (replica(10), replica(11), replica(12));
        for (&(w, t, s, up), &to) in history.iter().zip(delivery.iter().cycle()) {
            let (tweet, stat) = (tweet(&format!("t{t}")), StatKind::ALL[s]);
            let changed = if up { writers[w].increment(&tweet, stat) } else { writers[w].decrement(&tweet, stat) };
            let Ok(entry) = changed else { continue }; // below zero: refused
            let signed = writers[w].sealed([&entry.key]);
            // Delivered to a, b, both, or lost (0 = lost).
            if to & 1 == 1 { a.merge(&namespace(), signed.clone()); }
            if to & 2 == 2 { b.merge(&namespace(), signed.clone()); }
            if to != 0 { union.merge(&namespace(), signed); }
        }
        for &(t, on_a) in &local {
            let node = if on_a { &mut a } else { &mut b };
            let entry = node.increment(&tweet(&format!("t{t}")), StatKind::Views).expect("within bounds");
            union.merge(&namespace(), node.sealed([&entry.key]));
        }
        pull(&mut a, &mut b);
        pull(&mut b, &mut a);
        prop_assert_eq!(state(&a), state(&b));
        prop_assert_eq!(state(&a), state(&union));
        prop_assert_eq!(a.sync_digest(), union.sync_digest());
        for t in 0..5 {
            prop_assert_eq!(a.stats(&tweet(&format!("t{t}"))), union.stats(&tweet(&format!("t{t}"))));
        }
    }

    #[test]
    fn the_digest_tree_kept_up_to_date_equals_one_built_afresh(
        history in prop::collection::vec((0..4usize, 0..6usize, 0..4usize, prop::bool::weighted(0.7)), 1..80),
    ) {
        // `kept` builds its tree at once and follows every change; `fresh` builds it at the end.
        let mut writers: Vec<Replica> = (1..=3).map(replica).collect();
        let (mut kept, mut fresh) = (replica(10), replica(10));
        kept.sync_digest();
        for &(w, t, s, up) in &history {
            let (tweet, stat) = (tweet(&format!("t{t}")), StatKind::ALL[s]);
            if w == 3 {
                for node in [&mut kept, &mut fresh] {
                    let _ = if up { node.increment(&tweet, stat) } else { node.decrement(&tweet, stat) };
                }
            } else {
                let changed = if up { writers[w].increment(&tweet, stat) } else { writers[w].decrement(&tweet, stat) };
                let Ok(entry) = changed else { continue }; // below zero: refused
                let signed = writers[w].sealed([&entry.key]);
                kept.merge(&namespace(), signed.clone());
                fresh.merge(&namespace(), signed);
            }
        }
        prop_assert_eq!(kept.sync_digest(), fresh.sync_digest());
        let every_leaf = SyncRequest::Leaves { indices: (0..4096).collect() };
        let leaves = every_leaf.answer_from(&mut kept).expect("answered");
        prop_assert_eq!(&leaves, &every_leaf.answer_from(&mut fresh).expect("answered"));
        let SyncResponse::Leaves { leaves } = leaves else { panic!("not leaves") };
        let key_hashes: Vec<u64> = leaves.iter().flatten().map(|s| s.key_hash).collect();
        prop_assert_eq!(key_hashes.len(), kept.len());
        // Every change may have been refused (below zero): then there is nothing to fetch.
        if !key_hashes.is_empty() {
            let fetch = SyncRequest::Fetch { key_hashes };
            prop_assert_eq!(fetch.answer_from(&mut kept).expect("answered"), fetch.answer_from(&mut fresh).expect("answered"));
        }
    }

    #[test]
    fn sync_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = SyncRequest::decode(&bytes);
        let _ = SyncResponse::decode(&bytes);
        let mut versioned = vec![1];
        versioned.extend(&bytes);
        let _ = SyncRequest::decode(&versioned);
        let _ = SyncResponse::decode(&versioned);
    }

    #[test]
    fn leaf_summaries_round_trip(leaves in prop::collection::vec(prop::collection::vec((any::<u64>(), any::<u64>()), 0..5), 1..5)) {
        let leaves: Vec<Vec<Summary>> = leaves
            .into_iter()
            .map(|l| l.into_iter().map(|(key_hash, digest)| Summary { key_hash, digest }).collect())
            .collect();
        let response = SyncResponse::Leaves { leaves };
        prop_assert_eq!(SyncResponse::decode(&response.encode(&namespace())), Ok(response));
    }
}
