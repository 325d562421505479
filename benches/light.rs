//! Light nodes served by an edge node (real libp2p on loopback WebSocket, in one process):
//! `cargo bench --bench light` (scripts/bench --light). A fresh light node watching 50 tweets of
//! an edge node holding 1,000,000 entries (100,000 tweets x 10 writers), and of one holding 50
//! tweets x 10,000 writers (tallies; one checked in full); what it receives while 1,000 likes a
//! second land on tweets it does not watch, and how fast likes on its own reach it; a light
//! node that watched 100,000 tweets with maxTweets 5,000: what it holds and how fast it reopens
//! (redb on disk). Figures are printed; medians of several runs go in docs/benchmarks.md.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod common;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    match std::env::var_os("LIGHT_STORES") {
        // The edge node stores of the browser benchmark (benches/light.mjs), made once.
        Some(dir) => runtime.block_on(native::prepare_stores(dir.into())),
        None => tokio::task::LocalSet::new().block_on(&runtime, native::run(filter)),
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::collections::BTreeSet;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use futures::channel::oneshot;
    use warpnet_stats::{
        Action, MemoryStore, Node, Peer, PeerConfig, PeerHandle, RedbStore, StatKind, Store,
        TweetId, UserId, seal::Sealed,
    };

    use super::common::{RULES, namespace, replica, tweet};

    struct Running<S: Store> {
        node: Rc<Node<S>>,
        handle: PeerHandle,
        _stop: oneshot::Sender<()>,
    }

    async fn start<S: Store + 'static>(node: Node<S>, listen: bool, light: bool) -> Running<S> {
        let node = Rc::new(node);
        let config = PeerConfig { light, ..PeerConfig::default() };
        let mut peer = Peer::new(node.clone(), config).await.expect("swarm");
        if listen {
            peer.listen("/ip4/127.0.0.1/tcp/0/ws".parse().expect("address")).expect("listens");
        }
        let handle = peer.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::task::spawn_local(peer.run(async move {
            let _ = stopped.await;
        }));
        if listen {
            while handle.listen_addrs().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Running { node, handle, _stop: stop }
    }

    async fn open_memory() -> Node<MemoryStore> {
        Node::open(namespace(), RULES, MemoryStore::new()).await.expect("opens")
    }

    /// Polls `done` every millisecond; panics after a minute.
    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// `writers` writers (seeds from `first`); writer `w` likes every tweet `t` of `tweets`
    /// with `likes_it(w, t)`, sealing its counters 20 at a time as a node publishing its
    /// batches would.
    fn likes(
        first: u64,
        writers: u64,
        tweets: &[TweetId],
        likes_it: impl Fn(u64, usize) -> bool,
    ) -> Vec<Sealed> {
        let mut sealed = Vec::new();
        for w in 0..writers {
            let mut writer = replica(first + w);
            let keys: Vec<_> = (0..tweets.len())
                .filter(|&t| likes_it(w, t))
                .map(|t| writer.increment(&tweets[t], StatKind::Likes).expect("ok").key)
                .collect();
            for chunk in keys.chunks(20) {
                sealed.extend(writer.sealed(chunk));
            }
        }
        sealed
    }

    /// A fresh light node connects to `edge` and watches `watched`; returns it once every one
    /// shows what the edge node holds, with the time that took from its dial and the bytes it
    /// received.
    async fn watch_fresh(
        edge: &Running<MemoryStore>,
        watched: &[TweetId],
        verified: bool,
    ) -> (Running<MemoryStore>, Duration, u64) {
        let node = open_memory().await;
        node.hold_at_most(5000).await.expect("stored");
        let light = start(node, false, true).await;
        let started = Instant::now();
        light.handle.keep_connected(edge.handle.listen_addrs()[0].clone());
        light.node.watch(watched).await.expect("stored");
        light.handle.watch(watched);
        until("a connection", || !light.handle.peers().is_empty()).await;
        let connected = started.elapsed();
        until("the watched counts", || {
            watched.iter().all(|t| {
                let shown = light.node.shown(t);
                shown.stats == edge.node.stats(t) && shown.verified == verified
            })
        })
        .await;
        let took = started.elapsed();
        let bytes = light.handle.stats().received_bytes;
        println!("  (connected {} ms after the dial)", connected.as_millis());
        (light, took, bytes)
    }

    /// Folds the edge node's journal into its buckets and builds its catch-up digest tree, as
    /// a running edge node has done after its first catch-ups (both are kept up to date
    /// after): the light node meets a warm edge node, not one still settling its load.
    async fn warm(edge: &Running<MemoryStore>) {
        edge.node.compact().await.expect("folded");
        edge.node.with_replica_mut(|r| r.sync_digest());
    }

    fn spread(count: usize, of: usize) -> Vec<TweetId> {
        (0..count).map(|i| tweet(i * 1999 % of)).collect()
    }

    pub(crate) async fn run(filter: Vec<String>) {
        let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f));
        if wanted("million") || wanted("unwatched") {
            million_and_unwatched(wanted("unwatched")).await;
        }
        if wanted("popular") {
            popular().await;
        }
        if wanted("bounded") {
            bounded().await;
        }
    }

    /// 100,000 tweets x 10 writers at the edge node; a fresh light node watches 50; then 1,000
    /// likes a second on tweets it does not watch for 10 s, with 10 a second on its own.
    async fn million_and_unwatched(unwatched: bool) {
        let tweets: Vec<TweetId> = (0..100_000).map(tweet).collect();
        let loading = Instant::now();
        // 1,000 writers; writer w likes the tweets t with t % 100 == w % 100: 10 per tweet.
        let entries = likes(1, 1000, &tweets, |w, t| t % 100 == (w % 100) as usize);
        let edge = start(open_memory().await, true, false).await;
        edge.node.merge(entries).await.expect("merged");
        warm(&edge).await;
        let held = edge.node.with_replica(|r| r.len());
        println!("million: edge node holds {held} entries (loaded in {:?})", loading.elapsed());
        let watched = spread(50, 100_000);
        let (light, took, bytes) = watch_fresh(&edge, &watched, true).await;
        println!(
            "million: 50 watched tweets shown, exact and verified, {} ms after the dial, {} bytes received",
            took.as_millis(),
            bytes
        );
        if !unwatched {
            return;
        }
        let author = start(open_memory().await, false, false).await;
        author.handle.keep_connected(edge.handle.listen_addrs()[0].clone());
        until("the author connected", || author.handle.stats().syncs_completed >= 2).await;
        let watched_set: BTreeSet<TweetId> = watched.iter().cloned().collect();
        let before = light.handle.stats().received_bytes;
        let start_at = Instant::now();
        let mut latencies = Vec::new();
        let mut pending: Vec<(TweetId, u64, Instant)> = Vec::new();
        let mut n = 0u64;
        let mut samples = 0u64;
        while start_at.elapsed() < Duration::from_secs(10) {
            // Likes on tweets the light node does not watch, 1,000 a second by the clock (what
            // is due since the last round, as one batch).
            let due = start_at.elapsed().as_millis() as u64;
            let mut likes = Vec::new();
            while n < due {
                n += 1;
                let mut t = tweet((n * 7919 % 100_000) as usize);
                if watched_set.contains(&t) {
                    t = tweet(100_000 + n as usize);
                }
                let user = UserId::new(format!("u{n}")).expect("valid");
                likes.push(author.node.submit(t, Action::Like(user)));
            }
            futures::future::join_all(likes).await;
            if samples < due / 100 {
                // One on a watched tweet every 100 ms.
                samples += 1;
                let t = watched[samples as usize % watched.len()].clone();
                let expected = edge.node.stats(&t).likes + 1;
                let user = UserId::new(format!("w{samples}")).expect("valid");
                let sent = Instant::now();
                let _ = author.node.submit(t.clone(), Action::Like(user)).await;
                pending.push((t, expected, sent));
            }
            arrivals(&light, &mut pending, &mut latencies);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        until("the last watched likes", || {
            arrivals(&light, &mut pending, &mut latencies);
            pending.is_empty()
        })
        .await;
        let seconds = start_at.elapsed().as_secs_f64();
        let received = light.handle.stats().received_bytes - before;
        let foreign = light.node.with_replica(|r| {
            let local = r.local_writer();
            r.entries()
                .filter(|e| e.key.writer != local && !watched_set.contains(&e.key.tweet))
                .count()
        });
        latencies.sort();
        let at =
            |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
        println!(
            "unwatched: {} likes in {seconds:.1} s; the light node received {:.0} bytes/s, held {foreign} entries of unwatched tweets; watched likes ({}) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            n,
            received as f64 / seconds,
            latencies.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }

    /// Likes (tweet, count expected, when sent) that reached the light node: their latencies.
    fn arrivals(
        light: &Running<MemoryStore>,
        pending: &mut Vec<(TweetId, u64, Instant)>,
        latencies: &mut Vec<Duration>,
    ) {
        pending.retain(|(t, expected, sent)| {
            let arrived = light.node.shown(t).stats.likes >= *expected;
            if arrived {
                latencies.push(sent.elapsed());
            }
            !arrived
        });
    }

    /// 50 tweets x 10,000 writers: a fresh light node gets their tallies; one is checked.
    async fn popular() {
        let tweets: Vec<TweetId> = (0..50).map(|i| tweet(200_000 + i)).collect();
        let mut entries = Vec::new();
        for w in 0..10_000u64 {
            let mut writer = replica(10_000 + w);
            let keys: Vec<_> = tweets
                .iter()
                .map(|t| writer.increment(t, StatKind::Likes).expect("ok").key)
                .collect();
            entries.extend(writer.sealed(&keys));
        }
        let edge = start(open_memory().await, true, false).await;
        edge.node.merge(entries).await.expect("merged");
        warm(&edge).await;
        let (light, took, bytes) = watch_fresh(&edge, &tweets, false).await;
        println!(
            "popular: 50 tweets of 10,000 writers shown (tallies) {} ms after the dial, {} bytes received",
            took.as_millis(),
            bytes
        );
        let before = light.handle.stats().received_bytes;
        let checking = Instant::now();
        let confirmed = light.handle.verify(tweets[0].clone()).await;
        println!(
            "popular: one tweet checked in full ({:?}) in {} ms, {} bytes received",
            confirmed,
            checking.elapsed().as_millis(),
            light.handle.stats().received_bytes - before
        );
    }

    /// The stores of an edge node (`<dir>/<scenario>/store.redb`, opened with `--namespace
    /// mainnet --difficulty 0`) for the browser benchmark, made here rather than through the
    /// edge node's intake (its allowance takes 2,000 new counters a second from a peer):
    /// `million` (100,000 tweets x 10 writers), `popular` (50 tweets x 10,000 writers) and
    /// `bounded` (100,000 tweets, one like each, from 10 writers). Each is compacted (journal
    /// folded), as a running edge node's store is. Stores already made are kept.
    pub(crate) async fn prepare_stores(dir: std::path::PathBuf) {
        let tweets: Vec<TweetId> = (0..100_000).map(tweet).collect();
        let popular: Vec<TweetId> = (0..50).map(|i| tweet(200_000 + i)).collect();
        type Entries<'a> = Box<dyn Fn() -> Vec<Sealed> + 'a>;
        let scenarios: [(&str, Entries); 3] = [
            ("million", Box::new(|| likes(1, 1000, &tweets, |w, t| t % 100 == (w % 100) as usize))),
            ("popular", Box::new(|| likes(10_000, 10_000, &popular, |_, _| true))),
            ("bounded", Box::new(|| likes(30_000, 10, &tweets, |w, t| t % 10 == w as usize))),
        ];
        for (name, entries) in scenarios {
            let path = dir.join(name).join("store.redb");
            if path.exists() {
                println!("{name}: kept {}", path.display());
                continue;
            }
            let started = Instant::now();
            std::fs::create_dir_all(path.parent().expect("a directory")).expect("created");
            let rules = warpnet_stats::Rules { caps: warpnet_stats::Caps::DEFAULT, ..RULES };
            let partial = path.with_extension("partial");
            let store = RedbStore::open(&partial).expect("opens");
            let node = Node::open(namespace(), rules, store).await.expect("opens");
            // Folded after each merge, as a node folds after each catch-up.
            for chunk in entries().chunks(20_000) {
                node.merge(chunk.to_vec()).await.expect("merged");
                node.compact().await.expect("folded");
            }
            let held = node.with_replica(|r| r.len());
            drop(node);
            std::fs::rename(&partial, &path).expect("renamed");
            println!("{name}: {held} entries in {} ({:?})", path.display(), started.elapsed());
        }
    }

    /// A light node (redb on disk) that watched 100,000 distinct tweets, 250 at a time, each
    /// with one other writer's like, with maxTweets 5,000: what it holds, how fast it reopens.
    async fn bounded() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("light.redb");
        let tweets: Vec<TweetId> = (0..100_000).map(tweet).collect();
        let mut writer = replica(7);
        {
            let node = Node::open(namespace(), RULES, RedbStore::open(&path).expect("opens"))
                .await
                .expect("opens");
            node.hold_at_most(5000).await.expect("stored");
            let started = Instant::now();
            for batch in tweets.chunks(250) {
                node.watch(batch).await.expect("stored");
                let keys: Vec<_> = batch
                    .iter()
                    .map(|t| writer.increment(t, StatKind::Likes).expect("ok").key)
                    .collect();
                node.merge(writer.sealed(&keys)).await.expect("merged");
                node.unwatch(batch);
            }
            println!(
                "bounded: 100,000 tweets watched 250 at a time in {:.1} s; holds {:?} tweets",
                started.elapsed().as_secs_f64(),
                node.held_tweets()
            );
        }
        let opening = Instant::now();
        let node = Node::open(namespace(), RULES, RedbStore::open(&path).expect("opens"))
            .await
            .expect("opens");
        node.hold_at_most(5000).await.expect("stored");
        let took = opening.elapsed();
        let held: BTreeSet<TweetId> =
            node.with_replica(|r| r.entries().map(|e| e.key.tweet).collect());
        println!(
            "bounded: reopened in {} ms holding {} tweets' foreign entries ({} entries)",
            took.as_millis(),
            held.len(),
            node.with_replica(|r| r.len())
        );
    }
}
