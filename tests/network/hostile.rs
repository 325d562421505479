//! Hostile peers on real libp2p connections over loopback, replaying the attacks the trust
//! model answers: writers signing counts out of bounds (inflation, wipe-out), forged stale
//! entries sent through a relay, catch-up answers stuffed with entries nobody asked for, and a
//! writer signing versions that diverge; and the caps on frames, connections and catch-up
//! streams; light requests that do not hold (`hostile/light.rs`). Each time the bound holds, honest
//! nodes are unaffected, and every node converges.
#![cfg(not(target_arch = "wasm32"))]

use super::common;
mod light;

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use common::net::{
    Frames, Running, WAIT, attacker, await_subscriber, config, drive, listening, local, quiet,
    wait_for,
};
use common::*;
use futures::{AsyncRead, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::gossipsub::IdentTopic;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, StreamProtocol, SwarmBuilder, noise, ping, tcp, yamux};
use warpnet_stats::{
    Action, Caps, ConnectionCaps, Difficulty, DropReason, EntryKey, IdentityProof, MemoryStore,
    Minter, PeerConfig, PnCounter, Rules, StatKind, Writer,
    seal::{Sealed, Signature},
    sync::{MAX_RESPONSE_ENTRIES, SyncRequest, SyncResponse},
    wire::SealedBatch,
};

/// A seal over one counter of its choosing by the writer whose secret key is `secret`: what a
/// hostile node can make of any counter it likes.
fn signed_by(secret: [u8; 32], tweet_id: &str, stat: StatKind, counter: PnCounter) -> Sealed {
    sealed_by(secret, &[(tweet_id, stat, counter)])
}

fn batch(sealed: Vec<Sealed>) -> Vec<u8> {
    SealedBatch { namespace: namespace(), sealed }.encode().expect("fits a message")
}

