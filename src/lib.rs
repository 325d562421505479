//! Eventually consistent tweet statistics (likes, retweets, replies, views) for a peer-to-peer
//! social network.
//!
//! Every node counts what its own users do in PN-counters of its own; counters from all nodes
//! merge by pointwise maximum, and a tweet's statistic is the sum over all writers. Entries are
//! signed by their writer, so any peer can relay them and every receiver can check them.
//!
//! This crate is the facade of a crate per layer (docs/architecture.md): the model from
//! `warpnet-stats-core`, the node and its stores from `warpnet-stats-node` and
//! `warpnet-stats-store`, the network's configuration and reports, the sans-io protocol as
//! [`protocol`], and in wasm the JS class `StatsNode`.
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
use warpnet_stats_net as network;
use warpnet_stats_node as runtime;
use warpnet_stats_store as storage;

/// The network protocol as a sans-io state machine (the crate `warpnet-stats-protocol`): what a
/// driver for another runtime uses. A [`Peer`] drives it for you.
pub use warpnet_stats_protocol as protocol;

// The JS class, in wasm.
#[cfg(target_arch = "wasm32")]
pub use crate::bindings::StatsNode;
// The model (warpnet-stats-core), but `restore`, which takes a store's rows back without
// signature checks.
pub use crate::core::{
    Action, Caps, CapsError, Contribution, Difficulty, Entry, EntryKey, Forgotten, Generation,
    Identity, IdentityProof, Interest, KeyError, MAX_ID_LEN, MAX_NAMESPACE_LEN, Mark, MergeReport,
    Merged, Merging, Minter, Namespace, NodeId, NodeState, OutOfBounds, Outcome, PROOF_DOMAIN,
    PnCounter, Record, Rejection, Replica, ReplyId, Rules, StatKind, Stats, TweetId, UserId,
    WeakProof, Writer,
};
/// Seals, catch-up, the light protocol's messages and checks, and the wire format, each with
/// its limits (the core's modules).
pub use crate::core::{light, seal, sync, wire};
// A node over a store (warpnet-stats-node, warpnet-stats-store) and on the network: its
// configuration and what it reports (warpnet-stats-protocol, warpnet-stats-net).
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
pub use protocol::{
    Allowance, ConnectionCaps, DropReason, IngestLimits, NetworkStats, PeerConfig, PeerInfo,
    Shares, VerifyError, WatchCaps,
};
