//! Seals and wire format version 2: any part of a sealed batch travels, decodes and verifies
//! with the writer's one signature; tampering is caught; golden bytes pin the format; every
//! malformed message gets a typed error and no input panics the decoder.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use proptest::prelude::*;
use warpnet_stats::{
    EntryKey, IdentityProof, PnCounter, Rejection, Replica, Rules, StatKind,
    seal::{Leaf, SealError, Sealed, seal_leaves, verify_sealed},
    wire::{
        GroupError, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, SealedBatch, WIRE_VERSION, WireError,
    },
};

const GOLDEN_BATCH: &[u8] = include_bytes!("../fixtures/batch_v2.bin");

fn leaves(count: usize) -> Vec<Leaf> {
    (0..count)
        .map(|i| Leaf {
            tweet: tweet(&format!("tweet-{}", i / 4)),
            stat: StatKind::ALL[i % 4],
            counter: PnCounter::new(i as u64 + 3, (i % 3) as u64),
        })
        .collect()
}

fn indexed(leaves: Vec<Leaf>) -> Vec<(u32, Leaf)> {
    (0..).zip(leaves).collect()
}

/// `writers` writers, each sealing `per_writer` leaves, shown whole.
fn sealed(writers: u8, per_writer: usize) -> Vec<Sealed> {
    (1..=writers)
        .map(|seed| {
            let leaves = leaves(per_writer);
            let (seal, tree) =
                seal_leaves(&identity(seed), &namespace(), generation(seed), &leaves)
                    .expect("sealed");
            Sealed::of(&seal, IdentityProof { nonce: 1 }, &tree, indexed(leaves)).expect("known")
        })
        .collect()
}

/// The batch pinned by `fixtures/batch_v2.bin`: writer 1 sealed 5 counters and shows 3 of
/// them, writer 2 shows all 2 of its own, each with an identity proof that holds at the default
/// difficulty. Ed25519 signatures are deterministic, so the bytes are.
fn golden_batch() -> SealedBatch {
    let one = leaves(5);
    let (seal, tree) =
        seal_leaves(&identity(1), &namespace(), generation(1), &one).expect("sealed");
    let part = [0u32, 3, 4].map(|i| (i, one[i as usize].clone())).to_vec();
    let two = leaves(2);
    let (seal2, tree2) =
        seal_leaves(&identity(2), &namespace(), generation(2), &two).expect("sealed");
    SealedBatch {
        namespace: namespace(),
        sealed: vec![
            Sealed::of(&seal, proof_of(1), &tree, part).expect("known"),
            Sealed::of(&seal2, proof_of(2), &tree2, indexed(two)).expect("known"),
        ],
    }
}

/// Regenerates the golden file. Run only when the format changes on purpose (which also means
/// a new wire version): `cargo test --test sealed -- --ignored regenerate`.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn regenerate_golden_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::write(dir.join("batch_v2.bin"), golden_batch().encode().expect("fits a message"))
        .expect("write");
}

#[test]
fn encoding_matches_the_golden_bytes_which_decode_and_verify() {
    assert_eq!(golden_batch().encode().expect("fits a message"), GOLDEN_BATCH);
    assert_eq!(GOLDEN_BATCH[0], WIRE_VERSION);
    let batch = SealedBatch::decode(GOLDEN_BATCH).expect("decodes");
    assert_eq!(batch, golden_batch());
    assert!(verify_sealed(&namespace(), &batch.sealed).iter().all(Result::is_ok));
    let mut taker = Replica::new(namespace(), Rules::DEFAULT, identity(9), generation(9));
    let report = taker.merge(&namespace(), batch.sealed);
    assert_eq!((report.changed.len(), report.rejected.len()), (5, 0), "proofs hold at 23 bits");
}

