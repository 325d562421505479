//! The attacks, each from native clients on a thread (and runtime) of its own for one window:
//! WebSocket frame headers announcing 256 MiB, a flood of connections from fresh identities, a
//! flood of gossip carrying thousands of valid fresh entries per message, a flood of catch-up
//! requests asking for everything, and the second round's ([`round2`]).

use std::io::Write;
use std::time::Duration;

use futures::StreamExt;
use libp2p::Multiaddr;
use libp2p::gossipsub::IdentTopic;
use libp2p::multiaddr::Protocol;
use tokio::time::Instant;
use warpnet_stats::{
    Generation, Identity, PnCounter, StatKind,
    seal::{Leaf, seal_leaves},
    sync::SyncRequest,
    wire::SealedBatch,
};

use super::{addressed, round2};
use crate::common::net::{await_subscriber, local};
use crate::common::{namespace, tweet};

/// One attack (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attack {
    Idle,
    WebSocketFrames,
    Connections,
    GossipFlood,
    CatchUpFlood,
    TwoLeafCounts,
    UnprovenFlood,
    AnswerHog,
    UnknownWatches,
    PushStorm,
    ContributionsScan,
    WriterStorage,
    HttpSlowloris,
    HttpSlowReaders,
    ConnectionsFromMany,
}

impl Attack {
    pub(crate) const ALL: [Attack; 15] = [
        Attack::Idle,
        Attack::WebSocketFrames,
        Attack::Connections,
        Attack::GossipFlood,
        Attack::CatchUpFlood,
        Attack::TwoLeafCounts,
        Attack::UnprovenFlood,
        Attack::AnswerHog,
        Attack::UnknownWatches,
        Attack::PushStorm,
        Attack::ContributionsScan,
        Attack::WriterStorage,
        Attack::HttpSlowloris,
        Attack::HttpSlowReaders,
        Attack::ConnectionsFromMany,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Attack::Idle => "idle",
            Attack::WebSocketFrames => "websocket-frames",
            Attack::Connections => "connections",
            Attack::GossipFlood => "gossip-flood",
            Attack::CatchUpFlood => "catch-up-flood",
            Attack::TwoLeafCounts => "two-leaf-counts",
            Attack::UnprovenFlood => "unproven-flood",
            Attack::AnswerHog => "answer-hog",
            Attack::UnknownWatches => "unknown-watches",
            Attack::PushStorm => "push-storm",
            Attack::ContributionsScan => "contributions-scan",
            Attack::WriterStorage => "writer-storage",
            Attack::HttpSlowloris => "http-slowloris",
            Attack::HttpSlowReaders => "http-slow-readers",
            Attack::ConnectionsFromMany => "connections-66-addresses",
        }
    }
}

/// An attack under way.
pub(crate) struct Launched(std::thread::JoinHandle<()>);

impl Launched {
    /// Waits for the attack's window to end and its clients to stop.
    pub(crate) fn join(self) {
        self.0.join().expect("attack thread");
    }
}

/// Starts `attack` against the edge node at `tcp` / `ws` / `http`, for `window`.
pub(crate) fn launch(
    attack: Attack,
    tcp: &Multiaddr,
    ws: &Multiaddr,
    http: &str,
    window: Duration,
) -> Launched {
    let (tcp, ws, http) = (tcp.clone(), ws.clone(), http.to_owned());
    // Built before the window: what the attacker spends on it is not the edge node's.
    let messages = if attack == Attack::GossipFlood { flood_messages(48) } else { Vec::new() };
    Launched(std::thread::spawn(move || {
        let until = std::time::Instant::now() + window;
        match attack {
            Attack::HttpSlowloris => return round2::http_slowloris(&http, until),
            Attack::HttpSlowReaders => return round2::http_slow_readers(&http, until),
            _ => {}
        }
        local(async move {
            let deadline = Instant::now() + window;
            match attack {
                Attack::Idle => tokio::time::sleep_until(deadline).await,
                Attack::WebSocketFrames => websocket_frames(&ws, deadline).await,
                Attack::Connections => connections(&tcp, deadline).await,
                Attack::GossipFlood => gossip_flood(&tcp, messages, deadline).await,
                Attack::CatchUpFlood => catch_up_flood(&tcp, deadline).await,
                Attack::TwoLeafCounts => round2::two_leaf_counts(&tcp, deadline).await,
                Attack::UnprovenFlood => round2::unproven_flood(&tcp, deadline).await,
                Attack::AnswerHog => round2::answer_hog(&tcp, deadline).await,
                Attack::UnknownWatches => round2::unknown_watches(&tcp, deadline).await,
                Attack::PushStorm => round2::push_storm(&tcp, deadline).await,
                Attack::ContributionsScan => round2::contributions_scan(&tcp, deadline).await,
                Attack::WriterStorage => round2::writer_storage(&tcp, deadline).await,
                Attack::ConnectionsFromMany => round2::connections_from_many(&tcp, deadline).await,
                Attack::HttpSlowloris | Attack::HttpSlowReaders => {}
            }
        });
    }))
}

