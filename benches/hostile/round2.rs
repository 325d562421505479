//! The second round of attacks (issue "hostile load, round 2"), each from clients at addresses
//! of their own (127.0.1.x): one root signed under two leaf counts, floods of seals without
//! identity proofs, a peer keeping catch-up requests in flight, watches of unknown tweets,
//! pushes of popular tweets to many light nodes, `Contributions` past the last page of a large
//! tweet, one writer filling its storage, HTTP slowloris and slow readers, and connections from
//! 66 addresses. Also what the edge node holds before them, and the two honest probes run
//! during every window: a fresh light node watching 50 tweets and a fresh full node catching up
//! on everything.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::IdentTopic;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;
use warpnet_stats::{
    Caps, Difficulty, Generation, Identity, IdentityProof, MemoryStore, Minter, PeerConfig,
    PnCounter, Replica, Rules, StatKind, TweetId, Writer,
    light::{LightRequest, LightResponse},
    seal::{Hash, Leaf, Sealed, Signature, Tree, seal_payload},
    sync::SyncRequest,
    wire::SealedBatch,
};

use super::addressed::{address, frames_at, gossip_at, swarm_at};
use crate::common::net::{Running, await_subscriber, quiet, wait_for};
use crate::common::{namespace, tweet};

/// The identity difficulty of the edge node under attack: low, so the honest peers' and the
/// attackers' proofs cost little, but not zero, so a writer without one is refused.
pub(crate) const DIFFICULTY: u8 = 8;

/// The namespace's rules at [`DIFFICULTY`].
pub(crate) fn rules() -> Rules {
    Rules { caps: Caps::DEFAULT, difficulty: Difficulty(DIFFICULTY) }
}

/// A writer (number `seed`) with its identity proof minted at [`DIFFICULTY`].
pub(crate) fn writer(seed: u32) -> Replica {
    let mut secret = [0u8; 32];
    secret[..4].copy_from_slice(&seed.to_be_bytes());
    secret[31] = 1;
    let generation = Generation(blake3::hash(&secret).as_bytes()[..16].try_into().expect("16"));
    let mut replica = Replica::new(namespace(), rules(), Identity::from_secret(secret), generation);
    let local = replica.local_writer();
    let mut minter = Minter::new(&namespace(), &local, Difficulty(DIFFICULTY), 0);
    let proof = std::iter::from_fn(|| Some(minter.step(1 << 16))).flatten().next();
    replica.set_identity_proof(proof.expect("minted")).expect("holds");
    replica
}

/// The identity proof of `identity` in `generation`, minted at [`DIFFICULTY`].
pub(crate) fn proof_of(identity: &Identity, generation: Generation) -> IdentityProof {
    let writer = Writer { node: identity.node_id(), generation };
    let mut minter = Minter::new(&namespace(), &writer, Difficulty(DIFFICULTY), 0);
    std::iter::from_fn(|| Some(minter.step(1 << 16))).flatten().next().expect("minted")
}

/// `writer`'s counters of `stat` raised by one on each of `tweets`, sealed.
fn bumped(writer: &mut Replica, tweets: &[TweetId], stat: StatKind) -> Vec<Sealed> {
    let keys: Vec<_> =
        tweets.iter().map(|t| writer.increment(t, stat).expect("within the caps").key).collect();
    writer.sealed(&keys)
}

fn ids(prefix: &str, count: usize) -> Vec<TweetId> {
    (0..count).map(|i| tweet(&format!("{prefix}-{i}"))).collect()
}

/// The tweets of the cold-sync set, the popular tweets, the large tweet and the watched ones.
pub(crate) const COLD: usize = 40_000;
const POPULAR: usize = 64;
const POPULAR_WRITERS: u32 = 130;
const LARGE_WRITERS: u32 = 5_000;
const WATCHED: usize = 50;

