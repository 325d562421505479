//! The wire format of `proto/warpnet_stats.proto`, version 2: a version byte, then a protobuf
//! message. Entries travel as sealed leaves grouped by writer (the writer's identity and
//! identity proof once per group, tweet ids once per message, counters as packed varint
//! columns). Decoding checks sizes before parsing and turns every field into a checked core
//! value, so nothing malformed gets past this module. Pure: bytes in, values out.

use std::collections::HashMap;

use prost::Message;

use super::counter::PnCounter;
use super::ids::{EntryKey, Generation, KeyError, Namespace, NodeId, StatKind, TweetId, Writer};
use super::merkle::{HASH_BYTES, Hash, MAX_LEAVES};
use super::proof::IdentityProof;
use super::replica::Replica;
use super::seal::{Leaf, Sealed};
use super::signing::Signature;
use super::sync::MAX_RESPONSE_ENTRIES;

/// The version byte that starts every message of this format. Version 1 (one signature per
/// entry) is refused like any unknown version.
pub const WIRE_VERSION: u8 = 2;
/// The largest message accepted, version byte included.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// The most leaves, and the most tweet ids, one message may carry.
pub const MAX_BATCH_ENTRIES: usize = 8192;

/// Why bytes could not be decoded into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// No bytes at all.
    #[error("empty message")]
    Empty,
    /// The version byte is not one this build reads.
    #[error("unknown wire version {0} (this build reads version {WIRE_VERSION})")]
    UnknownVersion(u8),
    /// The message is longer than [`MAX_MESSAGE_BYTES`].
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The message length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes after the version are not the protobuf message expected.
    #[error("malformed protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// More leaves or tweet ids than [`MAX_BATCH_ENTRIES`].
    #[error("batch of {count} entries exceeds the limit of {max}")]
    TooManyEntries {
        /// The number of entries.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The batch's namespace is invalid.
    #[error("invalid namespace: {0}")]
    Namespace(KeyError),
    /// A required part of the message is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A tweet id in a message's tweet list is invalid.
    #[error("invalid tweet id: {0}")]
    Tweet(KeyError),
    /// A message's tweet list names a tweet twice (each is listed once: a repeat would make
    /// the answer or the work it asks for larger at no cost to the sender).
    #[error("tweet id {0} listed twice")]
    RepeatedTweet(TweetId),
    /// A batch's tweet list names a tweet none of its leaves is of (every tweet listed is
    /// used: an unused one would only make the message larger to read).
    #[error("tweet id {0} listed but not used")]
    UnusedTweet(TweetId),
    /// A writer group is invalid.
    #[error("group {index}: {reason}")]
    Group {
        /// The group's position in the message.
        index: usize,
        /// What is wrong with it.
        reason: GroupError,
    },
}

/// Why one writer group of a `SealedBatch` (wire version 2) is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The node id is not an ed25519 PeerId.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The generation is not 16 bytes.
    #[error("generation is {0} bytes, expected 16")]
    GenerationLength(usize),
    /// A seal's signature is not 64 bytes.
    #[error("signature is {0} bytes, expected 64")]
    SignatureLength(usize),
    /// A seal's proof is not a whole number of hashes.
    #[error("proof of {0} bytes is not a whole number of 16-byte hashes")]
    ProofLength(usize),
    /// A seal's leaf columns differ in length, or its indices do not match its leaves.
    #[error("leaf columns of different lengths")]
    Columns,
    /// A leaf index lies beyond the seal's leaf count.
    #[error("leaf index out of range")]
    Index,
    /// A leaf names a tweet the message does not list.
    #[error("tweet reference {0} out of range")]
    TweetRef(u32),
    /// A seal's leaf count is 0 or above [`MAX_LEAVES`].
    #[error("a seal of {0} leaves (1 to {MAX_LEAVES} allowed)")]
    LeafCount(u32),
}

