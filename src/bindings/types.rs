//! The JS-facing option and result types. Each derives serde (converted by serde-wasm-bindgen)
//! and `Tsify`, which writes its TypeScript declaration, doc comments included, into the
//! package's `.d.ts`: the types cannot drift from the code.
//!
//! Counts are JS numbers: above 2^53 they lose precision, far beyond real use.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tsify::Tsify;

use crate::core::{Contribution as Share, StatKind, Stats};
use crate::protocol::{NetworkStats, PeerInfo as Connected};
use crate::runtime::{ChangeSource as Origin, Minting, wall_clock};

/// Options of `StatsNode.open`; an option it does not know is a TypeError.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatsNodeOptions {
    /// The network the statistics belong to, e.g. "mainnet": 1-64 ASCII letters, digits, - _ .
    pub(super) namespace: String,
    /// The IndexedDB database to keep the node in; default "warpnet-stats/<namespace>".
    #[tsify(optional)]
    pub(super) db_name: Option<String>,
    /// Edge nodes to connect to (WebSocket or WebRTC-direct multiaddrs ending in `/p2p/<id>`,
    /// e.g. from an edge node's `/bootstrap.json`). Connections are kept, redialled with backoff
    /// after a drop. Without it the node counts offline only.
    #[tsify(optional)]
    pub(super) bootstrap: Option<Vec<String>>,
    /// The most one node adds to one tweet's statistic, the namespace's rule: every node of a
    /// namespace must use the same caps. Defaults: 1000 likes, retweets and replies, 1000000
    /// views. An action beyond a cap rejects with a RangeError (code "out-of-bounds").
    #[tsify(optional)]
    pub(super) caps: Option<CapsOptions>,
    /// The namespace's identity difficulty: the leading zero bits a node's identity proof needs
    /// (each doubles the work of minting it, once per store; default 23, about a second). Every
    /// node of a namespace must use the same. The node counts at once and publishes once minted.
    #[tsify(optional)]
    pub(super) difficulty: Option<f64>,
    /// A light node (default false): it holds its own counts always, and other nodes' only for
    /// the tweets it shows (`watch`) or showed recently, up to `maxTweets`; its edge nodes send
    /// it those tweets' counts (a popular tweet's as the edge node's signed tally) and push what
    /// changes on them, nothing else. A full node receives every count of the namespace.
    #[tsify(optional)]
    pub(super) light: Option<bool>,
    /// A light node's bound on the tweets it holds other nodes' counts of (default 5000).
    #[tsify(optional)]
    pub(super) max_tweets: Option<f64>,
}

/// `StatsNodeOptions.caps`: the statistics not given keep their default cap.
#[derive(Debug, Default, Deserialize, Tsify)]
pub(super) struct CapsOptions {
    /// Whole numbers from 0 to 2^53 - 1.
    #[tsify(optional)]
    pub(super) likes: Option<f64>,
    #[tsify(optional)]
    pub(super) retweets: Option<f64>,
    #[tsify(optional)]
    pub(super) replies: Option<f64>,
    #[tsify(optional)]
    pub(super) views: Option<f64>,
}

impl CapsOptions {
    /// The cap given for `stat`, if any.
    pub(super) fn get(&self, stat: StatKind) -> Option<f64> {
        match stat {
            StatKind::Likes => self.likes,
            StatKind::Retweets => self.retweets,
            StatKind::Replies => self.replies,
            StatKind::Views => self.views,
        }
    }
}

/// A tweet's statistics, summed over all nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Tsify)]
pub struct TweetStats {
    pub likes: f64,
    pub retweets: f64,
    pub replies: f64,
    pub views: f64,
}

impl From<Stats> for TweetStats {
    fn from(stats: Stats) -> Self {
        let [likes, retweets, replies, views] = StatKind::ALL.map(|kind| stats.get(kind) as f64);
        TweetStats { likes, retweets, replies, views }
    }
}