#[test]
fn inflation_and_wipe_out_are_rejected_and_a_valid_identity_adds_at_most_the_cap() {
    local(async {
        let edge = Running::start(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"]).await;
        let friend = Running::start(MemoryStore::new(), &[]).await;
        friend.handle.dial(edge.address("tcp"));
        let likes: Vec<_> =
            ["ann", "bob", "cy"].map(|u| (tweet("t"), Action::Like(user(u)))).into();
        friend.node.act(&likes).await.expect("commits");
        wait_for("the honest likes", || edge.node.stats(&tweet("t")).likes == 3).await;

        let mut evil = attacker().await;
        evil.dial(edge.address("tcp")).expect("dials");
        await_subscriber(&mut evil).await;
        let topic = IdentTopic::new("warpnet/stats/2/mainnet");
        let attacks = [
            PnCounter::new(1_000_000_000_000, 0),
            PnCounter::new(u64::MAX, 0),
            PnCounter::new(0, u64::MAX), // would wipe out everyone's likes
        ];
        for (i, counter) in attacks.into_iter().enumerate() {
            let entry = signed_by([100 + i as u8; 32], "t", StatKind::Likes, counter);
            evil.behaviour_mut().publish(topic.clone(), batch(vec![entry])).expect("published");
        }
        let edge_stats = edge.handle.clone();
        drive(&mut evil, "the attacks refused", |_| {
            edge_stats.stats().dropped(DropReason::OutOfBounds) == 3
        })
        .await;
        // One more identity, at exactly the cap: valid, and all a valid identity can add.
        let cap = Caps::DEFAULT.likes;
        let at_cap = signed_by([110; 32], "t", StatKind::Likes, PnCounter::new(cap, 0));
        evil.behaviour_mut().publish(topic.clone(), batch(vec![at_cap])).expect("published");
        let (edge_node, friend_node) = (edge.node.clone(), friend.node.clone());
        drive(&mut evil, "the capped entry everywhere", |_| {
            edge_node.stats(&tweet("t")).likes == 3 + cap
                && friend_node.stats(&tweet("t")).likes == 3 + cap
        })
        .await;
        assert_eq!(edge.handle.stats().dropped(DropReason::OutOfBounds), 3);
        assert_eq!(friend.handle.stats().dropped(DropReason::OutOfBounds), 0, "never relayed");
        let writers = edge.node.with_replica_mut(|r| r.contributions(&tweet("t")).len());
        assert_eq!(writers, 2, "nothing of the attacks kept");
        friend.stop().await;
        edge.stop().await;
    });
}

#[test]
fn forged_stale_entries_are_not_relayed_and_honest_gossip_keeps_flowing() {
    local(async {
        let edge = Running::start(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"]).await;
        let writer = Running::start(MemoryStore::new(), &[]).await;
        let lagging = Running::start_with(MemoryStore::new(), &[], quiet()).await;
        writer.handle.dial(edge.address("tcp"));
        lagging.handle.dial(edge.address("tcp"));
        let views: Vec<_> = (0..5).map(|_| (tweet("s"), Action::View)).collect();
        writer.node.act(&views).await.expect("commits");
        wait_for("the views at the lagging node", || lagging.node.stats(&tweet("s")).views == 5)
            .await;

        // Older versions of the writer's counter, with garbage signatures: stale for the edge
        // node, which must check them all the same and relay none.
        let node = writer.node.node_id();
        let writer_key = EntryKey {
            tweet: tweet("s"),
            stat: StatKind::Views,
            writer: Writer { node, generation: writer.node.generation() },
        };
        let mut evil = attacker().await;
        evil.dial(edge.address("tcp")).expect("dials");
        await_subscriber(&mut evil).await;
        let topic = IdentTopic::new("warpnet/stats/2/mainnet");
        let accepted_before = edge.handle.stats().accepted_messages;
        // Eight: a dozen rejected messages and gossipsub graylists the sender.
        for i in 0..8u8 {
            let counter = PnCounter::new(1 + u64::from(i % 4), 0);
            let mut forged = signed_by([60; 32], "s", StatKind::Views, counter);
            forged.writer = writer_key.writer;
            forged.signature = Signature([i; 64]);
            evil.behaviour_mut().publish(topic.clone(), batch(vec![forged])).expect("published");
        }
        let edge_stats = edge.handle.clone();
        drive(&mut evil, "the forged entries refused", |_| {
            edge_stats.stats().dropped(DropReason::BadSignature) == 8
        })
        .await;
        assert_eq!(edge.handle.stats().accepted_messages, accepted_before, "none accepted");

        // Honest gossip still reaches the lagging node through the edge node, which kept its
        // standing; the lagging node never saw a bad signature.
        for i in 0..10 {
            writer
                .node
                .act(&[(tweet("s"), Action::Like(user(&format!("u{i}"))))])
                .await
                .expect("commits");
        }
        wait_for("the honest likes", || lagging.node.stats(&tweet("s")).likes == 10).await;
        assert_eq!(lagging.handle.stats().dropped(DropReason::BadSignature), 0);
        let stats = lagging.handle.stats();
        assert!(stats.gossip_entries > 1 && stats.synced_entries == 0, "by gossip: {stats:?}");
        lagging.stop().await;
        writer.stop().await;
        edge.stop().await;
    });
}

#[test]
fn identities_without_a_proof_add_nothing_and_each_proof_costs_its_work() {
    local(async {
        // A namespace where an identity costs 2^12 attempts.
        let rules = Rules { difficulty: Difficulty(12), ..Rules::DEFAULT };
        let edge =
            Running::start_ruled(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], config(), rules)
                .await;
        let mut evil = attacker().await;
        evil.dial(edge.address("tcp")).expect("dials");
        await_subscriber(&mut evil).await;
        let topic = IdentTopic::new("warpnet/stats/2/mainnet");
        let cap = Caps::DEFAULT.likes;
        // Six fresh identities, each at the cap, none with a valid proof.
        for i in 0..6u8 {
            let mut entry =
                signed_by([120 + i; 32], "sybil", StatKind::Likes, PnCounter::new(cap, 0));
            entry.identity = (0..)
                .map(|nonce| IdentityProof { nonce })
                .find(|p| !p.holds(&namespace(), &entry.writer, rules.difficulty))
                .expect("most nonces are not proofs");
            evil.behaviour_mut().publish(topic.clone(), batch(vec![entry])).expect("published");
        }
        let edge_stats = edge.handle.clone();
        drive(&mut evil, "the unproven identities refused", |_| {
            edge_stats.stats().dropped(DropReason::NoIdentityProof) == 6
        })
        .await;
        assert_eq!(edge.node.stats(&tweet("sybil")).likes, 0);
        // One identity whose proof was minted (4,096 attempts on average): it counts, up to the cap.
        let mut minted = signed_by([130; 32], "sybil", StatKind::Likes, PnCounter::new(cap, 0));
        let mut minter = Minter::new(&namespace(), &minted.writer, rules.difficulty, 0);
        minted.identity = minter.step(1 << 24).expect("found");
        evil.behaviour_mut().publish(topic.clone(), batch(vec![minted])).expect("published");
        let edge_node = edge.node.clone();
        drive(&mut evil, "the minted identity counted", |_| {
            edge_node.stats(&tweet("sybil")).likes == cap
        })
        .await;
        // The edge node mints its own proof, at the namespace's difficulty, once it has a peer
        // and no catch-up running (it has nothing of its own to publish before).
        let edge_handle = edge.handle.clone();
        drive(&mut evil, "the edge node's own proof", |_| edge_handle.minting().done).await;
        let own = edge.handle.minting();
        assert!(own.done && own.expected == 4096.0, "{own:?}");
        edge.stop().await;
    });
}

#[test]
fn a_writers_divergent_signed_versions_converge_on_every_node() {
    local(async {
        let edge = Running::start(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"]).await;
        let friend = Running::start(MemoryStore::new(), &[]).await;
        friend.handle.dial(edge.address("tcp"));
        // The writer (a node restored from a backup, or a hostile one) signs (50, 10), then
        // (60, 5): neither contains the other, and no signature covers their join (60, 10).
        let mut writer = attacker().await;
        writer.dial(edge.address("tcp")).expect("dials");
        await_subscriber(&mut writer).await;
        let topic = IdentTopic::new("warpnet/stats/2/mainnet");
        for counter in [PnCounter::new(50, 10), PnCounter::new(60, 5)] {
            let version = signed_by([70; 32], "d", StatKind::Likes, counter);
            writer.behaviour_mut().publish(topic.clone(), batch(vec![version])).expect("published");
        }
        let (edge_node, friend_node) = (edge.node.clone(), friend.node.clone());
        drive(&mut writer, "both versions joined at both nodes", |_| {
            edge_node.stats(&tweet("d")).likes == 50 && friend_node.stats(&tweet("d")).likes == 50
        })
        .await;
        // A node that was away catches up from the edge node: it is served both leaves, each
        // under its own seal, and ends with the same state.
        let late = Running::start_with(MemoryStore::new(), &[], quiet()).await;
        late.handle.dial(edge.address("tcp"));
        wait_for("the late node's catch-up", || late.node.stats(&tweet("d")).likes == 50).await;
        let digest =
            |running: &Running<MemoryStore>| running.node.with_replica_mut(|r| r.sync_digest());
        assert_eq!(digest(&late), digest(&edge));
        assert_eq!(digest(&friend), digest(&edge));
        assert_eq!(late.handle.stats().dropped.values().sum::<u64>(), 0);
        late.stop().await;
        friend.stop().await;
        edge.stop().await;
    });
}

#[derive(NetworkBehaviour)]
struct Responder {
    sync: request_response::Behaviour<Frames>,
    ping: ping::Behaviour,
}

/// How many entries a lying responder adds to its answers.
const STUFFED: usize = MAX_RESPONSE_ENTRIES + 4;

#[test]
fn catch_up_answers_stuffed_with_entries_not_asked_for_are_dropped() {
    local(async {
        let mut liar = replica(40);
        liar.increment(&tweet("asked"), StatKind::Likes).expect("within bounds");
        // Valid entries of another writer, more than a response may hold, added to every
        // answer: never asked for by a Fetch, too many for a Range.
        let names: Vec<String> = (0..STUFFED).map(|i| format!("stuffed-{i}")).collect();
        let leaves: Vec<(&str, StatKind, PnCounter)> = names
            .iter()
            .map(|name| (name.as_str(), StatKind::Views, PnCounter::new(1, 0)))
            .collect();
        let stuffing = [sealed_by([7; 32], &leaves)];
        let (mut evil, address) = listening(Responder {
            sync: request_response::Behaviour::new(
                [(StreamProtocol::new("/warpnet/stats-sync/2"), ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
            ping: ping::Behaviour::default(),
        })
        .await;
        let victim = Running::start_with(MemoryStore::new(), &[], quiet()).await;
        victim.handle.dial(address);
        let stats = victim.handle.clone();
        let deadline = tokio::time::Instant::now() + WAIT;
        while stats.stats().dropped(DropReason::Unsolicited) < STUFFED as u64 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no stuffed answer: {:?}",
                stats.stats()
            );
            let event = tokio::select! {
                event = evil.select_next_some() => event,
                () = tokio::time::sleep(Duration::from_millis(10)) => continue,
            };
            let SwarmEvent::Behaviour(ResponderEvent::Sync(request_response::Event::Message {
                message: request_response::Message::Request { request, channel, .. },
                ..
            })) = event
            else {
                continue;
            };
            let (_, asked) = SyncRequest::decode(&request).expect("the victim's request decodes");
            let mut response = asked.answer_from(&mut liar).expect("answered");
            if let SyncResponse::Entries { entries, .. } | SyncResponse::Range { entries, .. } =
                &mut response
            {
                entries.extend(stuffing.iter().cloned());
            }
            let _ = evil.behaviour_mut().sync.send_response(channel, response.encode(&namespace()));
        }
        let after = victim.handle.stats();
        assert!(after.syncs_failed >= 1, "{after:?}");
        assert_eq!(after.syncs_completed, 0, "{after:?}");
        assert_eq!(victim.node.stats(&tweet("stuffed-0")).views, 0);
        assert_eq!(victim.node.stats(&tweet("asked")).likes, 0, "the whole answer is dropped");
        victim.stop().await;
    });
}

/// Opens a WebSocket on `address` (`/ip4/127.0.0.1/tcp/<port>/ws`) by hand, sends the header of
/// one binary frame announcing `announced` bytes and nothing more, and reports whether the
/// node hung up within 5 s.
async fn hangs_up_on_a_frame_of(address: &Multiaddr, announced: u64) -> bool {
    use libp2p::multiaddr::Protocol;
    let port = address.iter().find_map(|p| if let Protocol::Tcp(p) = p { Some(p) } else { None });
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port.expect("a tcp port")))
        .await
        .expect("connects");
    let send = |bytes: Vec<u8>| {
        let stream = &stream;
        async move {
            let mut sent = 0;
            while sent < bytes.len() {
                stream.writable().await.expect("writable");
                sent += stream.try_write(&bytes[sent..]).unwrap_or(0);
            }
        }
    };
    let upgrade = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    send(upgrade.as_bytes().to_vec()).await;
    // A binary frame, masked (as from a client), with a 64-bit length and no payload yet.
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&announced.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    let mut buffer = [0u8; 4096];
    let mut answered = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        let readable = tokio::time::timeout(Duration::from_millis(100), stream.readable()).await;
        if readable.is_ok() {
            match stream.try_read(&mut buffer) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Ok(0) | Err(_) if answered => return true,
                Ok(n) if !answered && n > 0 => {
                    assert!(buffer.starts_with(b"HTTP/1.1 101"), "upgrade refused");
                    answered = true;
                    send(header.clone()).await;
                }
                _ => {}
            }
        }
    }
    false
}

