//! The light-node messages of `proto/warpnet_stats.proto` (protocol `/warpnet/stats-light/2`):
//! a browser tab tells its edge node which tweets it shows and gets their entries, and the
//! edge node pushes it what changes on them. A version byte, then a protobuf `LightRequest` or
//! `LightResponse`; entries travel as in a [`SealedBatch`]. Pure: bytes in, values out.

use prost::Message;

use super::ids::{Generation, Namespace, NodeId, TweetId};
use super::seal::Sealed;
use super::signing::Signature;
use super::tally::{Figures, Tallied, Tally};
use super::wire::{
    GroupError, SealedBatch, SealedBatchMsg, WireError, body, checked_batch, versioned,
};

/// The most tweets one `Watch` or `Unwatch` names.
pub const MAX_WATCH_TWEETS: usize = 1024;

/// What a light node and its edge node ask of each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LightRequest {
    /// Light node to edge node: send what differs of these tweets from what the light node
    /// holds of other writers' counters (each with the digest of that,
    /// [`Replica::tweet_digest`] without the light node's own writer: 0 for nothing), and from
    /// now on what changes on them.
    Watch {
        /// The node id of the light node's store, if it is not the connection's peer id (a
        /// browser tab's network identity is its own, so the tabs sharing a store are distinct
        /// peers): with `generation`, the writer whose counters it holds itself (left out of
        /// digests and answers). Naming another writer changes only what the asker is told.
        node: Option<NodeId>,
        /// The generation of the light node's store.
        generation: Generation,
        /// The tweets, each with the digest of what the asker holds of it.
        tweets: Vec<(TweetId, u64)>,
    },
    /// Light node to edge node: no more changes on these tweets.
    Unwatch {
        /// The tweets.
        tweets: Vec<TweetId>,
    },
    /// Edge node to light node: what changed on watched tweets.
    Update {
        /// The entries, sealed by their writers.
        entries: Vec<Sealed>,
        /// New tallies of popular tweets.
        tallies: Vec<Tallied>,
    },
    /// Light node to edge node: every writer's entries of one tweet, a page at a time, in
    /// key-hash order from `after` (exclusive; 0 for the first page).
    Contributions {
        /// The tweet.
        tweet: TweetId,
        /// The last key hash of the previous page.
        after: u64,
    },
}

/// What a light node and its edge node answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LightResponse {
    /// To `Watch`: for each tweet whose digest differed, every entry held of it, or its tally
    /// if it has too many writers; and the tweets the answer had no room for (asked again).
    Tweets {
        /// The entries, sealed by their writers.
        entries: Vec<Sealed>,
        /// The tallies of popular tweets.
        tallies: Vec<Tallied>,
        /// Tweets left for another `Watch`.
        later: Vec<TweetId>,
    },
    /// To `Unwatch` and `Update`: taken in.
    Done,
    /// To `Contributions`: a page of the tweet's entries, and where the next starts (`None`:
    /// this was the last).
    Page {
        /// The entries, sealed by their writers.
        entries: Vec<Sealed>,
        /// The `after` of the next page.
        next: Option<u64>,
    },
}

#[cfg(doc)]
use super::replica::Replica;

impl LightRequest {
    /// The message bytes: the version byte, then the protobuf `LightRequest` for `namespace`.
    pub fn encode(&self, namespace: &Namespace) -> Vec<u8> {
        let kind = match self {
            LightRequest::Watch { node, generation, tweets } => LightKind::Watch(WatchMsg {
                tweets: ids(tweets.iter().map(|(t, _)| t)),
                digests: tweets.iter().map(|(_, d)| *d).collect(),
                generation: generation.0.to_vec(),
                node_id: node.map(NodeId::to_bytes).unwrap_or_default(),
            }),
            LightRequest::Unwatch { tweets } => {
                LightKind::Unwatch(UnwatchMsg { tweets: ids(tweets) })
            }
            LightRequest::Update { entries, tallies } => LightKind::Update(UpdateMsg {
                batch: Some(batch_of(namespace, entries.clone())),
                tallies: tallies.iter().map(TallyMsg::of).collect(),
            }),
            LightRequest::Contributions { tweet, after } => {
                LightKind::Contributions(ContributionsMsg {
                    tweet: tweet.as_str().to_owned(),
                    after: *after,
                })
            }
        };
        versioned(&LightRequestMsg { namespace: namespace.as_str().to_owned(), kind: Some(kind) })
    }