/// Sealed leaves of one namespace: a published batch of local changes or part of a catch-up
/// answer. Each [`Sealed`] carries its writer's identity proof alongside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatch {
    /// The namespace every seal was signed for.
    pub namespace: Namespace,
    /// The sealed leaves; those of one writer are sent in one group when they follow each
    /// other.
    pub sealed: Vec<Sealed>,
}

impl SealedBatch {
    /// The message bytes: the version byte, then the protobuf `SealedBatch`; an error for a
    /// batch [`SealedBatch::decode`] would refuse for its size (more than [`MAX_BATCH_ENTRIES`]
    /// leaves, or more than [`MAX_MESSAGE_BYTES`]). Its contents are not checked: leaf indices
    /// out of order or beyond their seal's leaf count, or a leaf count of 0 or above
    /// [`MAX_LEAVES`] (which [`Sealed::of`] never makes) encode, and decode refuses them. [`SealedBatch::messages`] splits any number of entries into
    /// messages that fit.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let count = self.sealed.iter().map(|sealed| sealed.leaves.len()).sum();
        // A message lists only the tweets of its leaves: never more tweets than leaves.
        if count > MAX_BATCH_ENTRIES {
            return Err(WireError::TooManyEntries { count, max: MAX_BATCH_ENTRIES });
        }
        let bytes = versioned(&self.to_message());
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(WireError::TooLarge { len: bytes.len(), max: MAX_MESSAGE_BYTES });
        }
        Ok(bytes)
    }

    /// The entries with these keys, sealed out of `replica`, as messages of at most
    /// `max_bytes` (an entry alone may exceed it, never [`MAX_MESSAGE_BYTES`]) and at most
    /// [`MAX_RESPONSE_ENTRIES`] entries each: the keys of each message, and its bytes. Keys
    /// `replica` cannot serve are left out. How a node publishes its changes; also how to
    /// export its state.
    pub fn messages(
        replica: &Replica,
        keys: &[EntryKey],
        max_bytes: usize,
    ) -> Vec<(Vec<EntryKey>, Vec<u8>)> {
        let mut messages = Vec::new();
        let mut rest = keys;
        while !rest.is_empty() {
            let mut count = rest.len().min(MAX_RESPONSE_ENTRIES);
            loop {
                let sealed = replica.sealed(&rest[..count]);
                let served = !sealed.is_empty();
                let encoded =
                    SealedBatch { namespace: replica.namespace().clone(), sealed }.encode();
                let len = match encoded {
                    Ok(bytes) if bytes.len() <= max_bytes || count == 1 => {
                        if served {
                            messages.push((rest[..count].to_vec(), bytes));
                        }
                        rest = &rest[count..];
                        break;
                    }
                    Ok(bytes) => bytes.len(),
                    Err(_) if count == 1 => {
                        rest = &rest[1..];
                        break;
                    }
                    Err(WireError::TooLarge { len, .. }) => len,
                    Err(_) => count,
                };
                // Shrink in proportion, with a margin for entries of uneven size (in u64: the
                // product passes 2^32 on wasm32).
                let limit = max_bytes.clamp(1, MAX_MESSAGE_BYTES) as u64;
                let fitting = count as u64 * limit / len.max(1) as u64 * 9 / 10;
                count = usize::try_from(fitting).unwrap_or(count).clamp(1, count - 1);
            }
        }
        messages
    }

    pub(crate) fn to_message(&self) -> SealedBatchMsg {
        let mut tweets: Vec<String> = Vec::new();
        let mut refs: HashMap<&TweetId, u32> = HashMap::new();
        let mut groups: Vec<GroupMsg> = Vec::new();
        for sealed in &self.sealed {
            let identity = &sealed.identity;
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
                    // Indices rise in a seal made by `Sealed::of`; others (a caller's own) do
                    // not panic here, and their gaps decode as out of range.
                    msg.index_gaps.push(index.wrapping_sub(next));
                    next = index.wrapping_add(1);
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
        SealedBatchMsg { namespace: self.namespace.as_str().to_owned(), tweets, groups }
    }

    /// Reads message bytes, checking the version and size before parsing and every field
    /// after. Proofs and signatures are not checked here (the replica does that).
    pub fn decode(bytes: &[u8]) -> Result<SealedBatch, WireError> {
        checked_batch(SealedBatchMsg::decode(body(bytes)?)?)
    }
}

