//! The libp2p driver: translates swarm events into [`Protocol`] inputs and the protocol's
//! actions into swarm calls, and nothing else (no policy, no clock: `now` is passed in). It
//! maps the protocol's dial and request ids to the swarm's. Catch-up requests wait to be
//! answered one at a time ([`Driver::answer_next`]), so building answers never holds up the
//! events behind them (a like's gossip under a flood of requests).

use std::collections::HashMap;

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response::{self, OutboundFailure, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, ping};
use web_time::Instant;

use super::NetworkError;
use super::behaviour::{Behaviour, BehaviourEvent, topic};
use super::codec::Frame;
use super::waiting::Waiting;
use warpnet_stats_core::{Namespace, Replica};
use warpnet_stats_protocol::{Action, DialId, Protocol, RequestId, SyncFailure, Verdict};

/// Told of every swarm event (for metrics).
pub(crate) type Recorder = Box<dyn FnMut(&SwarmEvent<BehaviourEvent>)>;

/// What the swarm reported, to hand back to [`Driver::handle_event`].
#[derive(Debug)]
pub struct Event(SwarmEvent<BehaviourEvent>);

/// A request waiting for an answer: whose, its bytes, its stream, and whether it is of the
/// light protocol (else catch-up).
type Asked = (PeerId, Vec<u8>, ResponseChannel<Frame>, bool);

/// Who takes turns at being answered: peers at one address (an IPv4 address or an IPv6 /64)
/// together, or a peer not connected over IP alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Turn {
    Address(std::net::IpAddr),
    Peer(PeerId),
}

/// A swarm and the ids it shares with the protocol.
pub struct Driver {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    dials: HashMap<ConnectionId, (DialId, Option<PeerId>)>,
    requests: HashMap<OutboundRequestId, RequestId>,
    light_requests: HashMap<OutboundRequestId, RequestId>,
    /// Catch-up and light requests waiting for an answer, in turn by address and by peer.
    asked: Waiting<Turn, PeerId, Asked>,
    listen_addrs: Vec<Multiaddr>,
    /// Told of every event (set by the metrics, natively).
    pub(super) recorder: Option<Recorder>,
}

impl Driver {
    /// The driver of `swarm`; a light node's leaves the namespace's gossip topic (it still
    /// publishes there).
    pub(crate) fn new(mut swarm: Swarm<Behaviour>, namespace: &Namespace, light: bool) -> Self {
        let topic = topic(namespace);
        if light {
            swarm.behaviour_mut().gossipsub.unsubscribe(&topic);
        }
        Self {
            swarm,
            topic,
            dials: HashMap::new(),
            requests: HashMap::new(),
            light_requests: HashMap::new(),
            asked: Waiting::default(),
            listen_addrs: Vec::new(),
            recorder: None,
        }
    }

    /// Starts listening on `address`.
    pub fn listen(&mut self, address: Multiaddr) -> Result<(), NetworkError> {
        self.swarm
            .listen_on(address.clone())
            .map(drop)
            .map_err(|source| NetworkError::Listen { address, source })
    }

    /// Tells peers (by identify) that this node is reachable at `address`.
    pub fn advertise(&mut self, address: Multiaddr) {
        self.swarm.add_external_address(address);
    }

    /// This node's network identity.
    pub fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// The addresses listened on, each ending in this node's `/p2p/` id.
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// The next swarm event.
    pub async fn next_event(&mut self) -> Event {
        Event(self.swarm.select_next_some().await)
    }

    /// Whether catch-up requests wait for an answer.
    pub fn is_asked(&self) -> bool {
        !self.asked.is_empty()
    }

    /// Answers the next request waiting (the oldest of the peer next in turn, if its stream is
    /// still open) from `replica`, as the protocol decides. (Turns are counted, not the work
    /// of each: an answer's size is bounded, and turns weighed by it gave a peer whose
    /// requests were refused, cheap each, many more of them than those answered:
    /// `scripts/bench --hostile`'s `answer-hog`.)
    pub fn answer_next(&mut self, protocol: &mut Protocol, replica: &mut Replica, now: Instant) {
        let Some((peer, request, channel, light)) = self.asked.pop() else { return };
        // A refused request gets no response: the peer sees its stream end.
        if channel.is_open() {
            let behaviour = self.swarm.behaviour_mut();
            if light {
                if let Some(reply) = protocol.handle_light_request(peer, &request, replica, now) {
                    let frame = Frame::new(reply.bytes, reply.chunked);
                    let _ = behaviour.light.send_response(channel, frame);
                }
            } else if let Some(reply) = protocol.handle_sync_request(peer, &request, replica, now) {
                let frame = Frame::new(reply.bytes, reply.chunked);
                let _ = behaviour.sync.send_response(channel, frame);
            }
        }
    }

