//! The libp2p behaviour every node runs: gossipsub for live batches (validated by the
//! application, with peer scoring so peers that send garbage lose standing), the catch-up and
//! light-node request-response protocols, identify and ping. Transports are chosen elsewhere.

use std::time::Duration;

use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{identify, identity::Keypair, ping};

use super::BoxError;
use super::codec::{FrameCodec, LIGHT_PROTOCOL, LIGHT_PROTOCOL_1, SYNC_PROTOCOL};
use super::per_ip::PerIpLimit;
use warpnet_stats_core::{Namespace, wire::MAX_MESSAGE_BYTES};
use warpnet_stats_protocol::{ConnectionCaps, GOSSIP_CACHE};

/// The most peers an edge node keeps in its gossip mesh.
const MESH_N_HIGH: usize = 4096;

/// The most catch-up streams (requests in flight, both ways) on one connection; beyond, a
/// new inbound request is refused before it is read.
pub(crate) const MAX_SYNC_STREAMS: usize = 8;

/// Gossipsub's heartbeat, and the heartbeats its message cache spans: a message stays between
/// `HISTORY - 1` and `HISTORY` heartbeats, at least the protocol's [`GOSSIP_CACHE`].
const HEARTBEAT: Duration = Duration::from_millis(700);
const HISTORY: usize = 10;
const _: () = assert!((HISTORY as u128 - 1) * HEARTBEAT.as_millis() >= GOSSIP_CACHE.as_millis());

/// The gossip topic of a namespace.
pub(crate) fn topic(namespace: &Namespace) -> IdentTopic {
    IdentTopic::new(format!("warpnet/stats/2/{}", namespace.as_str()))
}

/// Gossip, catch-up, identify and ping.
#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
pub(crate) struct Behaviour {
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) per_ip: PerIpLimit,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) sync: request_response::Behaviour<FrameCodec>,
    pub(crate) light: request_response::Behaviour<FrameCodec>,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
}

/// How often each connection is pinged, and how long an answer may take: a dead connection
/// (a peer gone without closing) is noticed and closed within their sum.
const PING: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(5));

impl Behaviour {
    /// The behaviour for `key`, subscribed to the topic of `namespace`, accepting connections
    /// up to `caps`; a light node's if `light`.
    pub(crate) fn new(
        key: &Keypair,
        namespace: &Namespace,
        caps: ConnectionCaps,
        light: bool,
    ) -> Result<Self, BoxError> {
        let limits = connection_limits::Behaviour::new(
            ConnectionLimits::default()
                .with_max_established_incoming(Some(caps.incoming))
                .with_max_pending_incoming(Some(caps.pending_incoming))
                .with_max_established_per_peer(Some(caps.per_peer)),
        );
        let config = gossipsub::ConfigBuilder::default()
            .validation_mode(ValidationMode::Strict)
            .validate_messages()
            // Above the wire limit, so oversized messages reach the application and are
            // counted and penalised there rather than vanishing in the protocol layer.
            .max_transmit_size(2 * MAX_MESSAGE_BYTES)
            .heartbeat_interval(HEARTBEAT)
            // Messages are forwarded only while the cache holds them: at least GOSSIP_CACHE
            // (a later verdict is relayed by the protocol instead).
            .history_length(HISTORY)
            // Edge nodes are hubs: browsers connect to one and to nothing else, so every
            // subscribed peer that grafts stays in the mesh and gets each message at once.
            // With gossipsub's default (at most 12) the others only hear of messages through
            // lazy gossip to a few random peers per heartbeat, and some never do.
            .mesh_n_high(MESH_N_HIGH)
            .build()?;
        let mut gossipsub =
            gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config)?;
        let topic = topic(namespace);
        let mut scores = gossipsub::PeerScoreParams {
            // Many browsers reach an edge node from one address (an office, a NAT, loopback):
            // that says nothing about them, so no penalty for sharing it.
            ip_colocation_factor_weight: 0.0,
            ..Default::default()
        };
        scores.topics.insert(topic.hash(), topic_score());
        gossipsub.with_peer_score(scores, gossipsub::PeerScoreThresholds::default())?;
        gossipsub.subscribe(&topic)?;
        // An honest peer has one catch-up request in flight each way per connection; a light
        // node one `Watch` per edge node, an edge node one push per light node, plus
        // unwatches and contributions.
        // The light protocol's version 1 (a `Watch` without the asker's node id) is still
        // spoken to and answered, but a light node asks only in version 2: an edge node of
        // version 1 would take its network identity for its writer.
        let v1 = if light { ProtocolSupport::Inbound } else { ProtocolSupport::Full };
        let sync = framed([(SYNC_PROTOCOL, ProtocolSupport::Full)]);
        let light = framed([(LIGHT_PROTOCOL, ProtocolSupport::Full), (LIGHT_PROTOCOL_1, v1)]);
        let identify = identify::Behaviour::new(identify::Config::new(
            "/warpnet/stats/2".into(),
            key.public(),
        ));
        let ping =
            ping::Behaviour::new(ping::Config::new().with_interval(PING.0).with_timeout(PING.1));
        let per_ip = PerIpLimit::new(caps.per_ip, caps.incoming);
        Ok(Self { limits, per_ip, gossipsub, sync, light, identify, ping })
    }
}

/// A request-response behaviour speaking `protocols` in frames: 30 s per request, at most
/// [`MAX_SYNC_STREAMS`] streams per connection.
fn framed<const N: usize>(
    protocols: [(libp2p::StreamProtocol, ProtocolSupport); N],
) -> request_response::Behaviour<FrameCodec> {
    request_response::Behaviour::with_codec(
        FrameCodec,
        protocols,
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(30))
            .with_max_concurrent_streams(MAX_SYNC_STREAMS),
    )
}

/// Topic scoring: each rejected message counts against the peer that delivered it, squared
/// (gossipsub's default weight): a dozen within the decay window and the peer is graylisted.
fn topic_score() -> gossipsub::TopicScoreParams {
    gossipsub::TopicScoreParams {
        // A quiet topic is normal here: never penalise peers for delivering few messages.
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        ..Default::default()
    }
}
