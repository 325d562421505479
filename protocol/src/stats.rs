//! What the protocol counts: published, received and dropped messages and entries (drops by
//! reason), catch-ups, and the peers connected now.

use std::collections::BTreeMap;

use libp2p::multiaddr::Protocol as Part;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use warpnet_stats_core::{Rejection, wire::WireError};

/// Why a message or entry from a peer was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Bytes that do not decode as a message of the wire format.
    Undecodable,
    /// A message above the size limit, or with too many entries.
    Oversized,
    /// A message of a wire version this build does not read.
    UnknownVersion,
    /// A message of another namespace.
    ForeignNamespace,
    /// An entry whose seal does not verify against its writer.
    BadSignature,
    /// An entry whose writer has no identity proof at the namespace's difficulty.
    NoIdentityProof,
    /// An entry outside the namespace's bounds (a writer's count below zero or above its cap).
    OutOfBounds,
    /// A gossip message beyond an ingest allowance (fetched by catch-up instead), or a catch-up
    /// request whose answer is beyond the asking peer's allowance.
    RateLimited,
    /// A catch-up request that cannot be answered.
    BadSyncRequest,
    /// A catch-up response that does not answer the request sent.
    BadSyncResponse,
    /// An entry in a catch-up response that was not asked for (counted per entry; the whole
    /// response is dropped).
    Unsolicited,
    /// A valid new counter of a writer already at this node's quota (a local policy).
    OverQuota,
    /// A light-protocol request this node does not answer (a `Watch` to a light node, an
    /// `Update` to an edge node).
    BadLightRequest,
    /// A light-protocol answer or push refused whole (a tally not signed by the edge node
    /// that sent it, entries of tweets not asked for).
    BadLightResponse,
    /// A watch beyond the bounds (per light node, in all): answered, but not pushed.
    WatchLimit,
}

impl DropReason {
    /// Every reason, in order.
    pub const ALL: [DropReason; 15] = [
        Self::Undecodable,
        Self::Oversized,
        Self::UnknownVersion,
        Self::ForeignNamespace,
        Self::BadSignature,
        Self::NoIdentityProof,
        Self::OutOfBounds,
        Self::RateLimited,
        Self::BadSyncRequest,
        Self::BadSyncResponse,
        Self::Unsolicited,
        Self::OverQuota,
        Self::BadLightRequest,
        Self::BadLightResponse,
        Self::WatchLimit,
    ];

