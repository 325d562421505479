//! The wire format: a typed error for every kind of malformed message, built by hand field by
//! field; version 1 refused. (Golden bytes and round trips of version 2: tests/crdt/sealed.rs.)
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use warpnet_stats::{
    KeyError, Replica,
    wire::{
        GroupError, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, SealedBatch, WIRE_VERSION, WireError,
    },
};

const VERSION_1_BATCH: &[u8] = include_bytes!("../fixtures/batch_v1.bin");

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

fn packed(tag: u64, values: &[u64], out: &mut Vec<u8>) {
    let mut body = Vec::new();
    for &value in values {
        varint(value, &mut body);
    }
    bytes_field(tag, &body, out);
}

/// One writer group with one seal, field by field.
struct RawGroup {
    node: Vec<u8>,
    generation: Vec<u8>,
    leaf_count: u64,
    signature: Vec<u8>,
    index_gaps: Vec<u64>,
    keys: Vec<u64>,
    increments: Vec<u64>,
    decrements: Vec<u64>,
    proof: Vec<u8>,
}

impl RawGroup {
    fn valid() -> Self {
        RawGroup {
            node: identity(1).node_id().to_bytes(),
            generation: vec![0; 16],
            leaf_count: 1,
            signature: vec![0; 64],
            index_gaps: vec![],
            keys: vec![0],
            increments: vec![1],
            decrements: vec![0],
            proof: vec![],
        }
    }

    fn message(&self, namespace: &str, tweets: &[&[u8]]) -> Vec<u8> {
        let mut seal = Vec::new();
        int_field(1, self.leaf_count, &mut seal);
        bytes_field(2, &self.signature, &mut seal);
        packed(3, &self.index_gaps, &mut seal);
        packed(4, &self.keys, &mut seal);
        packed(5, &self.increments, &mut seal);
        packed(6, &self.decrements, &mut seal);
        bytes_field(7, &self.proof, &mut seal);
        let mut group = Vec::new();
        bytes_field(1, &self.node, &mut group);
        bytes_field(2, &self.generation, &mut group);
        int_field(3, 5, &mut group);
        bytes_field(4, &seal, &mut group);
        let mut out = vec![WIRE_VERSION];
        bytes_field(1, namespace.as_bytes(), &mut out);
        for tweet in tweets {
            bytes_field(2, tweet, &mut out);
        }
        bytes_field(3, &group, &mut out);
        out
    }

    fn decode(&self) -> Result<SealedBatch, WireError> {
        SealedBatch::decode(&self.message("mainnet", &[b"t"]))
    }
}

#[test]
fn the_hand_built_message_is_valid() {
    let batch = RawGroup::valid().decode().expect("valid");
    assert_eq!(batch.sealed.len(), 1);
    let group = &batch.sealed[0];
    assert_eq!(group.identity.nonce, 5);
    assert_eq!(group.leaves.len(), 1);
    assert_eq!((group.leaves[0].0, group.leaves[0].1.counter.increments), (0, 1));
}