#[test]
fn a_websocket_frame_announcing_more_than_the_wire_limit_is_refused_before_it_is_read() {
    local(async {
        let edge = Running::start(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0/ws"]).await;
        let address = edge.address("ws");
        // A frame just over the wire limit (1 MiB): the node hangs up at once rather than
        // reserve room for it. (libp2p's default would wait for up to 256 MiB.)
        assert!(hangs_up_on_a_frame_of(&address, (1 << 20) + 1).await);
        // One within the limit is waited for (the connection stays up).
        assert!(!hangs_up_on_a_frame_of(&address, 1 << 16).await);
        edge.stop().await;
    });
}

/// Peers that each dial `address` the given number of times and keep what they get, counting
/// their connections up (established, not yet closed) and their dials settled (each
/// established, closed or failed event).
async fn dialling(address: &Multiaddr, dials: &[usize]) -> (Rc<Cell<i32>>, Rc<Cell<usize>>) {
    let (up, settled) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    for &count in dials {
        let mut peer = attacker().await;
        for _ in 0..count {
            peer.dial(address.clone()).expect("dials");
        }
        let (up, settled) = (up.clone(), settled.clone());
        tokio::task::spawn_local(async move {
            loop {
                match peer.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { .. } => up.set(up.get() + 1),
                    SwarmEvent::ConnectionClosed { .. } => up.set(up.get() - 1),
                    SwarmEvent::OutgoingConnectionError { .. } => {}
                    _ => continue,
                }
                settled.set(settled.get() + 1);
            }
        });
    }
    (up, settled)
}