/// What the edge node holds before the attacks, as sealed groups: 40,000 views on 4,000
/// tweets by 10 writers (the cold sync), 64 popular tweets viewed by 130 writers each (tallied
/// to light nodes), one tweet of 20,000 counters (5,000 writers x 4 statistics), and 50 small
/// tweets liked by 3 writers each (what the honest light node watches).
pub(crate) fn seed() -> Vec<Vec<Sealed>> {
    let mut batches = Vec::new();
    let cold = ids("cold", COLD / 10);
    for w in 0..10 {
        batches.push(bumped(&mut writer(1_000 + w), &cold, StatKind::Views));
    }
    let popular = ids("pop", POPULAR);
    for w in 0..POPULAR_WRITERS {
        batches.push(bumped(&mut writer(2_000 + w), &popular, StatKind::Views));
    }
    let large = [tweet("large")];
    let mut sealed = Vec::new();
    for w in 0..LARGE_WRITERS {
        let mut writer = writer(10_000 + w);
        let keys: Vec<_> = StatKind::ALL
            .iter()
            .map(|&stat| writer.increment(&large[0], stat).expect("within the caps").key)
            .collect();
        sealed.extend(writer.sealed(&keys));
        if sealed.len() >= 500 {
            batches.push(std::mem::take(&mut sealed));
        }
    }
    batches.push(sealed);
    let watched = ids("w", WATCHED);
    for w in 0..3 {
        batches.push(bumped(&mut writer(3_000 + w), &watched, StatKind::Likes));
    }
    batches
}

/// How many counters [`seed`] makes.
pub(crate) fn seeded() -> usize {
    COLD + POPULAR * POPULAR_WRITERS as usize + 4 * LARGE_WRITERS as usize + 3 * WATCHED
}

/// Hands `batches` to the edge node at `tcp` through a peer that holds them (the edge node
/// catches up from it).
pub(crate) async fn hand_over(tcp: &Multiaddr, batches: Vec<Vec<Sealed>>) -> Running<MemoryStore> {
    let seeder = Running::start_ruled(MemoryStore::new(), &[], quiet(), rules()).await;
    for batch in batches {
        seeder.node.merge(batch).await.expect("merged");
    }
    seeder.handle.keep_connected(tcp.clone());
    seeder
}

/// A fresh light node watching the 50 small tweets: how long until it holds every writer's
/// likes of them (`None`: not within 60 s).
pub(crate) async fn light_watch(tcp: &Multiaddr) -> Option<Duration> {
    let config = PeerConfig { light: true, ..quiet() };
    let started = Instant::now();
    let light = Running::start_ruled(MemoryStore::new(), &[], config, rules()).await;
    light.handle.keep_connected(tcp.clone());
    light.handle.watch(&ids("w", WATCHED));
    let deadline = started + Duration::from_secs(60);
    while light.node.with_replica(|r| r.len()) < 3 * WATCHED && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let done = (light.node.with_replica(|r| r.len()) >= 3 * WATCHED).then(|| started.elapsed());
    light.stop().await;
    done
}

/// A fresh full node catching up on everything the edge node holds (at least `held`
/// counters): how long it took (`None`: not within 120 s).
pub(crate) async fn cold_sync(tcp: &Multiaddr, held: usize) -> Option<Duration> {
    let started = Instant::now();
    let full = Running::start_ruled(MemoryStore::new(), &[], quiet(), rules()).await;
    full.handle.keep_connected(tcp.clone());
    let deadline = started + Duration::from_secs(120);
    while full.node.with_replica(|r| r.len()) < held && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let done = (full.node.with_replica(|r| r.len()) >= held).then(|| started.elapsed());
    full.stop().await;
    done
}

/// Publishes `message` on the namespace's topic from `swarm`, driving it until gossipsub takes
/// it (its queues may be full).
async fn publish(swarm: &mut libp2p::Swarm<libp2p::gossipsub::Behaviour>, message: Vec<u8>) {
    let topic = IdentTopic::new("warpnet/stats/2/mainnet");
    for _ in 0..200 {
        if swarm.behaviour_mut().publish(topic.clone(), message.clone()).is_ok() {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_millis(5), swarm.select_next_some()).await;
    }
}

