//! The wire format: round trips, golden bytes that pin version 1, and a typed error for every
//! kind of malformed message.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

mod common;

use common::*;
use warpnet_stats::{
    Batch, EntryError, EntryKey, KeyError, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, Replica,
    SignedEntry, StatKind, WIRE_VERSION, WireError, signing_payload,
};

const GOLDEN_BATCH: &[u8] = include_bytes!("fixtures/batch_v1.bin");
const GOLDEN_PAYLOAD: &str = include_str!("fixtures/entry_payload_v1.hex");

/// The batch pinned by `fixtures/batch_v1.bin`: node 1 liked tweet 1234567890 three times and
/// unliked once; node 2 viewed it twice. Ed25519 signatures are deterministic, so the bytes are.
fn golden_batch() -> Batch {
    let t = tweet("1234567890");
    let mut one = replica(1);
    for _ in 0..3 {
        one.increment(&t, StatKind::Likes).expect("within bounds");
    }
    one.decrement(&t, StatKind::Likes).expect("within bounds");
    let mut two = replica(2);
    two.increment(&t, StatKind::Views).expect("within bounds");
    two.increment(&t, StatKind::Views).expect("within bounds");
    let entries = [(&mut one, StatKind::Likes), (&mut two, StatKind::Views)]
        .into_iter()
        .map(|(r, stat)| {
            let key = EntryKey { tweet: t.clone(), stat, writer: r.local_writer() };
            r.signed(&key).expect("held")
        })
        .collect();
    Batch { namespace: namespace(), entries }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Regenerates the golden files. Run only when the format changes on purpose (which also
/// means a new WIRE_VERSION): `cargo test --test wire -- --ignored regenerate`.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn regenerate_golden_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::write(dir.join("batch_v1.bin"), golden_batch().encode()).expect("write");
    let entry = &golden_batch().entries[0].entry;
    let payload = signing_payload(&namespace(), &entry.key, entry.counter);
    std::fs::write(dir.join("entry_payload_v1.hex"), hex(&payload) + "\n").expect("write");
}

#[test]
fn encoding_matches_the_golden_bytes() {
    assert_eq!(golden_batch().encode(), GOLDEN_BATCH);
    assert_eq!(GOLDEN_BATCH[0], WIRE_VERSION);
}

#[test]
fn the_signing_payload_matches_its_golden_bytes() {
    let entry = &golden_batch().entries[0].entry;
    let payload = signing_payload(&namespace(), &entry.key, entry.counter);
    assert_eq!(hex(&payload), GOLDEN_PAYLOAD.trim());
    assert!(payload.starts_with(b"warpnet-stats/entry/1\x07mainnet\x0a1234567890\x01\x26"));
    assert!(payload.ends_with(&[0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1]));
}

#[test]
fn golden_bytes_decode_and_verify() {
    let batch = Batch::decode(GOLDEN_BATCH).expect("golden bytes decode");
    assert_eq!(batch, golden_batch());
    let mut fresh = replica(9);
    let report = fresh.merge(&batch.namespace, batch.entries);
    assert_eq!((report.changed.len(), report.rejected.len()), (2, 0));
    let stats = fresh.stats(&tweet("1234567890"));
    assert_eq!((stats.likes, stats.views), (2, 2));
}

#[test]
fn large_batches_round_trip() {
    let mut a = replica(1);
    let keys: Vec<EntryKey> = (0..1000)
        .map(|i| {
            a.increment(&tweet(&format!("tweet-{i}")), StatKind::ALL[i % 4])
                .expect("within bounds")
                .key
        })
        .collect();
    let entries: Vec<SignedEntry> = keys.iter().map(|k| a.signed(k).expect("held")).collect();
    let batch = Batch { namespace: namespace(), entries };
    let bytes = batch.encode();
    assert!(bytes.len() < 200 * 1000, "{} bytes for 1000 entries", bytes.len());
    assert_eq!(Batch::decode(&bytes), Ok(batch));
}

// --- a minimal protobuf writer, to build malformed messages by hand ---

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn bytes_field(tag: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint(tag << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn int_field(tag: u64, value: u64, out: &mut Vec<u8>) {
    varint(tag << 3, out);
    varint(value, out);
}

struct RawEntry {
    tweet: Vec<u8>,
    stat: u64,
    node: Vec<u8>,
    generation: Vec<u8>,
    signature: Vec<u8>,
}

impl RawEntry {
    fn valid() -> Self {
        RawEntry {
            tweet: b"t".to_vec(),
            stat: 1,
            node: identity(1).node_id().to_bytes(),
            generation: vec![0; 16],
            signature: vec![0; 64],
        }
    }

    fn message(&self, namespace: &str) -> Vec<u8> {
        let mut entry = Vec::new();
        bytes_field(1, &self.tweet, &mut entry);
        int_field(2, self.stat, &mut entry);
        bytes_field(3, &self.node, &mut entry);
        bytes_field(4, &self.generation, &mut entry);
        int_field(5, 1, &mut entry);
        bytes_field(7, &self.signature, &mut entry);
        let mut out = vec![WIRE_VERSION];
        bytes_field(1, namespace.as_bytes(), &mut out);
        bytes_field(2, &entry, &mut out);
        out
    }
}

#[test]
fn the_hand_built_message_is_valid() {
    let batch = Batch::decode(&RawEntry::valid().message("mainnet")).expect("valid");
    assert_eq!(batch.entries.len(), 1);
    assert_eq!(batch.entries[0].entry.counter.increments, 1);
}

#[test]
fn message_level_errors_are_typed() {
    assert_eq!(Batch::decode(&[]), Err(WireError::Empty));
    let mut future = GOLDEN_BATCH.to_vec();
    future[0] = 2;
    assert_eq!(Batch::decode(&future), Err(WireError::UnknownVersion(2)));
    let huge = [&[WIRE_VERSION][..], &vec![0; MAX_MESSAGE_BYTES]].concat();
    assert_eq!(
        Batch::decode(&huge),
        Err(WireError::TooLarge { len: MAX_MESSAGE_BYTES + 1, max: MAX_MESSAGE_BYTES })
    );
    assert!(matches!(Batch::decode(&[WIRE_VERSION, 0xff, 0xff]), Err(WireError::Protobuf(_))));
    let truncated = &GOLDEN_BATCH[..GOLDEN_BATCH.len() - 10];
    assert!(matches!(Batch::decode(truncated), Err(WireError::Protobuf(_))));

    let mut crowded = vec![WIRE_VERSION];
    for _ in 0..=MAX_BATCH_ENTRIES {
        bytes_field(2, &[], &mut crowded);
    }
    assert_eq!(
        Batch::decode(&crowded),
        Err(WireError::TooManyEntries { count: MAX_BATCH_ENTRIES + 1, max: MAX_BATCH_ENTRIES })
    );
    assert!(matches!(
        Batch::decode(&RawEntry::valid().message("main/net")),
        Err(WireError::Namespace(KeyError::BadChar { found: '/', .. }))
    ));
    assert!(matches!(
        Batch::decode(&RawEntry::valid().message("")),
        Err(WireError::Namespace(KeyError::Empty { .. }))
    ));
}

#[test]
fn entry_level_errors_are_typed_and_say_which_entry() {
    let cases: Vec<(RawEntry, EntryError)> = vec![
        (RawEntry { stat: 0, ..RawEntry::valid() }, EntryError::UnknownStat(0)),
        (RawEntry { stat: 5, ..RawEntry::valid() }, EntryError::UnknownStat(5)),
        (
            RawEntry { generation: vec![0; 15], ..RawEntry::valid() },
            EntryError::GenerationLength(15),
        ),
        (RawEntry { signature: vec![0; 63], ..RawEntry::valid() }, EntryError::SignatureLength(63)),
        (RawEntry { signature: vec![], ..RawEntry::valid() }, EntryError::SignatureLength(0)),
        (
            RawEntry { tweet: vec![], ..RawEntry::valid() },
            EntryError::Key(KeyError::Empty { what: "tweet id" }),
        ),
        (
            RawEntry { tweet: b"a/b".to_vec(), ..RawEntry::valid() },
            EntryError::Key(KeyError::BadChar { what: "tweet id", found: '/' }),
        ),
    ];
    for (raw, expected) in cases {
        let result = Batch::decode(&raw.message("mainnet"));
        assert_eq!(result, Err(WireError::Entry { index: 0, reason: expected }));
    }
    let bad_node = RawEntry { node: vec![0, 4, 1, 2, 3, 4], ..RawEntry::valid() };
    assert!(matches!(
        Batch::decode(&bad_node.message("mainnet")),
        Err(WireError::Entry { index: 0, reason: EntryError::Key(KeyError::BadNodeId(_)) })
    ));
    // Invalid UTF-8 in a string field is a protobuf error.
    let not_utf8 = RawEntry { tweet: vec![0xff, 0xfe], ..RawEntry::valid() };
    assert!(matches!(Batch::decode(&not_utf8.message("mainnet")), Err(WireError::Protobuf(_))));
}

#[test]
fn errors_read_as_sentences() {
    let error = Batch::decode(&RawEntry { stat: 9, ..RawEntry::valid() }.message("mainnet"))
        .expect_err("unknown stat");
    assert_eq!(error.to_string(), "entry 0: unknown stat number 9");
    assert_eq!(
        WireError::UnknownVersion(7).to_string(),
        "unknown wire version 7 (this build reads version 1)"
    );
}

#[test]
fn decoding_never_trusts_signatures() {
    // A well-formed message with a zero signature decodes (signatures are the replica's job)
    // but is refused when merged.
    let batch = Batch::decode(&RawEntry::valid().message("mainnet")).expect("valid");
    let mut r: Replica = replica(2);
    let report = r.merge(&batch.namespace, batch.entries);
    assert_eq!(report.rejected.len(), 1);
    assert!(r.is_empty());
}