#[test]
fn version_1_and_other_message_level_errors_are_typed() {
    assert_eq!(SealedBatch::decode(&[]), Err(WireError::Empty));
    assert_eq!(SealedBatch::decode(VERSION_1_BATCH), Err(WireError::UnknownVersion(1)));
    let huge = [&[WIRE_VERSION][..], &vec![0; MAX_MESSAGE_BYTES]].concat();
    assert_eq!(
        SealedBatch::decode(&huge),
        Err(WireError::TooLarge { len: MAX_MESSAGE_BYTES + 1, max: MAX_MESSAGE_BYTES })
    );
    assert!(matches!(
        SealedBatch::decode(&[WIRE_VERSION, 0xff, 0xff]),
        Err(WireError::Protobuf(_))
    ));
    let tweets: Vec<&[u8]> = vec![b"t"; MAX_BATCH_ENTRIES + 1];
    assert_eq!(
        SealedBatch::decode(&RawGroup::valid().message("mainnet", &tweets)),
        Err(WireError::TooManyEntries { count: MAX_BATCH_ENTRIES + 1, max: MAX_BATCH_ENTRIES })
    );
    assert!(matches!(
        SealedBatch::decode(&RawGroup::valid().message("main/net", &[b"t"])),
        Err(WireError::Namespace(KeyError::BadChar { found: '/', .. }))
    ));
    assert!(matches!(
        SealedBatch::decode(&RawGroup::valid().message("mainnet", &[b"a/b"])),
        Err(WireError::Tweet(KeyError::BadChar { what: "tweet id", found: '/' }))
    ));
    // Each tweet listed once, and each one listed used by a leaf.
    assert_eq!(
        SealedBatch::decode(&RawGroup::valid().message("mainnet", &[b"t", b"t"])),
        Err(WireError::RepeatedTweet(tweet("t")))
    );
    assert_eq!(
        SealedBatch::decode(&RawGroup::valid().message("mainnet", &[b"t", b"u"])),
        Err(WireError::UnusedTweet(tweet("u")))
    );
    // Invalid UTF-8 in a string field is a protobuf error.
    assert!(matches!(
        SealedBatch::decode(&RawGroup::valid().message("mainnet", &[&[0xff, 0xfe]])),
        Err(WireError::Protobuf(_))
    ));
}

#[test]
fn group_level_errors_are_typed_and_say_which_group() {
    let valid = RawGroup::valid;
    let cases: Vec<(RawGroup, GroupError)> = vec![
        (RawGroup { generation: vec![0; 15], ..valid() }, GroupError::GenerationLength(15)),
        (RawGroup { signature: vec![0; 63], ..valid() }, GroupError::SignatureLength(63)),
        (RawGroup { signature: vec![], ..valid() }, GroupError::SignatureLength(0)),
        (RawGroup { proof: vec![0; 17], ..valid() }, GroupError::ProofLength(17)),
        (RawGroup { increments: vec![], ..valid() }, GroupError::Columns),
        (RawGroup { leaf_count: 2, ..valid() }, GroupError::Columns),
        (RawGroup { leaf_count: 2, index_gaps: vec![0, 0], ..valid() }, GroupError::Columns),
        (RawGroup { leaf_count: 2, index_gaps: vec![2], ..valid() }, GroupError::Index),
        (RawGroup { keys: vec![4], ..valid() }, GroupError::TweetRef(1)),
        (
            RawGroup {
                leaf_count: 0,
                keys: vec![],
                increments: vec![],
                decrements: vec![],
                ..valid()
            },
            GroupError::LeafCount(0),
        ),
        (
            RawGroup { leaf_count: 8193, index_gaps: vec![0], ..valid() },
            GroupError::LeafCount(8193),
        ),
    ];
    for (raw, expected) in cases {
        assert_eq!(raw.decode(), Err(WireError::Group { index: 0, reason: expected }));
    }
    let bad_node = RawGroup { node: vec![0, 4, 1, 2, 3, 4], ..valid() };
    assert!(matches!(
        bad_node.decode(),
        Err(WireError::Group { index: 0, reason: GroupError::Key(KeyError::BadNodeId(_)) })
    ));
}

#[test]
fn errors_read_as_sentences() {
    let error = RawGroup { keys: vec![8], ..RawGroup::valid() }.decode().expect_err("bad ref");
    assert_eq!(error.to_string(), "group 0: tweet reference 2 out of range");
    assert_eq!(
        WireError::UnknownVersion(7).to_string(),
        "unknown wire version 7 (this build reads version 2)"
    );
}

#[test]
fn decoding_never_trusts_signatures() {
    // A well-formed message with a zero signature decodes (seals are the replica's job) but is
    // refused when merged.
    let batch = RawGroup::valid().decode().expect("valid");
    let mut r: Replica = replica(2);
    let report = r.merge(&batch.namespace, batch.sealed);
    assert_eq!(report.rejected.len(), 1);
    assert!(r.is_empty());
}