/// Drives `swarm` until `deadline`.
async fn drive<B: libp2p::swarm::NetworkBehaviour>(
    swarm: &mut libp2p::Swarm<B>,
    deadline: Instant,
) {
    while Instant::now() < deadline
        && tokio::time::timeout_at(deadline, swarm.select_next_some()).await.is_ok()
    {}
}

/// `leaves` shown at `indices` under `leaf_count`, signed by `identity` (generation 7)
/// whatever root that makes.
fn signed_as(identity: &Identity, leaves: &[Leaf], indices: &[u32], leaf_count: u32) -> Sealed {
    let hashes: Vec<Hash> = leaves.iter().map(Leaf::hash).collect();
    let tree = Tree::build(&hashes).expect("a tree");
    let proof = tree.prove(indices).expect("known");
    let present: Vec<(u32, Hash)> = indices.iter().map(|&i| (i, hashes[i as usize])).collect();
    let claimed = Tree::from_proof(leaf_count, &present, &proof).expect("fits");
    let writer = Writer { node: identity.node_id(), generation: Generation([7; 16]) };
    let payload = seal_payload(&namespace(), &writer, leaf_count, &claimed.root());
    let signature = identity.to_libp2p().sign(&payload).expect("signed");
    Sealed {
        writer,
        identity: proof_of(identity, writer.generation),
        leaf_count,
        signature: Signature(signature.try_into().expect("64 bytes")),
        leaves: indices.iter().map(|&i| (i, leaves[i as usize].clone())).collect(),
        proof,
    }
}

/// Every 100 ms, one message holding a tree of four fresh likes shown as two seals of one
/// root: its first two leaves under a leaf count of three (the third leaf's hash being the
/// node above the last two), its last two under four.
pub(crate) async fn two_leaf_counts(tcp: &Multiaddr, deadline: Instant) {
    let identity = Identity::from_secret([7; 32]);
    let mut swarm = gossip_at(address(1));
    swarm.dial(tcp.clone()).expect("dials");
    await_subscriber(&mut swarm).await;
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let leaves: Vec<Leaf> = (0..4)
            .map(|i| Leaf {
                tweet: tweet(&format!("split-{n}-{i}")),
                stat: StatKind::Likes,
                counter: PnCounter::new(1, 0),
            })
            .collect();
        let sealed = vec![
            signed_as(&identity, &leaves, &[0, 1], 3),
            signed_as(&identity, &leaves, &[2, 3], 4),
        ];
        publish(
            &mut swarm,
            SealedBatch { namespace: namespace(), sealed }.encode().expect("fits a message"),
        )
        .await;
        let next = Instant::now() + Duration::from_millis(100);
        drive(&mut swarm, next.min(deadline)).await;
    }
}