    /// Reads request bytes: the namespace and the request, every tweet id, entry and tally
    /// checked (not signatures), at most [`MAX_WATCH_TWEETS`] tweets or tallies.
    pub fn decode(bytes: &[u8]) -> Result<(Namespace, LightRequest), WireError> {
        let message = LightRequestMsg::decode(body(bytes)?)?;
        let namespace = Namespace::new(&message.namespace).map_err(WireError::Namespace)?;
        let request = match message.kind.ok_or(WireError::Missing("request kind"))? {
            LightKind::Watch(WatchMsg { tweets, digests, generation, node_id }) => {
                if tweets.len() != digests.len() {
                    return Err(WireError::Missing("a digest for every tweet"));
                }
                let generation =
                    <[u8; 16]>::try_from(generation.as_slice()).map_err(|_| WireError::Group {
                        index: 0,
                        reason: GroupError::GenerationLength(generation.len()),
                    })?;
                let node = (!node_id.is_empty())
                    .then(|| NodeId::from_bytes(&node_id))
                    .transpose()
                    .map_err(|e| WireError::Group { index: 0, reason: GroupError::Key(e) })?;
                let tweets = checked_tweets(tweets)?;
                LightRequest::Watch {
                    node,
                    generation: Generation(generation),
                    tweets: tweets.into_iter().zip(digests).collect(),
                }
            }
            LightKind::Unwatch(UnwatchMsg { tweets }) => {
                LightRequest::Unwatch { tweets: checked_tweets(tweets)? }
            }
            LightKind::Update(UpdateMsg { batch, tallies }) => LightRequest::Update {
                entries: checked_batch(batch.ok_or(WireError::Missing("entries"))?)?.sealed,
                tallies: checked_tallies(tallies)?,
            },
            LightKind::Contributions(ContributionsMsg { tweet, after }) => {
                LightRequest::Contributions {
                    tweet: TweetId::new(tweet).map_err(WireError::Tweet)?,
                    after,
                }
            }
        };
        Ok((namespace, request))
    }
}

impl LightResponse {
    /// The message bytes: the version byte, then the protobuf `LightResponse`; entries are
    /// encoded as in a [`SealedBatch`] of `namespace`.
    pub fn encode(&self, namespace: &Namespace) -> Vec<u8> {
        let kind = match self {
            LightResponse::Tweets { entries, tallies, later } => AnswerKind::Tweets(TweetsMsg {
                batch: Some(batch_of(namespace, entries.clone())),
                later: ids(later),
                tallies: tallies.iter().map(TallyMsg::of).collect(),
            }),
            LightResponse::Done => AnswerKind::Done(DoneMsg {}),
            LightResponse::Page { entries, next } => AnswerKind::Page(PageMsg {
                batch: Some(batch_of(namespace, entries.clone())),
                next: *next,
            }),
        };
        versioned(&LightResponseMsg { kind: Some(kind) })
    }

    /// Reads response bytes, checking sizes, tweet ids, every entry and tally (not
    /// signatures).
    pub fn decode(bytes: &[u8]) -> Result<LightResponse, WireError> {
        let message = LightResponseMsg::decode(body(bytes)?)?;
        Ok(match message.kind.ok_or(WireError::Missing("response kind"))? {
            AnswerKind::Tweets(TweetsMsg { batch, later, tallies }) => LightResponse::Tweets {
                entries: checked_batch(batch.ok_or(WireError::Missing("entries"))?)?.sealed,
                tallies: checked_tallies(tallies)?,
                later: checked_tweets(later)?,
            },
            AnswerKind::Done(DoneMsg {}) => LightResponse::Done,
            AnswerKind::Page(PageMsg { batch, next }) => LightResponse::Page {
                entries: checked_batch(batch.ok_or(WireError::Missing("entries"))?)?.sealed,
                next,
            },
        })
    }
}

impl Tallied {
    /// The tally as bytes (the protobuf `Tally` of the schema, after the version byte): how a
    /// light node keeps it in its store.
    pub fn encode(&self) -> Vec<u8> {
        versioned(&TallyMsg::of(self))
    }

    /// Reads [`Tallied::encode`]'s bytes, every field checked (not the signature).
    pub fn decode(bytes: &[u8]) -> Result<Tallied, WireError> {
        TallyMsg::decode(body(bytes)?)?.checked(0)
    }
}