#[test]
fn a_tampered_counter_or_a_foreign_namespace_fails_the_seal() {
    let mut groups = sealed(2, 9);
    groups[1].leaves[4].1.counter.decrements += 1;
    let verdicts = verify_sealed(&namespace(), &groups);
    assert!(verdicts[0].is_ok());
    assert_eq!(verdicts[1], Err(SealError::BadSignature));
    let other = warpnet_stats::Namespace::new("testnet").expect("valid");
    assert_eq!(verify_sealed(&other, &groups[..1])[0], Err(SealError::BadSignature));
}

#[test]
fn whole_seals_cost_a_few_bytes_per_counter() {
    // 10 writers x 1,600 counters over 400 tweets: the full state of one benchmark replica.
    let batch = SealedBatch { namespace: namespace(), sealed: sealed(4, 1600) };
    let bytes = batch.encode().expect("fits a message");
    let per_counter = bytes.len() as f64 / 6400.0;
    assert!(per_counter < 12.0, "{per_counter:.1} bytes per counter");
    assert_eq!(SealedBatch::decode(&bytes), Ok(batch));
}

#[test]
fn malformed_groups_get_typed_errors() {
    let good = golden_batch();
    let mut short_signature = good.encode().expect("fits a message");
    // The first group's first seal: flip nothing, but cut the message: a protobuf error.
    short_signature.truncate(short_signature.len() - 3);
    assert!(matches!(SealedBatch::decode(&short_signature), Err(WireError::Protobuf(_))));
    assert_eq!(SealedBatch::decode(&[]), Err(WireError::Empty));
    assert_eq!(SealedBatch::decode(&[1, 0]), Err(WireError::UnknownVersion(1)));
    let mut beyond = good.clone();
    beyond.sealed[0].leaves[2].0 = 5; // index 5 of a 5-leaf seal
    assert_eq!(
        SealedBatch::decode(&beyond.encode().expect("fits a message")),
        Err(WireError::Group { index: 0, reason: GroupError::Index })
    );
    // Too many leaves for one message: encoding refuses it, and a peer that sends one anyway
    // (two messages' fields in one: protobuf concatenates repeated fields) is refused too.
    let many = SealedBatch { namespace: namespace(), sealed: sealed(2, MAX_BATCH_ENTRIES / 2 + 1) };
    let refused =
        Err(WireError::TooManyEntries { count: MAX_BATCH_ENTRIES + 2, max: MAX_BATCH_ENTRIES });
    assert_eq!(many.encode(), refused);
    let halves = many.sealed.iter().map(|one| {
        SealedBatch { namespace: namespace(), sealed: vec![one.clone()] }.encode().expect("fits")
    });
    let mut joined = vec![WIRE_VERSION];
    halves.for_each(|bytes| joined.extend_from_slice(&bytes[1..]));
    assert_eq!(SealedBatch::decode(&joined).map(|_| ()), refused.map(|_| ()));
}

/// Any number of entries leaves a replica as messages each within the wire's limits, which
/// decode to all of them.
#[test]
fn a_replica_exports_as_messages_that_fit() {
    let mut source = writer(namespace(), 1, 1);
    let stats = [StatKind::Likes, StatKind::Retweets, StatKind::Replies, StatKind::Views];
    let keys: Vec<EntryKey> = (0..MAX_BATCH_ENTRIES / 4 + 500)
        .flat_map(|n| {
            let tweet = tweet(&format!("tweet-{n}"));
            stats.map(|stat| source.increment(&tweet, stat).expect("within bounds").key)
        })
        .collect();
    let messages = SealedBatch::messages(&source, &keys, 64 * 1024);
    assert!(messages.len() > 1);
    let mut back = replica(2);
    for (message_keys, bytes) in &messages {
        assert!(bytes.len() <= 64 * 1024, "{} bytes", bytes.len());
        let batch = SealedBatch::decode(bytes).expect("decodes");
        assert_eq!(batch.sealed.iter().map(|s| s.leaves.len()).sum::<usize>(), message_keys.len());
        assert!(back.merge(&namespace(), batch.sealed).rejected.is_empty());
    }
    assert_eq!(messages.iter().map(|(k, _)| k.len()).sum::<usize>(), keys.len());
    assert_eq!(back.count(&tweet("tweet-7"), StatKind::Views), 1);
    // No limit asked, or the wire's: messages the wire takes, holding every key.
    for max_bytes in [MAX_MESSAGE_BYTES, usize::MAX] {
        let messages = SealedBatch::messages(&source, &keys, max_bytes);
        assert!(messages.iter().all(|(_, bytes)| bytes.len() <= MAX_MESSAGE_BYTES));
        assert_eq!(messages.iter().map(|(k, _)| k.len()).sum::<usize>(), keys.len());
    }
}