/// Messages of 8,192 one-leaf seals (about 650 KB) by a writer without an identity proof,
/// from fresh peer ids at 3 addresses, a new peer id every three seconds, as fast as they are
/// taken.
pub(crate) async fn unproven_flood(tcp: &Multiaddr, deadline: Instant) {
    let identity = Identity::from_secret([9; 32]);
    let generation = Generation([9; 16]);
    let writer = Writer { node: identity.node_id(), generation };
    let nonce = (0..).find(|&n| {
        !IdentityProof { nonce: n }.holds(&namespace(), &writer, Difficulty(DIFFICULTY))
    });
    let unproven = IdentityProof { nonce: nonce.expect("some nonce fails") };
    let message = |m: usize| {
        let sealed: Vec<Sealed> = (0..8192)
            .map(|i| {
                let leaf = Leaf {
                    tweet: tweet(&format!("unproven-{m}-{i}")),
                    stat: StatKind::Likes,
                    counter: PnCounter::new(1, 0),
                };
                let (seal, tree) = warpnet_stats::seal::seal_leaves(
                    &identity,
                    &namespace(),
                    generation,
                    std::slice::from_ref(&leaf),
                )
                .expect("sealed");
                Sealed::of(&seal, unproven, &tree, vec![(0, leaf)]).expect("known")
            })
            .collect();
        SealedBatch { namespace: namespace(), sealed }.encode().expect("fits a message")
    };
    let messages: Vec<Vec<u8>> = (0..3).map(message).collect();
    let floods = (0..3u8).map(|a| {
        let (tcp, messages) = (tcp.clone(), messages.clone());
        tokio::task::spawn_local(async move {
            // A fresh peer id every three seconds, publishing as fast as it is let.
            while Instant::now() < deadline {
                let mut swarm = gossip_at(address(2 + a));
                if swarm.dial(tcp.clone()).is_err() {
                    continue;
                }
                let until = (Instant::now() + Duration::from_secs(3)).min(deadline);
                if tokio::time::timeout_at(until, await_subscriber(&mut swarm)).await.is_err() {
                    continue;
                }
                while Instant::now() < until {
                    for message in &messages {
                        publish(&mut swarm, message.clone()).await;
                    }
                    // Sent as the connection takes them.
                    drive(&mut swarm, (Instant::now() + Duration::from_millis(20)).min(until))
                        .await;
                }
            }
        })
    });
    for flood in floods.collect::<Vec<_>>() {
        let _ = flood.await;
    }
}

/// A framed request-response client at `source` sending `in_flight` of `requests` (in turn) to
/// the edge node at `tcp` once connected, and (`again`) another each time one is answered or
/// fails, dialling again (after 100 ms) when hung up on, until `deadline`; it answers any
/// request it gets with `Done` (a push, for a light client).
pub(crate) async fn keep_asking(
    source: Ipv4Addr,
    protocol: &'static str,
    tcp: &Multiaddr,
    requests: Vec<Vec<u8>>,
    (in_flight, again): (usize, bool),
    deadline: Instant,
) {
    let mut swarm = frames_at(source, protocol);
    let _ = swarm.dial(tcp.clone());
    let done = LightResponse::Done.encode(&namespace());
    let mut next = requests.iter().cycle();
    let mut connected = false;
    while Instant::now() < deadline {
        let Ok(event) = tokio::time::timeout_at(deadline, swarm.select_next_some()).await else {
            break;
        };
        let ask: Option<(PeerId, usize)> =
            match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    connected = true;
                    Some((peer_id, in_flight))
                }
                SwarmEvent::ConnectionClosed { num_established: 0, .. } => {
                    connected = false;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ = swarm.dial(tcp.clone());
                    None
                }
                SwarmEvent::Behaviour(request_response::Event::Message {
                    peer,
                    message: Message::Request { channel, .. },
                    ..
                }) => {
                    let _ = (swarm.behaviour_mut().send_response(channel, done.clone()), peer);
                    None
                }
                SwarmEvent::Behaviour(request_response::Event::Message { peer, .. })
                | SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    peer, ..
                }) if again && connected => Some((peer, 1)),
                _ => None,
            };
        if let Some((peer, count)) = ask {
            for _ in 0..count {
                if let Some(request) = next.next() {
                    swarm.behaviour_mut().send_request(&peer, request.clone());
                }
            }
        }
    }
}

/// One connection keeping 8 catch-up `Children` requests (every node of the tree's last inner
/// level) in flight.
pub(crate) async fn answer_hog(tcp: &Multiaddr, deadline: Instant) {
    let children = SyncRequest::Children { level: 2, indices: (0..256).collect() };
    let requests = vec![children.encode(&namespace())];
    keep_asking(address(5), "/warpnet/stats-sync/2", tcp, requests, (8, true), deadline).await;
}