/// One node's share of a tweet's statistics (see `contributions`).
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Contribution {
    /// The node that counted (its libp2p peer id).
    pub node_id: String,
    /// The generation of that node's store (32 hex digits): a fresh one each time a store is
    /// created.
    pub generation: String,
    /// Whether it is this node (in this store's generation).
    pub local: bool,
    /// Whether it is the rest of a popular tweet's counts as the edge node `nodeId` tallied
    /// them (a light node's), not one node's share (`generation` is then empty).
    pub tally: bool,
    pub likes: f64,
    pub retweets: f64,
    pub replies: f64,
    pub views: f64,
}

impl Contribution {
    pub(super) fn new(share: &Share, local: bool) -> Self {
        let [likes, retweets, replies, views] = StatKind::ALL.map(|kind| share.value(kind) as f64);
        Contribution {
            node_id: share.writer.node.to_string(),
            generation: share.writer.generation.to_string(),
            local,
            tally: false,
            likes,
            retweets,
            replies,
            views,
        }
    }

    /// The rest of `shown` beyond this node's `own` counter values: what the tally of the edge
    /// node `edge` counted of every other node.
    pub(super) fn rest(edge: String, shown: Stats, own: [i64; 4]) -> Self {
        let [likes, retweets, replies, views] = StatKind::ALL
            .map(|kind| shown.get(kind).saturating_sub(own[kind.index()].max(0) as u64) as f64);
        Contribution {
            node_id: edge,
            generation: String::new(),
            local: false,
            tally: true,
            likes,
            retweets,
            replies,
            views,
        }
    }
}

/// A connected peer.
#[derive(Debug, Serialize, Tsify)]
pub struct PeerInfo {
    pub id: String,
    /// "webrtc-direct", "websocket" (with or without TLS), "tcp" or "other".
    #[tsify(type = r#""webrtc-direct" | "websocket" | "tcp" | "other""#)]
    pub transport: String,
    pub address: String,
    /// When the connection was established (ms since the epoch).
    pub since: f64,
}

impl From<&Connected> for PeerInfo {
    fn from(peer: &Connected) -> Self {
        PeerInfo {
            id: peer.id.to_string(),
            transport: peer.transport().to_owned(),
            address: peer.address.to_string(),
            since: millis(wall_clock(peer.since)),
        }
    }
}

/// How minting this node's identity proof goes (`detail` of the "identity" event).
#[derive(Debug, Serialize, Tsify)]
pub struct IdentityStatus {
    /// Whether the proof is minted (the node's own counts are published).
    pub minted: bool,
    /// Attempts made so far.
    pub attempts: f64,
    /// Attempts a proof takes on average.
    pub expected: f64,
}

impl From<Minting> for IdentityStatus {
    fn from(minting: Minting) -> Self {
        IdentityStatus {
            minted: minting.done,
            attempts: minting.attempts as f64,
            expected: minting.expected,
        }
    }
}

/// Something the page should know (`detail` of the "warning" event).
#[derive(Debug, Serialize, Tsify)]
pub(super) struct Warning {
    pub(super) code: WarningCode,
    pub(super) message: String,
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "kebab-case")]
pub(super) enum WarningCode {
    /// IndexedDB cannot be used: the node counts in memory only, for this session.
    NoIndexedDb,
    /// None of the bootstrap addresses can be dialled from this page (a page served over
    /// https can only open `wss://`: `/tls/ws` or `/wss`; a worker has no WebRTC).
    NoDialableAddress,
    /// No edge node answered within 10 seconds of opening.
    NoEdgeNode,
    /// The edge node connected does not speak the light protocol of this package
    /// (`/warpnet/stats-light/2`): it is older, and a light node gets no counts from it.
    OldEdgeNode,
    /// A watch could not be kept in the node's books (its counts are not held).
    WatchFailed,
}