#[test]
fn connections_beyond_the_caps_are_refused() {
    local(async {
        let caps = ConnectionCaps { incoming: 3, pending_incoming: 8, per_peer: 1, per_ip: 64 };
        let config = PeerConfig { connections: caps, ..quiet() };
        let edge = Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], config).await;
        // Five peers dial, one of them twice: what stays up is the cap's worth.
        let (up, settled) = dialling(&edge.address("tcp"), &[2, 1, 1, 1, 1]).await;
        wait_for("every dial settled", || settled.get() >= 6 && up.get() <= 3).await;
        wait_for("three connections kept", || up.get() == 3).await;
        assert_eq!(edge.handle.peers().len(), 3);
        edge.stop().await;
    });
}

#[test]
fn connections_from_one_address_beyond_its_cap_are_refused() {
    local(async {
        // Fresh peer ids cost nothing: four of them from one address, which may hold two.
        let caps = ConnectionCaps { per_ip: 2, ..ConnectionCaps::default() };
        let config = PeerConfig { connections: caps, ..quiet() };
        let edge = Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], config).await;
        let (up, settled) = dialling(&edge.address("tcp"), &[1, 1, 1, 1]).await;
        wait_for("every dial settled", || settled.get() >= 4 && up.get() <= 2).await;
        wait_for("two connections kept", || up.get() == 2).await;
        assert_eq!(edge.handle.peers().len(), 2);
        edge.stop().await;
    });
}

