//! What goes in and out of the protocol besides the `handle_*` calls: its configuration, the
//! actions it asks for, and the ids and verdicts those carry.

use std::time::Duration;

use libp2p::gossipsub::MessageId;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

#[cfg(doc)]
use super::Protocol;
use super::{DialId, RequestId};
use warpnet_stats_core::{
    EntryKey, TweetId,
    light::{Figures, LightError, Tallied},
    seal::Sealed,
    wire::{MAX_MESSAGE_BYTES, WireError},
};

/// How a node behaves on the network.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// How long local changes are gathered before they are published as one batch.
    pub coalesce: Duration,
    /// How often a catch-up runs with every connected peer (besides one on each connection).
    pub sync_interval: Duration,
    /// How much the node takes from its peers: gossip bytes per peer, per IP address and in
    /// all, catch-up answer bytes per peer.
    pub ingest: IngestLimits,
    /// The largest gossip message this node publishes: batches above are split.
    pub max_message_bytes: usize,
    /// How long a dial may take before it is given up (a WebRTC dial to a dead port does not
    /// fail by itself).
    pub dial_timeout: Duration,
    /// The first and the longest wait before redialling a kept address that failed.
    pub redial_backoff: (Duration, Duration),
    /// The first wait before retrying a failed catch-up; it doubles up to the sync interval.
    pub sync_retry: Duration,
    /// The most connections the node accepts.
    pub connections: ConnectionCaps,
    /// Whether this is a light node (a browser tab holding only what it shows): it asks its
    /// edge nodes for the tweets it watches ([`Protocol::watch`]) instead of catching up on
    /// the namespace, and does not subscribe to the namespace's gossip.
    pub light: bool,
    /// How long an edge node gathers changes on the tweets a light node watches before pushing
    /// them, and waits between pushes to one light node.
    pub light_push: Duration,
    /// The most watches an edge node keeps for the light nodes it serves.
    pub watches: WatchCaps,
}

/// The most watches (light node, tweet) an edge node keeps: a few hundred bytes each. Beyond, a
/// tweet is answered but not pushed (counted as `watch_limit`). A light node may hold at most
/// [`MAX_WATCHED_PER_PEER`](super::MAX_WATCHED_PER_PEER); the last quarter of `total` goes only
/// to addresses holding fewer than that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchCaps {
    /// All light nodes at one IP address (an IPv6 /64) together (default 16,384).
    pub per_ip: usize,
    /// All light nodes together (default 131,072).
    pub total: usize,
}

impl Default for WatchCaps {
    fn default() -> Self {
        Self { per_ip: 16_384, total: 1 << 17 }
    }
}

/// An average rate and a burst, of bytes, new counters or answer items: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allowance {
    /// So many per second on average...
    pub per_second: f64,
    /// ...and at most at once (a message of more bytes than this is never taken).
    pub burst: f64,
}

impl Allowance {
    const fn mib(per_second: f64, burst: f64) -> Self {
        Self { per_second: per_second * 1048576.0, burst: burst * 1048576.0 }
    }
}

/// One kind of allowance, shared fairly: what each peer may use, what all peers at one IP
/// address (an IPv6 /64 counting as one) may, and what all peers together may. The last
/// quarter of the node-wide burst is kept for peers and addresses that used less than half
/// their own share, so peers that flood cannot starve those that ask little.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shares {
    /// Each peer's share.
    pub per_peer: Allowance,
    /// All peers at one address together.
    pub per_ip: Allowance,
    /// All peers together.
    pub total: Allowance,
}

