//! The wire format of `proto/warpnet_stats.proto`: a version byte, then a protobuf `Batch` of
//! signed entries (gossip) or a `SyncRequest` / `SyncResponse` (catch-up). Decoding checks
//! sizes before parsing and turns every field into a checked core value, so nothing malformed
//! gets past this module. Pure: bytes in, values out.

use prost::Message;

use super::counter::PnCounter;
use super::digest::Summary;
use super::ids::{EntryKey, Generation, KeyError, Namespace, NodeId, StatKind, TweetId, Writer};
use super::replica::{Entry, SignedEntry};
use super::signing::Signature;
use super::sync::{SyncRequest, SyncResponse};

/// The version byte that starts every message of this format.
pub const WIRE_VERSION: u8 = 1;
/// The largest message accepted, version byte included.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// The most entries a batch may carry.
pub const MAX_BATCH_ENTRIES: usize = 8192;

/// Why bytes could not be decoded into a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The bytes after the version are not a protobuf `Batch`.
    #[error("malformed protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// More entries than [`MAX_BATCH_ENTRIES`].
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
    /// A writer group is invalid.
    #[error("group {index}: {reason}")]
    Group {
        /// The group's position in the message.
        index: usize,
        /// What is wrong with it.
        reason: GroupError,
    },
    /// An entry is invalid.
    #[error("entry {index}: {reason}")]
    Entry {
        /// The entry's position in the batch.
        index: usize,
        /// What is wrong with it.
        reason: EntryError,
    },
}

/// Why one writer group of a `SealedBatch` (wire version 2) is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// A leaf's stat is not one of the four known ones.
    #[error("unknown stat code {0}")]
    UnknownStat(u32),
}

/// Why one entry of a batch is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Its tweet id or node id is invalid.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// Its stat is not one of the four known ones.
    #[error("unknown stat number {0}")]
    UnknownStat(i32),
    /// Its generation is not 16 bytes.
    #[error("generation is {0} bytes, expected 16")]
    GenerationLength(usize),
    /// Its signature is not 64 bytes.
    #[error("signature is {0} bytes, expected 64")]
    SignatureLength(usize),
}

/// Signed entries of one namespace: a published batch of changes or part of a sync reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The namespace all entries belong to (their signatures cover it).
    pub namespace: Namespace,
    /// The entries.
    pub entries: Vec<SignedEntry>,
}

impl Batch {
    /// The message bytes: the version byte, then the protobuf `Batch`.
    pub fn encode(&self) -> Vec<u8> {
        versioned(&BatchMsg {
            namespace: self.namespace.as_str().to_owned(),
            entries: self.entries.iter().map(EntryMsg::from).collect(),
        })
    }

    /// Reads message bytes, checking the version and sizes before parsing and every field
    /// after. Signatures are not checked here (the replica does that when merging).
    pub fn decode(bytes: &[u8]) -> Result<Batch, WireError> {
        checked_batch(BatchMsg::decode(body(bytes)?)?)
    }
}

/// Turns a parsed batch into checked values.
fn checked_batch(message: BatchMsg) -> Result<Batch, WireError> {
    if message.entries.len() > MAX_BATCH_ENTRIES {
        return Err(WireError::TooManyEntries {
            count: message.entries.len(),
            max: MAX_BATCH_ENTRIES,
        });
    }
    let namespace = Namespace::new(&message.namespace).map_err(WireError::Namespace)?;
    let entries = message
        .entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            SignedEntry::try_from(entry).map_err(|reason| WireError::Entry { index, reason })
        })
        .collect::<Result<_, _>>()?;
    Ok(Batch { namespace, entries })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