/// A seal held already is not checked again, but only if it is the same seal: the same root
/// and signature under another leaf count (which the signature covers, and which a proof may
/// reconcile with the root) is checked, and refused (found by the `sync_response` fuzz target:
/// it was taken as held, and a debug build panicked merging the two trees).
#[test]
fn a_held_seals_root_and_signature_under_another_leaf_count_are_checked() {
    let all = leaves(20);
    let (seal, tree) =
        seal_leaves(&identity(1), &namespace(), generation(1), &all).expect("sealed");
    let part = vec![(3, all[3].clone())];
    let honest = Sealed::of(&seal, IdentityProof { nonce: 1 }, &tree, part).expect("known");
    let mut replica = replica(9);
    assert_eq!(replica.merge(&namespace(), vec![honest.clone()]).changed.len(), 1);
    for leaf_count in [21, 28, 32] {
        let mut other = honest.clone();
        other.leaf_count = leaf_count;
        other.leaves[0].1.counter.increments += 1;
        let report = replica.merge(&namespace(), vec![other]);
        assert!(report.changed.is_empty(), "{leaf_count}: {report:?}");
    }
    // Another leaf of the same seal, under a leaf count whose tree the proof fits just as well
    // (leaves below 16 have the same path in trees of 17 to 32 leaves).
    let part = vec![(5, all[5].clone())];
    let mut recounted = Sealed::of(&seal, IdentityProof { nonce: 1 }, &tree, part).expect("known");
    recounted.leaf_count = 28;
    let report = replica.merge(&namespace(), vec![recounted]);
    assert_eq!(report.rejected, vec![(all[5].key(honest.writer), Rejection::BadSignature)]);
    assert_eq!(replica.seal_count(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any part of any seal, encoded, decoded and checked, comes out as the writer signed it.
    #[test]
    fn any_part_of_a_seal_round_trips_and_verifies(
        count in 1usize..200,
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..20),
    ) {
        let all = leaves(count);
        let (seal, tree) =
            seal_leaves(&identity(3), &namespace(), generation(3), &all).expect("sealed");
        let mut indices: Vec<u32> = picks.iter().map(|p| p.index(count) as u32).collect();
        indices.sort_unstable();
        indices.dedup();
        let part = indices.iter().map(|&i| (i, all[i as usize].clone())).collect();
        let sealed = Sealed::of(&seal, IdentityProof { nonce: 0 }, &tree, part).expect("known");
        let batch = SealedBatch { namespace: namespace(), sealed: vec![sealed] };
        let decoded = SealedBatch::decode(&batch.encode().expect("fits a message")).expect("decodes");
        prop_assert_eq!(&decoded, &batch);
        let (checked, _) = verify_sealed(&namespace(), &decoded.sealed)[0]
            .clone()
            .expect("verifies");
        prop_assert_eq!(checked, seal);
    }

    /// No input makes the decoder panic; mutated golden bytes decode only into batches that
    /// are checked again before use.
    #[test]
    fn no_bytes_panic_the_decoder(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        noise in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = GOLDEN_BATCH.to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Ok(batch) = SealedBatch::decode(&bytes) {
            let _ = verify_sealed(&namespace(), &batch.sealed);
        }
        let mut random = vec![WIRE_VERSION];
        random.extend(noise);
        let _ = SealedBatch::decode(&random);
    }
}
