//! Gossip through one edge node with 50 connected peers (criterion, native, loopback TCP):
//! `cargo bench --bench gossip`. Each iteration one peer likes 100 tweets at once; it ends when
//! every other peer holds all 100 likes. Throughput is in entries delivered (100 x 49).

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use criterion::{Criterion, Throughput};
    use futures::channel::oneshot;
    use tokio::task::LocalSet;
    use warpnet_stats::{
        Action, Difficulty, MemoryStore, Namespace, Node, Peer, PeerConfig, PeerHandle, Rules,
        TweetId, UserId,
    };

    const PEERS: usize = 50;
    const LIKES: usize = 100;

    struct Running {
        node: Rc<Node<MemoryStore>>,
        handle: PeerHandle,
        _stop: oneshot::Sender<()>,
    }

    async fn start(listen: bool) -> Running {
        let namespace = Namespace::new("bench").expect("namespace");
        // Identity proofs that cost nothing to mint: the measurement is of gossip.
        let rules = Rules { difficulty: Difficulty(0), ..Rules::DEFAULT };
        let node = Rc::new(Node::open(namespace, rules, MemoryStore::new()).await.expect("opens"));
        // No periodic catch-up during the measurement: what arrives, arrives by gossip.
        let config = PeerConfig { sync_interval: Duration::from_secs(3600), ..Default::default() };
        let mut peer = Peer::new(node.clone(), config).await.expect("swarm");
        if listen {
            peer.listen("/ip4/127.0.0.1/tcp/0".parse().expect("address")).expect("listens");
        }
        let handle = peer.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::task::spawn_local(peer.run(async move {
            let _ = stopped.await;
        }));
        Running { node, handle, _stop: stop }
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub(super) fn benches() {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let local = LocalSet::new();
        let (edge, peers) = local.block_on(&runtime, async {
            let edge = start(true).await;
            until("the edge node to listen", || !edge.handle.listen_addrs().is_empty()).await;
            let address = edge.handle.listen_addrs()[0].clone();
            let mut peers = Vec::new();
            for _ in 0..PEERS {
                let peer = start(false).await;
                peer.handle.keep_connected(address.clone());
                peers.push(peer);
            }
            until("50 connections", || edge.handle.peers().len() == PEERS).await;
            // Let the meshes form (a few heartbeats), then warm up: a like from each peer
            // reaches every other one.
            tokio::time::sleep(Duration::from_secs(3)).await;
            for (i, peer) in peers.iter().enumerate() {
                let user = UserId::new(format!("warm{i}")).expect("user");
                peer.node
                    .submit(TweetId::new("warm").expect("t"), Action::Like(user))
                    .await
                    .expect("like");
            }
            let warm = TweetId::new("warm").expect("t");
            let deadline = Instant::now() + Duration::from_secs(60);
            while !peers.iter().all(|p| p.node.stats(&warm).likes == PEERS as u64) {
                let counts: Vec<u64> = peers.iter().map(|p| p.node.stats(&warm).likes).collect();
                assert!(
                    Instant::now() < deadline,
                    "warm-up likes per peer: {counts:?}; edge {}; {:?}; edge {:?}",
                    edge.node.stats(&warm).likes,
                    peers[0].handle.stats(),
                    edge.handle.stats()
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (edge, peers)
        });

        let mut c = Criterion::default().configure_from_args();
        let mut group = c.benchmark_group("gossip");
        group.sample_size(10);
        group.throughput(Throughput::Elements((LIKES * (PEERS - 1)) as u64));
        let mut round = 0usize;
        group.bench_function("100_likes_to_49_peers_via_edge", |b| {
            b.iter_custom(|iters| {
                local.block_on(&runtime, async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        round += 1;
                        let tweets: Vec<TweetId> = (0..LIKES)
                            .map(|i| TweetId::new(format!("r{round}-{i}")).expect("t"))
                            .collect();
                        let author = &peers[round % PEERS];
                        let start = Instant::now();
                        let likes = tweets.iter().map(|t| {
                            author
                                .node
                                .submit(t.clone(), Action::Like(UserId::new("u").expect("u")))
                        });
                        futures::future::join_all(likes).await;
                        let last = tweets.last().expect("tweets");
                        until("every peer to hold the likes", || {
                            peers.iter().all(|p| p.node.stats(last).likes == 1)
                                && peers
                                    .iter()
                                    .all(|p| tweets.iter().all(|t| p.node.stats(t).likes == 1))
                        })
                        .await;
                        total += start.elapsed();
                    }
                    total
                })
            })
        });
        group.finish();
        drop((edge, peers));
    }
}