    /// Hands a swarm event to the protocol (`replica` answers and checks catch-up messages).
    pub fn handle_event(
        &mut self,
        Event(event): Event,
        protocol: &mut Protocol,
        replica: &mut Replica,
        now: Instant,
    ) {
        if let Some(record) = self.recorder.as_mut() {
            record(&event);
        }
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                protocol.handle_gossip(message_id, propagation_source, &message.data, replica, now);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed {
                peer_id,
                topic,
            })) if topic == self.topic.hash() => protocol.handle_subscribed(peer_id),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request { request, channel, .. } => {
                    let turn = protocol.address_of(&peer).map_or(Turn::Peer(peer), Turn::Address);
                    self.asked.push(turn, peer, (peer, request.bytes, channel, false));
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(request) = self.requests.remove(&request_id) {
                        protocol.handle_sync_response(peer, request, &response.bytes, replica, now);
                    }
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { peer, request_id, error, .. },
            )) => {
                if let Some(request) = self.requests.remove(&request_id) {
                    let failure = match error {
                        OutboundFailure::ConnectionClosed | OutboundFailure::DialFailure => {
                            SyncFailure::ConnectionClosed
                        }
                        OutboundFailure::Timeout => SyncFailure::Timeout,
                        OutboundFailure::UnsupportedProtocols => SyncFailure::Unsupported,
                        OutboundFailure::Io(_) => SyncFailure::Io,
                    };
                    protocol.handle_sync_failed(peer, request, failure, now);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Light(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request { request, channel, .. } => {
                    let turn = protocol.address_of(&peer).map_or(Turn::Peer(peer), Turn::Address);
                    self.asked.push(turn, peer, (peer, request.bytes, channel, true));
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(request) = self.light_requests.remove(&request_id) {
                        protocol.handle_light_response(
                            peer,
                            request,
                            &response.bytes,
                            replica,
                            now,
                        );
                    }
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Light(
                request_response::Event::OutboundFailure { peer, request_id, error, .. },
            )) => {
                if let Some(request) = self.light_requests.remove(&request_id) {
                    if matches!(error, OutboundFailure::UnsupportedProtocols) {
                        protocol.handle_light_unsupported(peer);
                    }
                    protocol.handle_light_failed(peer, request, now);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                connection,
                result: Ok(_),
                ..
            })) => protocol.handle_ping_answered(connection, now),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                connection,
                result: Err(ping::Failure::Unsupported),
                ..
            })) => protocol.handle_ping_unsupported(connection),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                connection,
                result: Err(error),
                ..
            })) => {
                tracing::debug!(?connection, %error, "ping failed: closing the connection");
                protocol.handle_ping_failed(connection);
            }
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, .. } => {
                let dial = self.dials.remove(&connection_id).map(|(dial, _)| dial);
                let address = endpoint.get_remote_address().clone();
                tracing::info!(peer = %peer_id, %address, "connected");
                let inbound = endpoint.is_listener();
                protocol.handle_connected(peer_id, connection_id, address, inbound, dial, now);
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. } => {
                if num_established == 0 {
                    tracing::info!(peer = %peer_id, "disconnected");
                }
                protocol.handle_closed(peer_id, connection_id, now);
            }
            SwarmEvent::OutgoingConnectionError { connection_id, error, .. } => {
                if let Some((dial, _)) = self.dials.remove(&connection_id) {
                    tracing::debug!(%error, "dial failed");
                    protocol.handle_dial_failed(dial, now);
                }
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                let address = address.with_p2p(self.peer_id()).unwrap_or_else(|a| a);
                tracing::info!(%address, "listening");
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let address = address.with_p2p(self.peer_id()).unwrap_or_else(|a| a);
                self.listen_addrs.retain(|a| *a != address);
            }
            _ => {}
        }
    }

    /// Carries out one of the protocol's actions (all but [`Action::Merge`],
    /// [`Action::Tallies`] and [`Action::Verified`], which the runtime carries out), reporting the outcome to the protocol where it asks for one.
    pub fn execute(&mut self, action: Action, protocol: &mut Protocol, now: Instant) {
        match action {
            Action::Dial { dial, address } => {
                let opts = DialOpts::from(address.clone());
                let (connection, peer) = (opts.connection_id(), opts.get_peer_id());
                tracing::debug!(%address, "dialling");
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.dials.insert(connection, (dial, peer));
                    }
                    Err(error) => {
                        tracing::debug!(%address, %error, "dial refused");
                        protocol.handle_dial_failed(dial, now);
                    }
                }
            }
            Action::CancelDial(dial) => {
                let pending =
                    self.dials.iter().find(|(_, (d, _))| *d == dial).map(|(c, (_, p))| (*c, *p));
                if let Some((connection, peer)) = pending {
                    self.dials.remove(&connection);
                    // The swarm aborts pending dials only per peer; the peer has no established
                    // connection (or the dial would have ended), so nothing else is closed.
                    if let Some(peer) = peer.filter(|p| !self.swarm.is_connected(p)) {
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                }
            }
            Action::HangUp(connection) => {
                self.swarm.close_connection(connection);
            }
            Action::Disconnect(peer) => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Action::Publish { bytes, keys, relay } => {
                let sent =
                    match self.swarm.behaviour_mut().gossipsub.publish(self.topic.clone(), bytes) {
                        Ok(_) => true,
                        Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => false,
                        Err(error) => {
                            tracing::warn!(%error, "publishing failed; catch-up will deliver it");
                            false
                        }
                    };
                protocol.handle_publish_result(&keys, relay, sent);
            }
            Action::SendRequest { peer, request, bytes, chunked } => {
                let id =
                    self.swarm.behaviour_mut().sync.send_request(&peer, Frame::new(bytes, chunked));
                self.requests.insert(id, request);
            }
            Action::SendLight { peer, request, bytes, chunked } => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .light
                    .send_request(&peer, Frame::new(bytes, chunked));
                self.light_requests.insert(id, request);
            }
            Action::Verdict { message, source, verdict } => {
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Reject => MessageAcceptance::Reject,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                };
                let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                let held =
                    gossipsub.report_message_validation_result(&message, &source, acceptance);
                if !held && verdict == Verdict::Accept {
                    protocol.handle_unforwarded();
                }
            }
            Action::Merge { .. } | Action::Tallies { .. } | Action::Verified { .. } => {
                debug_assert!(false, "merges, tallies and checks are the runtime's");
            }
        }
    }
}