    /// Its name in metrics and in `syncStatus().dropped`, e.g. `bad_signature`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undecodable => "undecodable",
            Self::Oversized => "oversized",
            Self::UnknownVersion => "unknown_version",
            Self::ForeignNamespace => "foreign_namespace",
            Self::BadSignature => "bad_signature",
            Self::NoIdentityProof => "no_identity_proof",
            Self::OutOfBounds => "out_of_bounds",
            Self::RateLimited => "rate_limited",
            Self::BadSyncRequest => "bad_sync_request",
            Self::BadSyncResponse => "bad_sync_response",
            Self::Unsolicited => "unsolicited",
            Self::OverQuota => "over_quota",
            Self::BadLightRequest => "bad_light_request",
            Self::BadLightResponse => "bad_light_response",
            Self::WatchLimit => "watch_limit",
        }
    }

    /// The reason a refused entry is dropped for.
    pub(crate) fn of_rejection(rejection: Rejection) -> Self {
        match rejection {
            Rejection::BadSignature => Self::BadSignature,
            Rejection::NoIdentityProof => Self::NoIdentityProof,
            Rejection::ForeignNamespace => Self::ForeignNamespace,
            Rejection::OutOfBounds(_) => Self::OutOfBounds,
            Rejection::OverQuota => Self::OverQuota,
            // A reason the core adds later: not taken, so not verified.
            _ => Self::BadSignature,
        }
    }

    /// The reason a decoding error drops a message for.
    pub(crate) fn of_wire(error: &WireError) -> Self {
        match error {
            WireError::UnknownVersion(_) => Self::UnknownVersion,
            WireError::TooLarge { .. } | WireError::TooManyEntries { .. } => Self::Oversized,
            _ => Self::Undecodable,
        }
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the network did, for metrics and troubleshooting. Figures may be added in a minor
/// version, so it cannot be built outside this crate.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NetworkStats {
    /// Batches of local changes published.
    pub published_batches: u64,
    /// Entries published.
    pub published_entries: u64,
    /// Entries not published because no peer was listening (catch-up delivers them later).
    pub unpublished_entries: u64,
    /// Local changes no peer is known to hold yet: gathered for the next batch, unpublished,
    /// or a full node's published but not yet confirmed by a catch-up with a peer (run a
    /// second after publishing; a light node's count as held once published or fetched).
    pub pending_entries: u64,
    /// Local changes published again because a catch-up found a peer lacking them.
    pub resent_entries: u64,
    /// Gossip messages accepted (valid, and new here: relayed).
    pub accepted_messages: u64,
    /// Valid gossip messages that brought nothing new (replays, or what came by catch-up
    /// first): not relayed, not penalised.
    pub stale_messages: u64,
    /// Entries from gossip that changed a counter here.
    pub gossip_entries: u64,
    /// Entries from catch-up that changed a counter here.
    pub synced_entries: u64,
    /// Entries from catch-up passed on to the other peers by gossip.
    pub relayed_entries: u64,
    /// Messages or entries dropped, by reason.
    pub dropped: BTreeMap<DropReason, u64>,
    /// Catch-ups completed.
    pub syncs_completed: u64,
    /// Catch-ups that failed (peer gone, bad response, timeout).
    pub syncs_failed: u64,
    /// Catch-up requests held back until the peer's intake allowance (or the node's) held
    /// another answer.
    pub catch_up_waits: u64,
    /// Dials started (to kept addresses and on request).
    pub dials: u64,
    /// Dials given up after the dial timeout.
    pub dials_timed_out: u64,
    /// When the last catch-up completed (on a light node: when an edge node's answer to a
    /// `Watch` last checked, what it shows being current as of then).
    pub last_sync: Option<Instant>,
    /// Entries from edge nodes' light-protocol answers and pushes that changed a counter here.
    pub light_entries: u64,
    /// Tallies taken from edge nodes.
    pub tallies_received: u64,
    /// Pushes sent to light nodes.
    pub light_pushes: u64,
    /// (light node, tweet) watches this edge node keeps now.
    pub watches: u64,
    /// Bytes of messages received from peers: gossip, catch-up answers, light-protocol
    /// requests, answers and pushes.
    pub received_bytes: u64,
    /// Gossip messages merged later than [`GOSSIP_CACHE`](crate::GOSSIP_CACHE) after they came,
    /// when gossipsub may no longer forward them: their entries relayed as this node's own
    /// message instead (counted in `accepted_messages` too).
    pub late_messages: u64,
    /// Accepted gossip messages gossipsub could not forward (no longer in its cache): what the
    /// relay of late messages missed. Zero unless the cache is shorter than it should be.
    pub unforwarded_messages: u64,
    /// Light-protocol requests an edge node refused for not speaking `/warpnet/stats-light/2`
    /// (an edge node older than this light node: it gets no counts from it).
    pub light_unsupported: u64,
}

impl NetworkStats {
    pub(crate) fn drop(&mut self, reason: DropReason, count: u64) {
        if count > 0 {
            *self.dropped.entry(reason).or_default() += count;
        }
    }

    /// How many were dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped.get(&reason).copied().unwrap_or(0)
    }
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its id.
    pub id: PeerId,
    /// The address of its oldest open connection.
    pub address: Multiaddr,
    /// When that connection was established.
    pub since: Instant,
}

impl PeerInfo {
    /// The transport of the connection: "webrtc-direct", "websocket", "tcp" or "other".
    pub fn transport(&self) -> &'static str {
        transport(&self.address)
    }
}

/// The transport of a connection to or from `address`.
pub(crate) fn transport(address: &Multiaddr) -> &'static str {
    let mut transport = "other";
    for part in address.iter() {
        transport = match part {
            Part::WebRTCDirect => return "webrtc-direct",
            Part::Ws(_) | Part::Wss(_) => return "websocket",
            Part::Tcp(_) => "tcp",
            _ => transport,
        };
    }
    transport
}
