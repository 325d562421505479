//! Eventually consistent tweet statistics (likes, retweets, replies, views) for a peer-to-peer
//! social network.
//!
//! Every node counts what its own users do in PN-counters of its own; counters from all nodes
//! merge by pointwise maximum, and a tweet's statistic is the sum over all writers. Entries are
//! signed by their writer, so any peer can relay them and every receiver can check them.
//!
//! ```
//! use warpnet_stats::{Action, Generation, Identity, Namespace, NodeState, Rules, TweetId, UserId};
//!
//! let namespace = Namespace::new("mainnet")?;
//! let (identity, generation) = (Identity::from_secret([7; 32]), Generation([1; 16]));
//! let mut node = NodeState::new(namespace, Rules::DEFAULT, identity, generation);
//! let tweet = TweetId::new("tweet-1")?;
//! let alice = UserId::new("alice")?;
//! assert_eq!(node.apply(&tweet, &Action::Like(alice.clone()))?.count, 1);
//! assert_eq!(node.apply(&tweet, &Action::Like(alice))?.count, 1); // idempotent
//! assert_eq!(node.stats(&tweet).likes, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(target_arch = "wasm32")]
mod bindings;
use warpnet_stats_core as core;
mod network;
mod runtime;
mod storage;

#[cfg(target_arch = "wasm32")]
pub use crate::bindings::StatsNode;
pub use crate::core::{
    Action, Caps, CapsError, Contribution, Difficulty, Entry, EntryKey, FULL_TWEET_COUNTERS,
    Figures, Forgotten, Generation, GroupError, HASH_BYTES, Hash, Identity, IdentityProof,
    Interest, KeyError, Leaf, LightError, LightRequest, LightResponse, MAX_BATCH_ENTRIES,
    MAX_ID_LEN, MAX_LEAVES, MAX_MESSAGE_BYTES, MAX_NAMESPACE_LEN, MAX_REQUEST_ITEMS,
    MAX_RESPONSE_ENTRIES, MAX_RESPONSE_SUMMARIES, MAX_WATCH_TWEETS, Mark, MergeReport, Merged,
    Merging, Minter, Namespace, NodeId, NodeState, OutOfBounds, Outcome, PROOF_DOMAIN, PnCounter,
    ProofError, Record, Rejection, Replica, ReplyId, Rules, SEAL_DOMAIN, Seal, SealError, Sealed,
    SealedBatch, Signature, SignedTallies, StatKind, Stats, Summary, SyncError, SyncRequest,
    SyncResponse, SyncSession, SyncStep, TALLY_DOMAIN, Tallied, Tally, Tree, TweetId, UserId,
    Verification, Verified, WIRE_VERSION, WeakProof, WireError, Writer, seal_leaves, seal_payload,
    tally_payload, verify_sealed,
};
pub use crate::network::protocol::{
    Action as NetworkAction, Allowance, ConnectionCaps, DialId, DropReason, IngestLimits,
    MAX_WATCHED_PER_PEER, MergeFrom, NetworkStats, PeerConfig, PeerInfo, Protocol, Reply,
    RequestId, Shares, SyncFailure, TALLY_ANSWER_ITEMS, Verdict, VerifyError, WatchCaps,
};
pub use crate::network::{BoxError, NetworkError};
#[cfg(not(target_arch = "wasm32"))]
pub use crate::network::{NetworkMetrics, Transports, WebRtcCertificate, WebSocketTls};
pub use crate::runtime::{
    ActionError, Applied, ChangeSource, Changes, Minting, Node, OpenError, Peer, PeerHandle, Shown,
    wall_clock,
};
#[cfg(target_arch = "wasm32")]
pub use crate::runtime::{BrowserNode, OnChange};
#[cfg(not(target_arch = "wasm32"))]
pub use crate::storage::RedbStore;
#[cfg(target_arch = "wasm32")]
pub use crate::storage::{BrowserStore, IndexedDbStore};
pub use crate::storage::{MemoryStore, Store, StoreCause, StoreError, Write};
