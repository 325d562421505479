//! The network protocol as a state machine, as a full or a light node, driven by arbitrary
//! peers: connections that come and go, gossip of any bytes, catch-up and light requests of
//! any bytes, responses (any bytes, or honest ones) to whatever it asked, watches. It never
//! panics, and everything it sends fits the wire.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use libp2p::gossipsub::MessageId;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use warpnet_stats::protocol::{self, Protocol, RequestId, SyncFailure};
use warpnet_stats::{
    Identity, PeerConfig, Replica, StatKind, TweetId, light::LightRequest, sync::SyncRequest,
    wire::MAX_MESSAGE_BYTES,
};
use warpnet_stats_fuzz::{ahead, behind, namespace};

#[derive(Arbitrary, Debug)]
enum Op {
    Connect { peer: u8, inbound: bool },
    Close { peer: u8 },
    Subscribed { peer: u8 },
    Gossip { source: u8, data: Vec<u8> },
    Request { peer: u8, data: Vec<u8> },
    Respond { which: u8, data: Vec<u8> },
    RespondHonestly { which: u8 },
    Fail { which: u8 },
    Count { tweet: u8 },
    Wait { millis: u16 },
    LightRequest { peer: u8, data: Vec<u8> },
    LightRespond { which: u8, data: Vec<u8> },
    LightRespondHonestly { which: u8 },
    LightFail { which: u8 },
    Watch { tweets: Vec<u8> },
    Unwatch { tweets: Vec<u8> },
}

fn tweet(n: u8) -> TweetId {
    TweetId::new(format!("tweet-{n}")).expect("valid")
}

struct World {
    protocol: Protocol,
    mine: Replica,
    theirs: Replica,
    peers: Vec<PeerId>,
    /// Requests sent and not yet answered: to whom, the id, what was asked.
    pending: Vec<(PeerId, RequestId, Vec<u8>)>,
    /// Light requests sent and not yet answered, likewise.
    light_pending: Vec<(PeerId, RequestId, Vec<u8>)>,
    now: Instant,
    next_message: u32,
}

impl World {
    fn peer(&self, index: u8) -> PeerId {
        self.peers[usize::from(index) % self.peers.len()]
    }

    fn take(&mut self, which: u8) -> Option<(PeerId, RequestId, Vec<u8>)> {
        take(&mut self.pending, which)
    }

    fn take_light(&mut self, which: u8) -> Option<(PeerId, RequestId, Vec<u8>)> {
        take(&mut self.light_pending, which)
    }

    /// Carries out what the protocol asks, as a swarm and a node would.
    fn drain(&mut self) {
        for _ in 0..10_000 {
            let Some(action) = self.protocol.poll_action() else { return };
            match action {
                protocol::Action::SendRequest { peer, request, bytes, .. } => {
                    assert!(bytes.len() <= MAX_MESSAGE_BYTES);
                    self.pending.push((peer, request, bytes));
                }
                protocol::Action::Publish { bytes, keys, relay } => {
                    assert!(bytes.len() <= MAX_MESSAGE_BYTES);
                    self.protocol.handle_publish_result(&keys, relay, true);
                }
                protocol::Action::SendLight { peer, request, bytes, .. } => {
                    assert!(bytes.len() <= MAX_MESSAGE_BYTES);
                    self.light_pending.push((peer, request, bytes));
                }
                protocol::Action::Merge { from, entries } => {
                    let report = self.mine.merge(&namespace(), entries);
                    self.protocol.handle_added(&from, report.added, self.now);
                    self.protocol.handle_merged(from, &report, &mut self.mine, self.now);
                }
                _ => {}
            }
        }
        panic!("the protocol keeps asking for more");
    }
}

fn take<T>(pending: &mut Vec<T>, which: u8) -> Option<T> {
    if pending.is_empty() {
        return None;
    }
    let index = usize::from(which) % pending.len();
    Some(pending.swap_remove(index))
}

