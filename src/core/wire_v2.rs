//! Wire format version 2 for entries (`proto/warpnet_stats_v2.proto`): sealed leaves grouped
//! by writer, a writer's identity and identity proof once per group, tweet ids once per
//! message, counters as packed varint columns. Decoding checks sizes before parsing and turns
//! every field into a checked core value. Pure: bytes in, values out.
//!
//! Being built: the replica, stores and network still speak version 1 (`wire.rs`) until they
//! hold seals instead of per-entry signatures.

use std::collections::HashMap;

use prost::Message;

use super::counter::PnCounter;
use super::ids::{Generation, Namespace, NodeId, StatKind, TweetId, Writer};
use super::merkle::{HASH_BYTES, Hash};
use super::proof::IdentityProof;
use super::seal::{Leaf, Sealed};
use super::signing::Signature;
use super::wire::{GroupError, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, WireError};

/// The version byte that starts every message of this format.
pub const WIRE_VERSION_2: u8 = 2;

/// Sealed leaves of one namespace: a published batch of local changes or part of a catch-up
/// answer. Each [`Sealed`] carries its writer's identity proof alongside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatch {
    /// The namespace every seal was signed for.
    pub namespace: Namespace,
    /// The seals, each with the identity proof of its writer; seals of one writer are sent in
    /// one group when they follow each other.
    pub sealed: Vec<(IdentityProof, Sealed)>,
}

impl SealedBatch {
    /// The message bytes: the version byte, then the protobuf `SealedBatch`.
    pub fn encode(&self) -> Vec<u8> {
        let mut tweets: Vec<String> = Vec::new();
        let mut refs: HashMap<&TweetId, u32> = HashMap::new();
        let mut groups: Vec<GroupMsg> = Vec::new();
        for (identity, sealed) in &self.sealed {
            let same = groups.last().is_some_and(|g| {
                g.identity_proof == identity.nonce
                    && g.generation == sealed.writer.generation.0
                    && g.node_id == sealed.writer.node.to_bytes()
            });
            if !same {
                groups.push(GroupMsg {
                    node_id: sealed.writer.node.to_bytes(),
                    generation: sealed.writer.generation.0.to_vec(),
                    identity_proof: identity.nonce,
                    seals: Vec::new(),
                });
            }
            let all = sealed.leaves.len() as u64 == u64::from(sealed.leaf_count)
                && sealed.leaves.iter().enumerate().all(|(n, (i, _))| n as u64 == u64::from(*i));
            let mut msg = SealMsg {
                leaf_count: sealed.leaf_count,
                signature: sealed.signature.0.to_vec(),
                index_gaps: Vec::new(),
                keys: Vec::with_capacity(sealed.leaves.len()),
                increments: Vec::with_capacity(sealed.leaves.len()),
                decrements: Vec::with_capacity(sealed.leaves.len()),
                proof: sealed.proof.concat(),
            };
            let mut next = 0u32;
            for (index, leaf) in &sealed.leaves {
                if !all {
                    msg.index_gaps.push(index - next);
                    next = index + 1;
                }
                let tweet = *refs.entry(&leaf.tweet).or_insert_with(|| {
                    tweets.push(leaf.tweet.as_str().to_owned());
                    (tweets.len() - 1) as u32
                });
                msg.keys.push(tweet * 4 + u32::from(leaf.stat.code()) - 1);
                msg.increments.push(leaf.counter.increments);
                msg.decrements.push(leaf.counter.decrements);
            }
            groups.last_mut().expect("pushed above").seals.push(msg);
        }
        let message =
            SealedBatchMsg { namespace: self.namespace.as_str().to_owned(), tweets, groups };
        let mut out = Vec::with_capacity(1 + message.encoded_len());
        out.push(WIRE_VERSION_2);
        message.encode(&mut out).expect("a Vec grows as needed");
        out
    }

    /// Reads message bytes, checking the version and size before parsing and every field
    /// after. Proofs and signatures are not checked here (the replica does that).
    pub fn decode(bytes: &[u8]) -> Result<SealedBatch, WireError> {
        let (&version, body) = bytes.split_first().ok_or(WireError::Empty)?;
        if version != WIRE_VERSION_2 {
            return Err(WireError::UnknownVersion(version));
        }
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(WireError::TooLarge { len: bytes.len(), max: MAX_MESSAGE_BYTES });
        }
        let message = SealedBatchMsg::decode(body)?;
        let leaves: usize =
            message.groups.iter().flat_map(|g| &g.seals).map(|s| s.keys.len()).sum();
        let count = leaves.max(message.tweets.len());
        if count > MAX_BATCH_ENTRIES {
            return Err(WireError::TooManyEntries { count, max: MAX_BATCH_ENTRIES });
        }
        let namespace = Namespace::new(&message.namespace).map_err(WireError::Namespace)?;
        let tweets = message
            .tweets
            .iter()
            .map(TweetId::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(WireError::Tweet)?;
        let mut sealed = Vec::new();
        for (index, group) in message.groups.into_iter().enumerate() {
            checked_group(group, &tweets, &mut sealed)
                .map_err(|reason| WireError::Group { index, reason })?;
        }
        Ok(SealedBatch { namespace, sealed })
    }
}