/// Turns a parsed batch into checked values.
pub(crate) fn checked_batch(message: SealedBatchMsg) -> Result<SealedBatch, WireError> {
    {
        let leaves: usize =
            message.groups.iter().flat_map(|g| &g.seals).map(|s| s.keys.len()).sum();
        let count = leaves.max(message.tweets.len());
        if count > MAX_BATCH_ENTRIES {
            return Err(WireError::TooManyEntries { count, max: MAX_BATCH_ENTRIES });
        }
        let namespace = Namespace::new(&message.namespace).map_err(WireError::Namespace)?;
        let tweets = tweet_list(&message.tweets)?;
        let mut used = vec![false; tweets.len()];
        for key in message.groups.iter().flat_map(|g| &g.seals).flat_map(|s| &s.keys) {
            if let Some(used) = used.get_mut((key / 4) as usize) {
                *used = true;
            }
        }
        let mut sealed = Vec::new();
        for (index, group) in message.groups.into_iter().enumerate() {
            checked_group(group, &tweets, &mut sealed)
                .map_err(|reason| WireError::Group { index, reason })?;
        }
        if let Some(unused) = used.iter().position(|u| !u) {
            return Err(WireError::UnusedTweet(tweets[unused].clone()));
        }
        Ok(SealedBatch { namespace, sealed })
    }
}

/// The tweet ids of a message's tweet list, each valid and listed once.
pub(crate) fn tweet_list(tweets: &[String]) -> Result<Vec<TweetId>, WireError> {
    let mut seen = std::collections::HashSet::with_capacity(tweets.len());
    tweets
        .iter()
        .map(|text| {
            let tweet = TweetId::new(text).map_err(WireError::Tweet)?;
            if !seen.insert(text.as_str()) {
                return Err(WireError::RepeatedTweet(tweet));
            }
            Ok(tweet)
        })
        .collect()
}

fn checked_group(
    group: GroupMsg,
    tweets: &[TweetId],
    out: &mut Vec<Sealed>,
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
        if seal.leaf_count == 0 || seal.leaf_count > MAX_LEAVES {
            return Err(GroupError::LeafCount(seal.leaf_count));
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
            let stat = StatKind::ALL[(key % 4) as usize];
            let counter = PnCounter::new(seal.increments[n], seal.decrements[n]);
            leaves.push((index, Leaf { tweet: tweet.clone(), stat, counter }));
        }
        let proof: Vec<Hash> = seal
            .proof
            .chunks_exact(HASH_BYTES)
            .map(|c| c.try_into().expect("chunks of HASH_BYTES"))
            .collect();
        out.push(Sealed {
            writer,
            identity,
            leaf_count: seal.leaf_count,
            signature: Signature(signature),
            leaves,
            proof,
        });
    }
    Ok(())
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SealedBatchMsg {
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

/// The version byte, then the message.
pub(crate) fn versioned(message: &impl Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + message.encoded_len());
    out.push(WIRE_VERSION);
    message.encode(&mut out).expect("a Vec grows as needed");
    out
}

/// The bytes after the version byte, once version and size are checked.
pub(crate) fn body(bytes: &[u8]) -> Result<&[u8], WireError> {
    let (&version, body) = bytes.split_first().ok_or(WireError::Empty)?;
    if version != WIRE_VERSION {
        return Err(WireError::UnknownVersion(version));
    }
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge { len: bytes.len(), max: MAX_MESSAGE_BYTES });
    }
    Ok(body)
}