/// What a node takes from its peers and does for them. Everything a peer sends or asks is
/// charged to it before the work is done, cheapest checks first: bytes when a message comes
/// (before it is decoded), then (once identity proofs are checked: two hashes each) the new
/// counters and signature checks it asks for, before any signature is checked; an answer's
/// items before it is built.
///
/// *Intake* is what a peer sends: gossip it passes on (keyed by that peer, never by the author
/// it names, whom the sender chooses) and the catch-up answers it gives. Gossip beyond an
/// allowance is dropped (counted as `rate_limited`), not relayed and not penalised, and a
/// catch-up with the peer that passed it on fetches what it held; a catch-up's next request
/// waits until the allowances hold another answer (counted as `catch_up_waits`), so catching
/// up takes no more than gossip may. A request whose answer is beyond the asker's answer
/// allowance gets no answer (counted as `rate_limited`), and the asker retries later.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IngestLimits {
    /// Bytes taken in (per peer 4 MiB/s, bursts of 16 MiB: a browser's cold sync of 100,000
    /// entries from its edge node goes at once; per address 8 and 32; in all 16 and 64). The
    /// edge node's defaults are stricter.
    pub intake: Shares,
    /// New counters (ones this node did not hold: what its memory and store grow by) that
    /// what peers send may add (per peer 20,000 a second, bursts of 100,000, so a cold sync of
    /// 100,000 entries goes at once; per address 40,000 and 150,000; in all 50,000 and
    /// 200,000). A gossip message's leaves count as new when it comes (given back after
    /// merging if they were not), an answer's as they are merged: beyond, the peer's gossip is
    /// refused and its catch-up waits, as for bytes. Entries are a few dozen bytes on the wire
    /// and some hundreds in memory, so bytes alone would let a peer grow a node's memory
    /// tenfold faster than its allowance reads.
    pub counters: Shares,
    /// Items (digests, summaries, entries: what building them costs) of the answers given to
    /// catch-up and light requests and of pushes to light nodes (per peer 50,000 a second,
    /// bursts of 200,000: a cold sync of 100,000 entries goes at once; in all the same: what
    /// building them keeps up with on a fraction of one core). A request is refused before its
    /// answer is built unless the allowances hold an answer of the most entries (4,096).
    pub answers: Shares,
    /// Seals whose signatures are checked, the dearest work a message asks for (50,000 a
    /// second, bursts of 200,000, per peer, per address and in all: a browser's cold sync of
    /// 100,000 entries of as many seals goes at once). Gossip beyond is ignored like gossip
    /// beyond the intake; a catch-up waits. The edge node's default is stricter.
    pub checks: Shares,
}

impl Default for IngestLimits {
    fn default() -> Self {
        let shares = |per_peer, per_ip, total| Shares { per_peer, per_ip, total };
        let each = |per_second: f64, burst: f64| Allowance { per_second, burst };
        Self {
            intake: shares(
                Allowance::mib(4.0, 16.0),
                Allowance::mib(8.0, 32.0),
                Allowance::mib(16.0, 64.0),
            ),
            counters: shares(
                each(20_000.0, 100_000.0),
                each(40_000.0, 150_000.0),
                each(50_000.0, 200_000.0),
            ),
            answers: shares(
                each(50_000.0, 200_000.0),
                each(50_000.0, 200_000.0),
                each(50_000.0, 200_000.0),
            ),
            checks: shares(
                each(50_000.0, 200_000.0),
                each(50_000.0, 200_000.0),
                each(50_000.0, 200_000.0),
            ),
        }
    }
}

/// The most connections a node accepts: beyond these a new connection is refused at once,
/// before it costs more than its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCaps {
    /// Incoming connections established at once (default 4,096).
    pub incoming: u32,
    /// Incoming connections still in their handshake at once (default 128).
    pub pending_incoming: u32,
    /// Connections with any one peer, either way (default 4: a browser that redials may hold
    /// a dying connection beside its new one for a while).
    pub per_peer: u32,
    /// Incoming connections established from one IP address (default 64: peer ids cost
    /// nothing, addresses do; many browsers may share one behind a NAT).
    pub per_ip: u32,
}

impl Default for ConnectionCaps {
    fn default() -> Self {
        Self { incoming: 4096, pending_incoming: 128, per_peer: 4, per_ip: 64 }
    }
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            coalesce: Duration::from_millis(5),
            sync_interval: Duration::from_secs(30),
            ingest: IngestLimits::default(),
            max_message_bytes: MAX_MESSAGE_BYTES,
            dial_timeout: Duration::from_secs(10),
            redial_backoff: (Duration::from_millis(500), Duration::from_secs(30)),
            sync_retry: Duration::from_secs(1),
            connections: ConnectionCaps::default(),
            light: false,
            light_push: Duration::from_millis(50),
            watches: WatchCaps::default(),
        }
    }
}

/// What the node's validation says of a gossip message: relay it, or not and penalise the
/// peer that sent it, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid: relay it.
    Accept,
    /// Invalid: do not relay, penalise the sender.
    Reject,
    /// Not relayed, no penalty (e.g. beyond the rate limit).
    Ignore,
}