/// 256 connections from 5 addresses, each watching 4,096 tweets the edge node does not hold
/// (128-byte ids), then holding on.
pub(crate) async fn unknown_watches(tcp: &Multiaddr, deadline: Instant) {
    let clients = (0..256u32).map(|c| {
        let tcp = tcp.clone();
        let requests: Vec<Vec<u8>> = (0..4u32)
            .map(|r| {
                let tweets = (0..1024u32).map(|i| {
                    let id = format!("{c:08}-{r}-{i:06}-{}", "x".repeat(110));
                    (tweet(&id[..128]), 0)
                });
                let watch = LightRequest::Watch {
                    node: None,
                    generation: Generation([c as u8; 16]),
                    tweets: tweets.collect(),
                };
                watch.encode(&namespace())
            })
            .collect();
        tokio::task::spawn_local(async move {
            let mut swarm = frames_at(address(10 + (c % 5) as u8), "/warpnet/stats-light/1");
            let _ = swarm.dial(tcp);
            while let Ok(event) = tokio::time::timeout_at(deadline, swarm.select_next_some()).await
            {
                if Instant::now() >= deadline {
                    break;
                }
                if let SwarmEvent::ConnectionEstablished { peer_id, .. } = event {
                    for request in &requests {
                        swarm.behaviour_mut().send_request(&peer_id, request.clone());
                    }
                }
            }
        })
    });
    for client in clients.collect::<Vec<_>>() {
        let _ = client.await;
    }
}

/// 64 light connections (from 4 addresses) watching the 64 popular tweets, while one writer
/// bumps a view on each of them every 100 ms: each bump a new tally per tweet to push.
pub(crate) async fn push_storm(tcp: &Multiaddr, deadline: Instant) {
    let watch = LightRequest::Watch {
        node: None,
        generation: Generation([1; 16]),
        tweets: ids("pop", POPULAR).into_iter().map(|t| (t, 0)).collect(),
    }
    .encode(&namespace());
    let watchers: Vec<_> = (0..64u8)
        .map(|c| {
            let (tcp, watch) = (tcp.clone(), watch.clone());
            tokio::task::spawn_local(async move {
                let light = "/warpnet/stats-light/1";
                keep_asking(address(20 + c % 4), light, &tcp, vec![watch], (1, false), deadline)
                    .await;
            })
        })
        .collect();
    let mut bumper = writer(4_000);
    let mut swarm = gossip_at(address(25));
    swarm.dial(tcp.clone()).expect("dials");
    await_subscriber(&mut swarm).await;
    let popular = ids("pop", POPULAR);
    while Instant::now() < deadline {
        let sealed = bumped(&mut bumper, &popular, StatKind::Views);
        publish(
            &mut swarm,
            SealedBatch { namespace: namespace(), sealed }.encode().expect("fits a message"),
        )
        .await;
        let next = Instant::now() + Duration::from_millis(100);
        drive(&mut swarm, next.min(deadline)).await;
    }
    for watcher in watchers {
        let _ = watcher.await;
    }
}

/// One connection asking for the page of the large tweet's writers past its last, 8 at once.
pub(crate) async fn contributions_scan(tcp: &Multiaddr, deadline: Instant) {
    let past = LightRequest::Contributions { tweet: tweet("large"), after: u64::MAX - 1 };
    let requests = vec![past.encode(&namespace())];
    keep_asking(address(30), "/warpnet/stats-light/1", tcp, requests, (8, true), deadline).await;
}

