//! A simulated node for the protocol tests: a [`Protocol`], its replica and a virtual clock,
//! and a link carrying requests, responses and merges between two of them.

use std::time::Duration;

use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use std::collections::HashMap;

use warpnet_stats::protocol::{Action, DialId, MergeFrom, Protocol, RequestId};
use warpnet_stats::{
    PeerConfig, Replica, TweetId, VerifyError,
    light::{Figures, Tallied},
};
use web_time::Instant;

use super::{identity, namespace, replica};

/// A tally check that ended: the tweet, the edge node asked, the figures or why none.
pub type Verified = (TweetId, Option<PeerId>, Result<Figures, VerifyError>);

/// A protocol, its replica and a virtual clock.
pub struct Sim {
    pub protocol: Protocol,
    pub replica: Replica,
    pub now: Instant,
    next_connection: usize,
    /// Bytes of catch-up and light answers received through [`carry`].
    pub received: usize,
    /// Bytes of light-protocol requests (an edge node's pushes) received through [`carry`].
    pub pushed: usize,
    /// The tallies kept ([`Action::Tallies`]).
    pub tallies: HashMap<TweetId, Tallied>,
    /// The tally checks that ended ([`Action::Verified`]), in order.
    pub verified: Vec<Verified>,
    /// The watched tweets loaded (a light answer merged), in order.
    pub loaded: Vec<TweetId>,
    /// The connections opened with [`Sim::connect`] and still open.
    connections: Vec<(PeerId, ConnectionId)>,
}

impl Sim {
    pub fn new(seed: u8, config: PeerConfig) -> Self {
        let now = Instant::now();
        Self {
            protocol: Protocol::new(namespace(), config, now),
            replica: replica(seed),
            now,
            next_connection: seed as usize * 1000,
            received: 0,
            pushed: 0,
            tallies: HashMap::new(),
            verified: Vec::new(),
            loaded: Vec::new(),
            connections: Vec::new(),
        }
    }

    /// Moves the clock and runs what is due.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.protocol.handle_timeout(self.now, &mut self.replica);
    }

    /// Moves the clock to the protocol's next deadline, if it is before `limit` from now.
    pub fn step_until(&mut self, limit: Instant) -> bool {
        match self.protocol.poll_timeout() {
            Some(at) if at <= limit => {
                self.now = self.now.max(at);
                self.protocol.handle_timeout(self.now, &mut self.replica);
                true
            }
            _ => false,
        }
    }

    pub fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.protocol.poll_action()).collect()
    }

    pub fn connect(
        &mut self,
        peer: PeerId,
        address: &Multiaddr,
        inbound: bool,
        dial: Option<DialId>,
    ) -> ConnectionId {
        self.next_connection += 1;
        let connection = ConnectionId::new_unchecked(self.next_connection);
        self.protocol.handle_connected(peer, connection, address.clone(), inbound, dial, self.now);
        self.connections.push((peer, connection));
        connection
    }

    /// Every connection opened with [`Sim::connect`] closes.
    pub fn close_all(&mut self) {
        for (peer, connection) in std::mem::take(&mut self.connections) {
            self.protocol.handle_closed(peer, connection, self.now);
        }
    }
}

/// Connects two simulated nodes and carries every request, response and merge between them
/// until both are quiet.
pub fn converge(a: &mut Sim, b: &mut Sim) {
    let address: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().expect("address");
    let (id_a, id_b) = (a.replica.local_writer().node, b.replica.local_writer().node);
    let (id_a, id_b) = (id_a.peer_id(), id_b.peer_id());
    a.connect(id_b, &address, false, None);
    b.connect(id_a, &address, true, None);
    for _ in 0..100 {
        let moved = carry(a, b, id_a) | carry(b, a, id_b);
        if !moved {
            return;
        }
    }
    panic!("no convergence");
}

/// Carries out `from`'s actions against `to`; whether there were any.
pub fn carry(from: &mut Sim, to: &mut Sim, from_id: PeerId) -> bool {
    let actions = from.actions();
    let any = !actions.is_empty();
    carry_these(from, to, from_id, actions);
    any
}

/// Carries out `actions` of `from` against `to`.
pub fn carry_these(from: &mut Sim, to: &mut Sim, from_id: PeerId, actions: Vec<Action>) {
    for action in actions {
        match action {
            Action::SendRequest { request, bytes, .. } => {
                let to_id = to.replica.local_writer().node.peer_id();
                let reply =
                    to.protocol.handle_sync_request(from_id, &bytes, &mut to.replica, to.now);
                let reply = reply.expect("answered");
                from.received += reply.bytes.len();
                from.protocol.handle_sync_response(
                    to_id,
                    request,
                    &reply.bytes,
                    &mut from.replica,
                    from.now,
                );
            }
            Action::SendLight { request, bytes, .. } => {
                let to_id = to.replica.local_writer().node.peer_id();
                to.pushed += bytes.len();
                match to.protocol.handle_light_request(from_id, &bytes, &to.replica, to.now) {
                    Some(reply) => {
                        from.received += reply.bytes.len();
                        from.protocol.handle_light_response(
                            to_id,
                            request,
                            &reply.bytes,
                            &from.replica,
                            from.now,
                        );
                    }
                    None => from.protocol.handle_light_failed(to_id, request, from.now),
                }
            }
            Action::Tallies { tallies, untallied, .. } => {
                for tweet in untallied {
                    from.tallies.remove(&tweet);
                }
                for tallied in tallies {
                    from.tallies.insert(tallied.tally.tweet.clone(), tallied);
                }
            }
            Action::Verified { tweet, edge, outcome } => from.verified.push((tweet, edge, outcome)),
            Action::Merge { from: origin, entries } => {
                let report = from.replica.merge(&namespace(), entries);
                if let MergeFrom::Light { answered, .. } = &origin {
                    from.loaded.extend_from_slice(answered);
                }
                from.protocol.handle_added(&origin, report.added, from.now);
                from.protocol.handle_merged(origin, &report, &mut from.replica, from.now);
            }
            Action::Publish { keys, relay, .. } => {
                from.protocol.handle_publish_result(&keys, relay, false)
            }
            _ => {}
        }
    }
}

pub fn peer_id(seed: u8) -> PeerId {
    identity(seed).node_id().peer_id()
}

pub fn edge_address(seed: u8, transport: &str) -> Multiaddr {
    let transport = match transport {
        "websocket" => "tcp/4002/ws",
        _ => "udp/4003/webrtc-direct",
    };
    format!("/ip4/127.0.0.1/{transport}/p2p/{}", peer_id(seed)).parse().expect("address")
}

pub fn requests(actions: &[Action]) -> Vec<RequestId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendRequest { request, .. } => Some(*request),
            _ => None,
        })
        .collect()
}