enum StatMsg {
    Unspecified = 0,
    Likes = 1,
    Retweets = 2,
    Replies = 3,
    Views = 4,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EntryMsg {
    #[prost(string, tag = "1")]
    tweet_id: String,
    #[prost(enumeration = "StatMsg", tag = "2")]
    stat: i32,
    #[prost(bytes = "vec", tag = "3")]
    node_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    generation: Vec<u8>,
    #[prost(uint64, tag = "5")]
    increments: u64,
    #[prost(uint64, tag = "6")]
    decrements: u64,
    #[prost(bytes = "vec", tag = "7")]
    signature: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BatchMsg {
    #[prost(string, tag = "1")]
    namespace: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryMsg>,
}

impl From<&SignedEntry> for EntryMsg {
    fn from(signed: &SignedEntry) -> Self {
        let Entry { key, counter } = &signed.entry;
        EntryMsg {
            tweet_id: key.tweet.as_str().to_owned(),
            stat: i32::from(key.stat.code()),
            node_id: key.writer.node.to_bytes(),
            generation: key.writer.generation.0.to_vec(),
            increments: counter.increments,
            decrements: counter.decrements,
            signature: signed.signature.0.to_vec(),
        }
    }
}

impl TryFrom<EntryMsg> for SignedEntry {
    type Error = EntryError;

    fn try_from(msg: EntryMsg) -> Result<Self, EntryError> {
        let stat = u8::try_from(msg.stat)
            .ok()
            .and_then(StatKind::from_code)
            .ok_or(EntryError::UnknownStat(msg.stat))?;
        let generation = <[u8; 16]>::try_from(msg.generation.as_slice())
            .map_err(|_| EntryError::GenerationLength(msg.generation.len()))?;
        let signature = <[u8; 64]>::try_from(msg.signature.as_slice())
            .map_err(|_| EntryError::SignatureLength(msg.signature.len()))?;
        let key = EntryKey {
            tweet: TweetId::new(&msg.tweet_id)?,
            stat,
            writer: Writer {
                node: NodeId::from_bytes(&msg.node_id)?,
                generation: Generation(generation),
            },
        };
        Ok(SignedEntry {
            entry: Entry { key, counter: PnCounter::new(msg.increments, msg.decrements) },
            signature: Signature(signature),
        })
    }
}

impl SyncRequest {
    /// The message bytes: the version byte, then the protobuf `SyncRequest` for `namespace`.
    pub fn encode(&self, namespace: &Namespace) -> Vec<u8> {
        let kind = match self {
            SyncRequest::Children { level, indices } => RequestKind::Children(ChildrenMsg {
                level: u32::from(*level),
                indices: indices.clone(),
            }),
            SyncRequest::Leaves { indices } => {
                RequestKind::Leaves(LeavesMsg { indices: indices.clone() })
            }
            SyncRequest::Fetch { key_hashes } => {
                RequestKind::Fetch(FetchMsg { key_hashes: key_hashes.clone() })
            }
        };
        versioned(&SyncRequestMsg { namespace: namespace.as_str().to_owned(), kind: Some(kind) })
    }

    /// Reads request bytes: the namespace asked about and the request. Item counts and leaf
    /// indices are checked by [`Replica::answer`].
    pub fn decode(bytes: &[u8]) -> Result<(Namespace, SyncRequest), WireError> {
        let message = SyncRequestMsg::decode(body(bytes)?)?;
        let namespace = Namespace::new(&message.namespace).map_err(WireError::Namespace)?;
        let request = match message.kind.ok_or(WireError::Missing("request kind"))? {
            RequestKind::Children(ChildrenMsg { level, indices }) => {
                SyncRequest::Children { level: u8::try_from(level).unwrap_or(u8::MAX), indices }
            }
            RequestKind::Leaves(LeavesMsg { indices }) => SyncRequest::Leaves { indices },
            RequestKind::Fetch(FetchMsg { key_hashes }) => SyncRequest::Fetch { key_hashes },
        };
        Ok((namespace, request))
    }
}

impl SyncResponse {
    /// The message bytes: the version byte, then the protobuf `SyncResponse`. Entries are
    /// encoded as in a [`Batch`] of `namespace`.
    pub fn encode(&self, namespace: &Namespace) -> Vec<u8> {
        let kind = match self {
            SyncResponse::Children { digests } => {
                ResponseKind::Children(DigestsMsg { digests: digests.clone() })
            }
            SyncResponse::Leaves { leaves } => ResponseKind::Leaves(SummariesMsg {
                leaves: leaves
                    .iter()
                    .map(|leaf| LeafMsg {
                        key_hashes: leaf.iter().map(|s| s.key_hash).collect(),
                        digests: leaf.iter().map(|s| s.digest).collect(),
                    })
                    .collect(),
            }),
            SyncResponse::Entries { answered, entries } => ResponseKind::Entries(EntriesMsg {
                answered: *answered,
                batch: Some(BatchMsg {
                    namespace: namespace.as_str().to_owned(),
                    entries: entries.iter().map(EntryMsg::from).collect(),
                }),
            }),
        };
        versioned(&SyncResponseMsg { kind: Some(kind) })
    }

    /// Reads response bytes, checking sizes and every entry (not signatures).
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse, WireError> {
        let message = SyncResponseMsg::decode(body(bytes)?)?;
        Ok(match message.kind.ok_or(WireError::Missing("response kind"))? {
            ResponseKind::Children(DigestsMsg { digests }) => SyncResponse::Children { digests },
            ResponseKind::Leaves(SummariesMsg { leaves }) => SyncResponse::Leaves {
                leaves: leaves
                    .into_iter()
                    .map(|leaf| {
                        if leaf.key_hashes.len() != leaf.digests.len() {
                            return Err(WireError::Missing("a digest for every key hash"));
                        }
                        let summaries = leaf.key_hashes.into_iter().zip(leaf.digests);
                        Ok(summaries
                            .map(|(key_hash, digest)| Summary { key_hash, digest })
                            .collect())
                    })
                    .collect::<Result<_, _>>()?,
            },
            ResponseKind::Entries(EntriesMsg { answered, batch }) => {
                let batch = batch.ok_or(WireError::Missing("entries"))?;
                SyncResponse::Entries { answered, entries: checked_batch(batch)?.entries }
            }
        })
    }
}

/// The version byte, then the message.
fn versioned(message: &impl Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + message.encoded_len());
    out.push(WIRE_VERSION);
    message.encode(&mut out).expect("a Vec grows as needed");
    out
}

/// The bytes after the version byte, once version and size are checked.
fn body(bytes: &[u8]) -> Result<&[u8], WireError> {
    let (&version, body) = bytes.split_first().ok_or(WireError::Empty)?;
    if version != WIRE_VERSION {
        return Err(WireError::UnknownVersion(version));
    }
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge { len: bytes.len(), max: MAX_MESSAGE_BYTES });
    }
    Ok(body)
}