/// Where entries to merge came from; told back with [`Protocol::handle_merged`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeFrom {
    /// A gossip message, passed on by `source`.
    Gossip {
        /// The message.
        message: MessageId,
        /// The peer that passed it on.
        source: PeerId,
        /// When it came: gossipsub forwards it only while it keeps it ([`GOSSIP_CACHE`]).
        ///
        /// [`GOSSIP_CACHE`]: crate::GOSSIP_CACHE
        arrived: Instant,
    },
    /// A light-protocol answer or push from the edge node `peer`.
    Light {
        /// The edge node.
        peer: PeerId,
        /// The watched tweets a `Watch` answer brought current (empty for a push): their
        /// counts are current once this merge is done and the answer's tallies kept.
        answered: Vec<TweetId>,
    },
    /// A catch-up response from `peer`.
    CatchUp {
        /// The peer answering.
        peer: PeerId,
        /// Whether it was the catch-up's last response.
        last: bool,
    },
}

/// What the protocol wants done, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Dial `address`; report the outcome with `dial`.
    Dial {
        /// Names the dial in [`Protocol::handle_connected`] and
        /// [`Protocol::handle_dial_failed`].
        dial: DialId,
        /// Where to.
        address: Multiaddr,
    },
    /// Abandon a dial still in flight.
    CancelDial(DialId),
    /// Close one connection.
    HangUp(ConnectionId),
    /// Close every connection to a peer.
    Disconnect(PeerId),
    /// Publish a gossip message; report with [`Protocol::handle_publish_result`].
    Publish {
        /// The message (a batch of signed entries).
        bytes: Vec<u8>,
        /// The keys of its entries.
        keys: Vec<EntryKey>,
        /// Whether it passes on entries caught up from a peer (rather than local changes).
        relay: bool,
    },
    /// Send a catch-up request; report the response or the failure with `request`.
    SendRequest {
        /// To whom.
        peer: PeerId,
        /// Names the request.
        request: RequestId,
        /// The request's bytes.
        bytes: Vec<u8>,
        /// Write it in small pieces (the peer is on WebRTC-direct).
        chunked: bool,
    },
    /// Tell gossipsub what validation found.
    Verdict {
        /// The message.
        message: MessageId,
        /// The peer that passed it on.
        source: PeerId,
        /// What was found.
        verdict: Verdict,
    },
    /// Send a light-protocol request; report the response or the failure with `request`
    /// ([`Protocol::handle_light_response`], [`Protocol::handle_light_failed`]).
    SendLight {
        /// To whom.
        peer: PeerId,
        /// Names the request.
        request: RequestId,
        /// The request's bytes.
        bytes: Vec<u8>,
        /// Write it in small pieces (the peer is on WebRTC-direct).
        chunked: bool,
    },
    /// Keep these tallies of the edge node `from` (checked: signed by it, of watched tweets),
    /// and drop those of `untallied`, tweets it answered without one (served by their entries
    /// now, which this node holds or was sent).
    Tallies {
        /// The edge node.
        from: PeerId,
        /// The tallies.
        tallies: Vec<Tallied>,
        /// The tweets whose tallies are to be dropped.
        untallied: Vec<TweetId>,
    },
    /// A tally check ([`Protocol::verify`]) ended: the figures of every writer's entries of
    /// `tweet` that `edge` served, all of which checked, or why it failed. If they do not make
    /// the edge node's tally, the tally is to be dropped and the edge node distrusted
    /// ([`Protocol::distrust`]).
    Verified {
        /// The tweet.
        tweet: TweetId,
        /// The edge node asked (none if none was connected).
        edge: Option<PeerId>,
        /// The figures, or what went wrong.
        outcome: Result<Figures, VerifyError>,
    },
    /// Verify and merge these entries, then report with [`Protocol::handle_merged`].
    Merge {
        /// Where they came from.
        from: MergeFrom,
        /// The sealed leaves, not yet verified.
        entries: Vec<Sealed>,
    },
}

/// The answer to a catch-up request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The response's bytes.
    pub bytes: Vec<u8>,
    /// Write it in small pieces (the peer is on WebRTC-direct).
    pub chunked: bool,
}

/// Why a tally check ([`Protocol::verify`]) could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No edge node was connected to ask.
    #[error("no edge node is connected")]
    NoEdgeNode,
    /// The edge node asked did not answer (the request failed or timed out).
    #[error("the edge node {0} did not answer")]
    NoAnswer(PeerId),
    /// An answer did not decode.
    #[error("the edge node's answer did not decode: {0}")]
    Wire(#[from] WireError),
    /// An answer was not one to this check.
    #[error("the edge node's answer does not fit the check: {0}")]
    Answer(#[from] LightError),
    /// Entries served did not check (forged or tampered with); their number.
    #[error("{0} entries did not check")]
    Rejected(usize),
    /// The node stopped before the check ended.
    #[error("the node stopped")]
    Stopped,
}