/// What the network did, for troubleshooting.
#[derive(Debug, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, hashmap_as_object)]
pub struct SyncStatus {
    /// Whether the node is on the network (see `setOnline`); false if it has no bootstrap.
    pub online: bool,
    /// Minting the node's identity proof (it publishes once minted).
    pub identity: IdentityStatus,
    /// Whether at least one peer is connected.
    pub connected: bool,
    pub peers: f64,
    /// When the last catch-up with a peer completed (ms since the epoch), or null; on a light
    /// node, when an edge node last answered its watched tweets (they are current as of then).
    pub last_sync: Option<f64>,
    /// Local changes no peer is known to hold yet (a full node's published ones until a
    /// catch-up a second later finds its edge node holding them; sent again if it lacks them).
    pub pending_entries: f64,
    pub published_entries: f64,
    /// Entries from peers that changed a counter here, by gossip and by catch-up.
    pub gossip_entries: f64,
    pub synced_entries: f64,
    pub syncs_completed: f64,
    pub syncs_failed: f64,
    /// Catch-up requests held back until the peer's intake allowance held another answer.
    pub catch_up_waits: f64,
    /// Bytes of messages received from peers (gossip, catch-up, light-node answers and pushes).
    pub received_bytes: f64,
    /// Dials to edge nodes started, and given up after the dial timeout (10 s).
    pub dials: f64,
    pub dials_timed_out: f64,
    /// Light-protocol requests an edge node refused for not speaking this package's version
    /// (`/warpnet/stats-light/2`: the edge node is older; see the "old-edge-node" warning).
    pub light_unsupported: f64,
    /// Messages or entries from peers that were refused, by reason.
    pub dropped: BTreeMap<String, f64>,
}

impl SyncStatus {
    pub(super) fn new(stats: &NetworkStats, peers: usize, online: bool, minting: Minting) -> Self {
        let count = |n: u64| n as f64;
        SyncStatus {
            online,
            identity: minting.into(),
            connected: peers > 0,
            peers: peers as f64,
            last_sync: stats.last_sync.map(|at| millis(wall_clock(at))),
            pending_entries: count(stats.pending_entries),
            published_entries: count(stats.published_entries),
            gossip_entries: count(stats.gossip_entries),
            synced_entries: count(stats.synced_entries),
            syncs_completed: count(stats.syncs_completed),
            syncs_failed: count(stats.syncs_failed),
            catch_up_waits: count(stats.catch_up_waits),
            received_bytes: count(stats.received_bytes),
            dials: count(stats.dials),
            dials_timed_out: count(stats.dials_timed_out),
            light_unsupported: count(stats.light_unsupported),
            dropped: stats
                .dropped
                .iter()
                .map(|(r, n)| (r.as_str().to_owned(), count(*n)))
                .collect(),
        }
    }
}

/// Where a change came from: "local", an action on this node; "tab", another tab of this
/// origin; "remote", a peer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub(super) enum ChangeSource {
    Local,
    Tab,
    Remote,
}

impl From<Origin> for ChangeSource {
    fn from(source: Origin) -> Self {
        match source {
            Origin::Local => ChangeSource::Local,
            Origin::Tab => ChangeSource::Tab,
            Origin::Remote => ChangeSource::Remote,
        }
    }
}

/// `detail` of the "change" event.
#[derive(Debug, Clone, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub(super) struct StatsChange {
    pub(super) tweet_id: String,
    pub(super) stats: TweetStats,
    pub(super) source: ChangeSource,
}

fn millis(time: web_time::SystemTime) -> f64 {
    time.duration_since(web_time::UNIX_EPOCH).unwrap_or_default().as_millis() as f64
}

/// Everything a page's copy of a node in a worker starts from (`warpnet-stats/worker`): each
/// tweet shown (ids, then four counts per tweet in `TweetStats` order, then whether verified
/// and loaded), the local marks, as "tweet\nsubject", whether it is a light node and whether
/// it is off the network (a full node's tweets are loaded once `syncStatus().lastSync` is set,
/// or at once off the network).
#[derive(Debug, Default, Serialize)]
pub(super) struct Mirror {
    pub(super) ids: Vec<String>,
    pub(super) counts: Vec<f64>,
    pub(super) verified: Vec<bool>,
    pub(super) loaded: Vec<bool>,
    pub(super) light: bool,
    pub(super) alone: bool,
    pub(super) liked: Vec<String>,
    pub(super) retweeted: Vec<String>,
}
