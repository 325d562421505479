//! The catch-up messages of `proto/warpnet_stats.proto` (protocol `/warpnet/stats-sync/2`):
//! a version byte, then a protobuf `SyncRequest` or `SyncResponse`; fetched entries travel as
//! in a [`SealedBatch`]. Pure: bytes in, values out.

use prost::Message;

use super::digest::Summary;
use super::ids::Namespace;
use super::sync::{SyncRequest, SyncResponse};
use super::wire::{SealedBatch, SealedBatchMsg, WireError, body, checked_batch, versioned};

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
            &SyncRequest::Range { from, to } => RequestKind::Range(RangeMsg { from, to }),
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
            RequestKind::Range(RangeMsg { from, to }) => SyncRequest::Range { from, to },
        };
        Ok((namespace, request))
    }
}

impl SyncResponse {
    /// The message bytes: the version byte, then the protobuf `SyncResponse`. Entries are
    /// encoded as in a [`SealedBatch`] of `namespace`.
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
                batch: Some(
                    SealedBatch { namespace: namespace.clone(), sealed: entries.clone() }
                        .to_message(),
                ),
            }),
            SyncResponse::Range { resume, entries } => ResponseKind::Range(RangeEntriesMsg {
                resume: *resume,
                batch: Some(
                    SealedBatch { namespace: namespace.clone(), sealed: entries.clone() }
                        .to_message(),
                ),
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
                SyncResponse::Entries { answered, entries: checked_batch(batch)?.sealed }
            }
            ResponseKind::Range(RangeEntriesMsg { resume, batch }) => {
                let batch = batch.ok_or(WireError::Missing("entries"))?;
                SyncResponse::Range { resume, entries: checked_batch(batch)?.sealed }
            }
        })
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct SyncRequestMsg {
    #[prost(string, tag = "1")]
    namespace: String,
    #[prost(oneof = "RequestKind", tags = "2, 3, 4, 5")]
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
    #[prost(message, tag = "5")]
    Range(RangeMsg),
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
    #[prost(oneof = "ResponseKind", tags = "1, 2, 3, 4")]
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
    #[prost(message, tag = "4")]
    Range(RangeEntriesMsg),
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
    batch: Option<SealedBatchMsg>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RangeMsg {
    #[prost(fixed64, tag = "1")]
    from: u64,
    #[prost(fixed64, tag = "2")]
    to: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RangeEntriesMsg {
    #[prost(fixed64, optional, tag = "1")]
    resume: Option<u64>,
    #[prost(message, optional, tag = "2")]
    batch: Option<SealedBatchMsg>,
}