#[derive(Clone, PartialEq, prost::Message)]
struct SyncRequestMsg {
    #[prost(string, tag = "1")]
    namespace: String,
    #[prost(oneof = "RequestKind", tags = "2, 3, 4")]
    kind: Option<RequestKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum RequestKind {
    #[prost(message, tag = "2")]
    Children(ChildrenMsg),
    #[prost(message, tag = "3")]
    Leaves(LeavesMsg),
    #[prost(message, tag = "4")]
    Fetch(FetchMsg),
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChildrenMsg {
    #[prost(uint32, tag = "1")]
    level: u32,
    #[prost(uint32, repeated, tag = "2")]
    indices: Vec<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LeavesMsg {
    #[prost(uint32, repeated, tag = "1")]
    indices: Vec<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FetchMsg {
    #[prost(fixed64, repeated, tag = "1")]
    key_hashes: Vec<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SyncResponseMsg {
    #[prost(oneof = "ResponseKind", tags = "1, 2, 3")]
    kind: Option<ResponseKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum ResponseKind {
    #[prost(message, tag = "1")]
    Children(DigestsMsg),
    #[prost(message, tag = "2")]
    Leaves(SummariesMsg),
    #[prost(message, tag = "3")]
    Entries(EntriesMsg),
}

#[derive(Clone, PartialEq, prost::Message)]
struct DigestsMsg {
    #[prost(fixed64, repeated, tag = "1")]
    digests: Vec<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SummariesMsg {
    #[prost(message, repeated, tag = "1")]
    leaves: Vec<LeafMsg>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LeafMsg {
    #[prost(fixed64, repeated, tag = "1")]
    key_hashes: Vec<u64>,
    #[prost(fixed64, repeated, tag = "2")]
    digests: Vec<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EntriesMsg {
    #[prost(uint32, tag = "1")]
    answered: u32,
    #[prost(message, optional, tag = "2")]
    batch: Option<BatchMsg>,
}