/// 100 sockets at a time, each upgraded to WebSocket and sending the header of one binary
/// frame announcing 256 MiB (and nothing more), held a second, then replaced.
async fn websocket_frames(ws: &Multiaddr, deadline: Instant) {
    let port = ws.iter().find_map(|p| if let Protocol::Tcp(p) = p { Some(p) } else { None });
    let port = port.expect("a tcp port");
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(256u64 << 20).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    let upgrade = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    while Instant::now() < deadline {
        let mut held = Vec::new();
        for _ in 0..100 {
            if let Ok(mut socket) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = socket.write_all(upgrade.as_bytes());
                std::thread::sleep(Duration::from_millis(1));
                let _ = socket.write_all(&header);
                held.push(socket);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// 300 fresh identities each dialling once (from one address of their own) and holding what
/// they get.
async fn connections(tcp: &Multiaddr, deadline: Instant) {
    for _ in 0..300 {
        let mut swarm = addressed::gossip_at(addressed::address(7));
        let _ = swarm.dial(tcp.clone());
        tokio::task::spawn_local(async move {
            while tokio::time::timeout_at(deadline, swarm.select_next_some()).await.is_ok() {}
        });
    }
    tokio::time::sleep_until(deadline).await;
}

/// Messages of one fresh writer each, with 6,000 likes on fresh tweets (about 109 KB): valid
/// entries, each costing its receiver a leaf hash and its message a signature check.
fn flood_messages(count: u8) -> Vec<Vec<u8>> {
    (0..count)
        .map(|w| {
            let identity = Identity::from_secret([w.wrapping_add(100); 32]);
            let leaves: Vec<Leaf> = (0..6000)
                .map(|i| Leaf {
                    tweet: tweet(&format!("flood-{w}-{i}")),
                    stat: StatKind::Likes,
                    counter: PnCounter::new(1, 0),
                })
                .collect();
            let generation = Generation([w; 16]);
            let (seal, tree) =
                seal_leaves(&identity, &namespace(), generation, &leaves).expect("sealed");
            let shown = (0..).zip(leaves).collect();
            let proof = round2::proof_of(&identity, generation);
            let group = warpnet_stats::seal::Sealed::of(&seal, proof, &tree, shown)
                .expect("every leaf known");
            SealedBatch { namespace: namespace(), sealed: vec![group] }
                .encode()
                .expect("fits a message")
        })
        .collect()
}

/// One gossipsub peer publishing `messages` one every [`FLOOD_EVERY`] (as fast as its queues
/// take them, if slower): a flood paced to spend the edge node's allowance of new counters as
/// it refills, not only its burst.
async fn gossip_flood(tcp: &Multiaddr, messages: Vec<Vec<u8>>, deadline: Instant) {
    let mut swarm = addressed::gossip_at(addressed::address(8));
    swarm.dial(tcp.clone()).expect("dials");
    await_subscriber(&mut swarm).await;
    let topic = IdentTopic::new("warpnet/stats/2/mainnet");
    let mut messages = messages.into_iter();
    let mut next = messages.next();
    let mut due = Instant::now();
    while Instant::now() < deadline {
        if let Some(message) = next.take_if(|_| Instant::now() >= due) {
            if swarm.behaviour_mut().publish(topic.clone(), message.clone()).is_ok() {
                next = messages.next();
                due += FLOOD_EVERY;
            } else {
                next = Some(message);
            }
        }
        let wait = Duration::from_millis(if next.is_some() { 1 } else { 100 });
        let _ = tokio::time::timeout(wait, swarm.select_next_some()).await;
    }
}

/// How often the gossip flood publishes a message (48 messages over ten seconds).
const FLOOD_EVERY: Duration = Duration::from_millis(200);

/// Eight clients on connections of their own (from one address), each keeping 16 requests
/// for the whole key-hash range in flight, asking again as each is answered or refused, and
/// dialling again when hung up on.
async fn catch_up_flood(tcp: &Multiaddr, deadline: Instant) {
    let everything = SyncRequest::Range { from: 0, to: u64::MAX }.encode(&namespace());
    for _ in 0..8 {
        let requests = vec![everything.clone()];
        let tcp = tcp.clone();
        tokio::task::spawn_local(async move {
            let address = addressed::address(6);
            round2::keep_asking(
                address,
                "/warpnet/stats-sync/2",
                &tcp,
                requests,
                (16, true),
                deadline,
            )
            .await;
        });
    }
    tokio::time::sleep_until(deadline).await;
}