fuzz_target!(|input: (bool, Vec<Op>)| {
    let (light, ops) = input;
    let now = Instant::now();
    let config = PeerConfig { light, ..PeerConfig::default() };
    let mut world = World {
        protocol: Protocol::new(namespace(), config, now),
        mine: behind(),
        theirs: ahead(),
        peers: (1..=3).map(|seed| Identity::from_secret([seed; 32]).node_id().peer_id()).collect(),
        pending: Vec::new(),
        light_pending: Vec::new(),
        now,
        next_message: 0,
    };
    let address: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().expect("valid");
    for op in ops.into_iter().take(64) {
        match op {
            Op::Connect { peer, inbound } => {
                let connection = ConnectionId::new_unchecked(usize::from(peer));
                let peer = world.peer(peer);
                let at = world.now;
                world.protocol.handle_connected(
                    peer,
                    connection,
                    address.clone(),
                    inbound,
                    None,
                    at,
                );
            }
            Op::Close { peer } => {
                let connection = ConnectionId::new_unchecked(usize::from(peer));
                let (peer, at) = (world.peer(peer), world.now);
                world.protocol.handle_closed(peer, connection, at);
            }
            Op::Subscribed { peer } => {
                let peer = world.peer(peer);
                world.protocol.handle_subscribed(peer);
            }
            Op::Gossip { source, data } => {
                world.next_message += 1;
                let message = MessageId::new(&world.next_message.to_be_bytes());
                let (source, at) = (world.peer(source), world.now);
                world.protocol.handle_gossip(message, source, &data, &world.mine, at);
            }
            Op::Request { peer, data } => {
                let peer = world.peer(peer);
                if let Some(reply) =
                    world.protocol.handle_sync_request(peer, &data, &mut world.mine, world.now)
                {
                    assert!(reply.bytes.len() <= MAX_MESSAGE_BYTES);
                }
            }
            Op::Respond { which, data } => {
                if let Some((peer, request, _)) = world.take(which) {
                    let at = world.now;
                    world.protocol.handle_sync_response(peer, request, &data, &mut world.mine, at);
                }
            }
            Op::RespondHonestly { which } => {
                if let Some((peer, request, asked)) = world.take(which) {
                    let (_, asked) = SyncRequest::decode(&asked).expect("its own request decodes");
                    if let Ok(answer) = asked.answer_from(&mut world.theirs) {
                        let bytes = answer.encode(&namespace());
                        let at = world.now;
                        world.protocol.handle_sync_response(
                            peer,
                            request,
                            &bytes,
                            &mut world.mine,
                            at,
                        );
                    }
                }
            }
            Op::Fail { which } => {
                if let Some((peer, request, _)) = world.take(which) {
                    let at = world.now;
                    world.protocol.handle_sync_failed(peer, request, SyncFailure::Io, at);
                }
            }
            Op::Count { tweet: n } => {
                if let Ok(entry) = world.mine.increment(&tweet(n), StatKind::Likes) {
                    world.protocol.handle_local_changes([entry.key], world.now);
                }
            }
            Op::Wait { millis } => {
                world.now += Duration::from_millis(u64::from(millis) * 50);
                if world.protocol.poll_timeout().is_some_and(|at| at <= world.now) {
                    let at = world.now;
                    world.protocol.handle_timeout(at, &mut world.mine);
                }
            }
            Op::LightRequest { peer, data } => {
                let peer = world.peer(peer);
                if let Some(reply) =
                    world.protocol.handle_light_request(peer, &data, &world.mine, world.now)
                {
                    assert!(reply.bytes.len() <= MAX_MESSAGE_BYTES);
                }
            }
            Op::LightRespond { which, data } => {
                if let Some((peer, request, _)) = world.take_light(which) {
                    let at = world.now;
                    world.protocol.handle_light_response(peer, request, &data, &world.mine, at);
                }
            }
            Op::LightRespondHonestly { which } => {
                if let Some((peer, request, asked)) = world.take_light(which) {
                    let (_, asked) = LightRequest::decode(&asked).expect("its own request decodes");
                    let me = world.mine.local_writer().node;
                    let mut signed = warpnet_stats::light::SignedTallies::default();
                    let bytes =
                        asked.answer_from(&world.theirs, me, &mut signed).encode(&namespace());
                    let at = world.now;
                    world.protocol.handle_light_response(peer, request, &bytes, &world.mine, at);
                }
            }
            Op::LightFail { which } => {
                if let Some((peer, request, _)) = world.take_light(which) {
                    let at = world.now;
                    world.protocol.handle_light_failed(peer, request, at);
                }
            }
            Op::Watch { tweets } => {
                let tweets: Vec<TweetId> = tweets.into_iter().take(16).map(tweet).collect();
                world.protocol.watch(&tweets, world.now);
            }
            Op::Unwatch { tweets } => {
                let tweets: Vec<TweetId> = tweets.into_iter().take(16).map(tweet).collect();
                world.protocol.unwatch(&tweets, world.now);
            }
        }
        world.drain();
    }
});
