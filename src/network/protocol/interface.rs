//! What goes in and out of the protocol besides the `handle_*` calls: its configuration, the
//! actions it asks for, and the ids and verdicts those carry.

use std::time::Duration;

use libp2p::gossipsub::MessageId;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};

#[cfg(doc)]
use super::Protocol;
use super::{DialId, RequestId};
use crate::core::{EntryKey, MAX_MESSAGE_BYTES, Sealed};

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
}

/// An average rate and a burst, in bytes: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allowance {
    /// Bytes per second on average...
    pub per_second: f64,
    /// ...and at most at once (a message larger than this is never taken).
    pub burst: f64,
}

impl Allowance {
    const fn mib(per_second: f64, burst: f64) -> Self {
        Self { per_second: per_second * 1048576.0, burst: burst * 1048576.0 }
    }
}

/// What a node takes from its peers. Gossip beyond an allowance is dropped (counted as
/// `rate_limited`), not relayed and not penalised, and a catch-up with the peer that passed it
/// on fetches what it held; a catch-up request whose answer is beyond the asker's allowance
/// gets no answer (counted the same), and the asker retries later. Keyed by the peer that
/// passes a message on, never by its author, whom the sender chooses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IngestLimits {
    /// Gossip from each peer (default 1 MiB/s, bursts of 4 MiB).
    pub gossip_per_peer: Allowance,
    /// Gossip from all peers at one IP address, an IPv6 /64 counting as one (2 MiB/s, 8 MiB).
    pub gossip_per_ip: Allowance,
    /// Gossip from all peers together (4 MiB/s, 16 MiB): what verifying signatures keeps up
    /// with on a fraction of one core.
    pub gossip_total: Allowance,
    /// Catch-up answers to each peer (8 MiB/s, 32 MiB).
    pub answers_per_peer: Allowance,
    /// Catch-up answers to all peers together (16 MiB/s, 64 MiB): what building them keeps up
    /// with on a fraction of one core. A request is refused before its answer is built unless
    /// both allowances hold a whole message's worth (1 MiB).
    pub answers_total: Allowance,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            gossip_per_peer: Allowance::mib(1.0, 4.0),
            gossip_per_ip: Allowance::mib(2.0, 8.0),
            gossip_total: Allowance::mib(4.0, 16.0),
            answers_per_peer: Allowance::mib(8.0, 32.0),
            answers_total: Allowance::mib(16.0, 64.0),
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