/// One minted writer sending new counters on 128-byte tweet ids, 2,000 to a message, as fast
/// as the edge node takes them (its storage quota and budget bound what it keeps).
pub(crate) async fn writer_storage(tcp: &Multiaddr, deadline: Instant) {
    let mut filler = writer(5_000);
    let mut swarm = gossip_at(address(31));
    swarm.dial(tcp.clone()).expect("dials");
    await_subscriber(&mut swarm).await;
    let mut n = 0;
    while Instant::now() < deadline {
        let tweets: Vec<TweetId> = (0..2000)
            .map(|i| {
                n += 1;
                let id = format!("{n:012}-{i:04}-{}", "y".repeat(120));
                tweet(&id[..128])
            })
            .collect();
        let sealed = bumped(&mut filler, &tweets, StatKind::Views);
        publish(
            &mut swarm,
            SealedBatch { namespace: namespace(), sealed }.encode().expect("fits a message"),
        )
        .await;
        let next = Instant::now() + Duration::from_millis(250);
        drive(&mut swarm, next.min(deadline)).await;
    }
}

/// A TCP connection to `http` from `source` (plain sockets: HTTP).
fn http_from(source: Ipv4Addr, http: SocketAddr) -> Option<std::net::TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.set_recv_buffer_size(4096).ok()?;
        socket.bind(SocketAddr::from((source, 0))).ok()?;
        let stream = socket.connect(http).await.ok()?;
        let stream = stream.into_std().ok()?;
        stream.set_nonblocking(false).ok()?;
        Some(stream)
    })
}

/// 300 clients from 20 addresses sending their request headers a byte a second, reconnecting
/// when hung up on.
pub(crate) fn http_slowloris(http: &str, deadline: std::time::Instant) {
    let http: SocketAddr = http.parse().expect("host:port");
    let mut clients: Vec<Option<std::net::TcpStream>> = Vec::new();
    while std::time::Instant::now() < deadline {
        clients.resize_with(300, || None);
        for (n, client) in clients.iter_mut().enumerate() {
            let fresh = client.is_none();
            let stream = client.get_or_insert_with(|| {
                http_from(address(40 + (n % 20) as u8), http).expect("connects")
            });
            let byte: &[u8] = if fresh { b"GET /bootstrap.json HTTP/1.1\r\n" } else { b"X" };
            if stream.write_all(byte).is_err() {
                *client = None;
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// 300 clients from 20 addresses each asking for a 3 MB file and never reading, reconnecting
/// when hung up on.
pub(crate) fn http_slow_readers(http: &str, deadline: std::time::Instant) {
    let http_addr: SocketAddr = http.parse().expect("host:port");
    let mut clients: Vec<Option<std::net::TcpStream>> = Vec::new();
    while std::time::Instant::now() < deadline {
        clients.resize_with(300, || None);
        for (n, client) in clients.iter_mut().enumerate() {
            if client.is_some() {
                continue;
            }
            if let Some(mut stream) = http_from(address(60 + (n % 20) as u8), http_addr) {
                let _ = write!(stream, "GET /big.bin HTTP/1.1\r\nHost: {http}\r\n\r\n");
                *client = Some(stream);
            }
        }
        // Hung-up connections are noticed (and replaced) when a read finds their end.
        for client in clients.iter_mut() {
            if let Some(stream) = client {
                let _ = stream.set_nonblocking(true);
                let mut byte = [0; 1];
                if let Ok(0) = stream.read(&mut byte) {
                    *client = None;
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// 62 connections of fresh identities from each of 66 addresses (4,092), held.
pub(crate) async fn connections_from_many(tcp: &Multiaddr, deadline: Instant) {
    let mut held = Vec::new();
    for a in 0..66u8 {
        for _ in 0..62 {
            let mut swarm = swarm_at(address(100 + a), |_| libp2p::swarm::dummy::Behaviour);
            let _ = swarm.dial(tcp.clone());
            held.push(tokio::task::spawn_local(async move { drive(&mut swarm, deadline).await }));
        }
    }
    for swarm in held {
        let _ = swarm.await;
    }
}

/// Waits until `held` counters are at the edge node, as its metrics say.
pub(crate) async fn until_held(edge: &mut super::measure::Edge, held: usize) {
    wait_for("the seeded counters at the edge node", || {
        edge.metric("gossip_entries") + edge.metric("synced_entries") >= held as f64
    })
    .await;
}