fn checked_group(
    group: GroupMsg,
    tweets: &[TweetId],
    out: &mut Vec<(IdentityProof, Sealed)>,
) -> Result<(), GroupError> {
    let generation = <[u8; 16]>::try_from(group.generation.as_slice())
        .map_err(|_| GroupError::GenerationLength(group.generation.len()))?;
    let writer =
        Writer { node: NodeId::from_bytes(&group.node_id)?, generation: Generation(generation) };
    let identity = IdentityProof { nonce: group.identity_proof };
    for seal in group.seals {
        let signature = <[u8; 64]>::try_from(seal.signature.as_slice())
            .map_err(|_| GroupError::SignatureLength(seal.signature.len()))?;
        if seal.proof.len() % HASH_BYTES != 0 {
            return Err(GroupError::ProofLength(seal.proof.len()));
        }
        let shown = seal.keys.len();
        if seal.increments.len() != shown || seal.decrements.len() != shown {
            return Err(GroupError::Columns);
        }
        let indices: Vec<u32> = if seal.index_gaps.is_empty() {
            if shown as u64 != u64::from(seal.leaf_count) {
                return Err(GroupError::Columns);
            }
            (0..seal.leaf_count).collect()
        } else {
            if seal.index_gaps.len() != shown {
                return Err(GroupError::Columns);
            }
            let mut next = 0u32;
            let mut indices = Vec::with_capacity(shown);
            for gap in seal.index_gaps {
                let index = next.checked_add(gap).filter(|i| *i < seal.leaf_count);
                let index = index.ok_or(GroupError::Index)?;
                indices.push(index);
                next = index + 1;
            }
            indices
        };
        let mut leaves = Vec::with_capacity(shown);
        for (n, index) in indices.into_iter().enumerate() {
            let key = seal.keys[n];
            let tweet = tweets.get((key / 4) as usize).ok_or(GroupError::TweetRef(key / 4))?;
            let code = u8::try_from(key % 4 + 1).expect("1..=4");
            let stat = StatKind::from_code(code).ok_or(GroupError::UnknownStat(key % 4 + 1))?;
            let counter = PnCounter::new(seal.increments[n], seal.decrements[n]);
            leaves.push((index, Leaf { tweet: tweet.clone(), stat, counter }));
        }
        let proof: Vec<Hash> = seal
            .proof
            .chunks_exact(HASH_BYTES)
            .map(|c| c.try_into().expect("chunks of HASH_BYTES"))
            .collect();
        out.push((
            identity,
            Sealed {
                writer,
                leaf_count: seal.leaf_count,
                signature: Signature(signature),
                leaves,
                proof,
            },
        ));
    }
    Ok(())
}

#[derive(Clone, PartialEq, prost::Message)]
struct SealedBatchMsg {
    #[prost(string, tag = "1")]
    namespace: String,
    #[prost(string, repeated, tag = "2")]
    tweets: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    groups: Vec<GroupMsg>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct GroupMsg {
    #[prost(bytes = "vec", tag = "1")]
    node_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    generation: Vec<u8>,
    #[prost(uint64, tag = "3")]
    identity_proof: u64,
    #[prost(message, repeated, tag = "4")]
    seals: Vec<SealMsg>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SealMsg {
    #[prost(uint32, tag = "1")]
    leaf_count: u32,
    #[prost(bytes = "vec", tag = "2")]
    signature: Vec<u8>,
    #[prost(uint32, repeated, tag = "3")]
    index_gaps: Vec<u32>,
    #[prost(uint32, repeated, tag = "4")]
    keys: Vec<u32>,
    #[prost(uint64, repeated, tag = "5")]
    increments: Vec<u64>,
    #[prost(uint64, repeated, tag = "6")]
    decrements: Vec<u64>,
    #[prost(bytes = "vec", tag = "7")]
    proof: Vec<u8>,
}