fn batch_of(namespace: &Namespace, sealed: Vec<Sealed>) -> SealedBatchMsg {
    SealedBatch { namespace: namespace.clone(), sealed }.to_message()
}

fn ids<'a>(tweets: impl IntoIterator<Item = &'a TweetId>) -> Vec<String> {
    tweets.into_iter().map(|t| t.as_str().to_owned()).collect()
}

fn checked_tallies(tallies: Vec<TallyMsg>) -> Result<Vec<Tallied>, WireError> {
    if tallies.len() > MAX_WATCH_TWEETS {
        return Err(WireError::TooManyEntries { count: tallies.len(), max: MAX_WATCH_TWEETS });
    }
    tallies.into_iter().enumerate().map(|(index, tally)| tally.checked(index)).collect()
}

fn checked_tweets(tweets: Vec<String>) -> Result<Vec<TweetId>, WireError> {
    if tweets.len() > MAX_WATCH_TWEETS {
        return Err(WireError::TooManyEntries { count: tweets.len(), max: MAX_WATCH_TWEETS });
    }
    super::wire::tweet_list(&tweets)
}

#[derive(Clone, PartialEq, prost::Message)]
struct LightRequestMsg {
    #[prost(string, tag = "1")]
    namespace: String,
    #[prost(oneof = "LightKind", tags = "2, 3, 4, 5")]
    kind: Option<LightKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum LightKind {
    #[prost(message, tag = "2")]
    Watch(WatchMsg),
    #[prost(message, tag = "3")]
    Unwatch(UnwatchMsg),
    #[prost(message, tag = "4")]
    Update(UpdateMsg),
    #[prost(message, tag = "5")]
    Contributions(ContributionsMsg),
}

#[derive(Clone, PartialEq, prost::Message)]
struct WatchMsg {
    #[prost(string, repeated, tag = "1")]
    tweets: Vec<String>,
    #[prost(fixed64, repeated, tag = "2")]
    digests: Vec<u64>,
    #[prost(bytes = "vec", tag = "3")]
    generation: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    node_id: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct UpdateMsg {
    #[prost(message, optional, tag = "1")]
    batch: Option<SealedBatchMsg>,
    #[prost(message, repeated, tag = "2")]
    tallies: Vec<TallyMsg>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TallyMsg {
    #[prost(string, tag = "1")]
    tweet: String,
    #[prost(sint64, repeated, tag = "2")]
    totals: Vec<i64>,
    #[prost(uint32, tag = "3")]
    writers: u32,
    #[prost(fixed64, tag = "4")]
    digest: u64,
    #[prost(bytes = "vec", tag = "5")]
    signer: Vec<u8>,
    #[prost(bytes = "vec", tag = "6")]
    signature: Vec<u8>,
    #[prost(sint64, repeated, tag = "7")]
    yours: Vec<i64>,
}

impl TallyMsg {
    fn of(tallied: &Tallied) -> Self {
        let Tallied { tally, yours } = tallied;
        Self {
            tweet: tally.tweet.as_str().to_owned(),
            totals: tally.figures.totals.to_vec(),
            writers: tally.figures.writers,
            digest: tally.figures.digest,
            signer: tally.signer.to_bytes(),
            signature: tally.signature.0.to_vec(),
            yours: yours.to_vec(),
        }
    }

    /// The tally, every field checked (not the signature); `index` names it in errors.
    fn checked(self, index: usize) -> Result<Tallied, WireError> {
        let group = |reason| WireError::Group { index, reason };
        let four =
            |values: Vec<i64>| <[i64; 4]>::try_from(values).map_err(|_| group(GroupError::Columns));
        let signature = <[u8; 64]>::try_from(self.signature.as_slice())
            .map_err(|_| group(GroupError::SignatureLength(self.signature.len())))?;
        let tally = Tally {
            tweet: TweetId::new(self.tweet).map_err(WireError::Tweet)?,
            figures: Figures {
                totals: four(self.totals)?,
                writers: self.writers,
                digest: self.digest,
            },
            signer: NodeId::from_bytes(&self.signer).map_err(|e| group(GroupError::Key(e)))?,
            signature: Signature(signature),
        };
        Ok(Tallied { tally, yours: four(self.yours)? })
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct UnwatchMsg {
    #[prost(string, repeated, tag = "1")]
    tweets: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ContributionsMsg {
    #[prost(string, tag = "1")]
    tweet: String,
    #[prost(fixed64, tag = "2")]
    after: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LightResponseMsg {
    #[prost(oneof = "AnswerKind", tags = "1, 2, 3")]
    kind: Option<AnswerKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum AnswerKind {
    #[prost(message, tag = "1")]
    Tweets(TweetsMsg),
    #[prost(message, tag = "2")]
    Done(DoneMsg),
    #[prost(message, tag = "3")]
    Page(PageMsg),
}

#[derive(Clone, PartialEq, prost::Message)]
struct TweetsMsg {
    #[prost(message, optional, tag = "1")]
    batch: Option<SealedBatchMsg>,
    #[prost(string, repeated, tag = "2")]
    later: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    tallies: Vec<TallyMsg>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct DoneMsg {}

#[derive(Clone, PartialEq, prost::Message)]
struct PageMsg {
    #[prost(message, optional, tag = "1")]
    batch: Option<SealedBatchMsg>,
    #[prost(fixed64, optional, tag = "2")]
    next: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Generation, StatKind};
    use crate::proof::{Difficulty, IdentityProof};
    use crate::replica::Replica;
    use crate::rules::Rules;
    use crate::signing::Identity;
    use crate::wire::{MAX_MESSAGE_BYTES, WIRE_VERSION};

    fn namespace() -> Namespace {
        Namespace::new("mainnet").expect("valid")
    }

    fn tweet(id: &str) -> TweetId {
        TweetId::new(id).expect("valid")
    }

    /// Likes of one writer on `count` tweets, sealed.
    fn entries(count: usize) -> Vec<Sealed> {
        let rules = Rules { difficulty: Difficulty(0), ..Rules::DEFAULT };
        let mut r =
            Replica::new(namespace(), rules, Identity::from_secret([3; 32]), Generation([3; 16]));
        r.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
        let keys: Vec<_> = (0..count)
            .map(|i| r.increment(&tweet(&format!("t{i}")), StatKind::Likes).expect("ok").key)
            .collect();
        r.sealed(&keys)
    }

    fn tallied(id: &str) -> Tallied {
        let figures = Figures { totals: [1, -2, i64::MAX, i64::MIN], writers: 9, digest: 7 };
        let tally = Tally::sign(&Identity::from_secret([4; 32]), &namespace(), tweet(id), figures);
        Tallied { tally, yours: [0, 1, -1, 5] }
    }

    #[test]
    fn every_message_reads_back_as_written() {
        let generation = Generation([5; 16]);
        let requests = [
            LightRequest::Watch {
                node: None,
                generation,
                tweets: vec![(tweet("a"), 0), (tweet("b"), u64::MAX)],
            },
            LightRequest::Watch {
                node: Some(Identity::from_secret([6; 32]).node_id()),
                generation,
                tweets: Vec::new(),
            },
            LightRequest::Unwatch { tweets: vec![tweet("a")] },
            LightRequest::Update { entries: entries(3), tallies: vec![tallied("a")] },
            LightRequest::Update { entries: Vec::new(), tallies: Vec::new() },
            LightRequest::Contributions { tweet: tweet("a"), after: 7 },
        ];
        for request in requests {
            let bytes = request.encode(&namespace());
            assert_eq!(bytes[0], WIRE_VERSION);
            assert_eq!(LightRequest::decode(&bytes), Ok((namespace(), request)));
        }
        let responses = [
            LightResponse::Tweets {
                entries: entries(2),
                tallies: vec![tallied("d"), tallied("e")],
                later: vec![tweet("c")],
            },
            LightResponse::Tweets { entries: Vec::new(), tallies: Vec::new(), later: Vec::new() },
            LightResponse::Done,
            LightResponse::Page { entries: entries(1), next: Some(0) },
            LightResponse::Page { entries: Vec::new(), next: None },
        ];
        for response in responses {
            let bytes = response.encode(&namespace());
            assert_eq!(LightResponse::decode(&bytes), Ok(response));
        }
    }

    #[test]
    fn a_tally_reads_back_as_written() {
        let tally = tallied("a");
        assert_eq!(Tallied::decode(&tally.encode()), Ok(tally));
        assert!(Tallied::decode(&[WIRE_VERSION, 0xff]).is_err());
        assert_eq!(Tallied::decode(&[]), Err(WireError::Empty));
    }

    #[test]
    fn bad_messages_get_a_clear_error() {
        let too_many: Vec<TweetId> =
            (0..=MAX_WATCH_TWEETS).map(|i| tweet(&format!("t{i}"))).collect();
        let bytes = LightRequest::Unwatch { tweets: too_many }.encode(&namespace());
        assert_eq!(
            LightRequest::decode(&bytes),
            Err(WireError::TooManyEntries { count: MAX_WATCH_TWEETS + 1, max: MAX_WATCH_TWEETS })
        );
        let missing = LightRequestMsg { namespace: "mainnet".into(), kind: None };
        assert_eq!(
            LightRequest::decode(&versioned(&missing)),
            Err(WireError::Missing("request kind"))
        );
        let uneven = LightRequestMsg {
            namespace: "mainnet".into(),
            kind: Some(LightKind::Watch(WatchMsg {
                tweets: vec!["a".into()],
                digests: vec![],
                generation: vec![0; 16],
                node_id: Vec::new(),
            })),
        };
        assert_eq!(
            LightRequest::decode(&versioned(&uneven)),
            Err(WireError::Missing("a digest for every tweet"))
        );
        let bad_id = LightRequestMsg {
            namespace: "mainnet".into(),
            kind: Some(LightKind::Unwatch(UnwatchMsg { tweets: vec!["a/b".into()] })),
        };
        assert!(matches!(LightRequest::decode(&versioned(&bad_id)), Err(WireError::Tweet(_))));
        let short_generation = LightRequestMsg {
            namespace: "mainnet".into(),
            kind: Some(LightKind::Watch(WatchMsg::default())),
        };
        assert!(matches!(
            LightRequest::decode(&versioned(&short_generation)),
            Err(WireError::Group { reason: GroupError::GenerationLength(0), .. })
        ));
        let bad_node = LightRequestMsg {
            namespace: "mainnet".into(),
            kind: Some(LightKind::Watch(WatchMsg {
                generation: vec![0; 16],
                node_id: vec![1, 2, 3],
                ..WatchMsg::default()
            })),
        };
        assert!(matches!(
            LightRequest::decode(&versioned(&bad_node)),
            Err(WireError::Group { reason: GroupError::Key(_), .. })
        ));
        let mut bad_tallies = vec![TallyMsg::of(&tallied("a")); 4];
        bad_tallies[0].totals.pop();
        bad_tallies[1].yours.push(0);
        bad_tallies[2].signature.pop();
        bad_tallies[3].signer = vec![1, 2, 3];
        for (n, bad) in bad_tallies.into_iter().enumerate() {
            let message = LightResponseMsg {
                kind: Some(AnswerKind::Tweets(TweetsMsg {
                    batch: Some(batch_of(&namespace(), Vec::new())),
                    later: Vec::new(),
                    tallies: vec![TallyMsg::of(&tallied("b")), bad],
                })),
            };
            let error = LightResponse::decode(&versioned(&message));
            assert!(matches!(error, Err(WireError::Group { index: 1, .. })), "{n}: {error:?}");
        }
        let too_many = LightRequestMsg {
            namespace: "mainnet".into(),
            kind: Some(LightKind::Update(UpdateMsg {
                batch: Some(batch_of(&namespace(), Vec::new())),
                tallies: vec![TallyMsg::default(); MAX_WATCH_TWEETS + 1],
            })),
        };
        assert!(matches!(
            LightRequest::decode(&versioned(&too_many)),
            Err(WireError::TooManyEntries { .. })
        ));
        assert_eq!(LightResponse::decode(&[]), Err(WireError::Empty));
        assert_eq!(LightResponse::decode(&[1, 0]), Err(WireError::UnknownVersion(1)));
        let huge = vec![WIRE_VERSION; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(LightResponse::decode(&huge), Err(WireError::TooLarge { .. })));
        let no_entries = LightResponseMsg { kind: Some(AnswerKind::Page(PageMsg::default())) };
        assert_eq!(
            LightResponse::decode(&versioned(&no_entries)),
            Err(WireError::Missing("entries"))
        );
    }

    proptest::proptest! {
        /// Whatever the bytes: an error or a message, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut versioned_bytes = vec![WIRE_VERSION];
            versioned_bytes.extend(&bytes);
            for input in [&bytes, &versioned_bytes] {
                let _ = LightRequest::decode(input);
                let _ = LightResponse::decode(input);
            }
        }
    }
}