/// The catch-up framing, stalled: a request announces 1 MiB and sends a byte every 50 ms, until
/// the node hangs up on it.
#[derive(Debug, Clone, Copy, Default)]
struct Stalls;

impl request_response::Codec for Stalls {
    type Protocol = StreamProtocol;
    type Request = ();
    type Response = ();

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<()> {
        Err(io::Error::other("a client only"))
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
    ) -> io::Result<()> {
        Err(io::Error::other("never asked"))
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        _: (),
    ) -> io::Result<()> {
        io.write_all(&(1u32 << 20).to_be_bytes()).await?;
        loop {
            io.write_all(&[0]).await?;
            io.flush().await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: (),
    ) -> io::Result<()> {
        Err(io::Error::other("a client only"))
    }
}

#[test]
fn catch_up_streams_beyond_eight_on_one_connection_are_refused_before_they_are_read() {
    local(async {
        let edge =
            Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], quiet()).await;
        let mut client = SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
            .expect("tcp")
            .with_behaviour(|_| {
                request_response::Behaviour::<Stalls>::new(
                    [(StreamProtocol::new("/warpnet/stats-sync/2"), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(120)),
                )
            })
            .expect("behaviour")
            .build();
        client.dial(edge.address("tcp")).expect("dials");
        let (refused, answered) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let (counted, got) = (refused.clone(), answered.clone());
        let (more, mut asked) = futures::channel::mpsc::unbounded::<()>();
        tokio::task::spawn_local(async move {
            let mut edge_id = None;
            loop {
                let event = futures::select! {
                    event = client.select_next_some() => event,
                    _ = asked.select_next_some() => {
                        if let Some(peer) = edge_id {
                            client.behaviour_mut().send_request(&peer, ());
                        }
                        continue;
                    }
                };
                match event {
                    SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                        // Twelve stalled requests at once on the one connection.
                        edge_id = Some(peer_id);
                        for _ in 0..12 {
                            client.behaviour_mut().send_request(&peer_id, ());
                        }
                    }
                    SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. }) => {
                        counted.set(counted.get() + 1)
                    }
                    SwarmEvent::Behaviour(request_response::Event::Message { .. }) => {
                        got.set(got.get() + 1)
                    }
                    _ => {}
                }
            }
        });
        // Eight are held while their requests stall (until the request timeout, 30 s); the
        // four beyond are hung up on at once, and so is a thirteenth asked after them: the
        // eight are still held.
        wait_for("four streams refused", || refused.get() >= 4).await;
        more.unbounded_send(()).expect("asked");
        wait_for("a fifth refused", || refused.get() >= 5).await;
        assert_eq!((refused.get(), answered.get()), (5, 0));
        edge.stop().await;
    });
}
