//! One edge node process serving 1,000 light clients (library light nodes in this process, on
//! loopback WebSocket), each watching 50 random tweets of 10,000: the edge node's memory and
//! CPU per client, idle (pings, the edge node's periodic catch-ups with each) and while 100 likes
//! a second land on random tweets (pushed to their watchers). `cargo bench --bench hostile --
//! light-clients` (scripts/bench --light runs it after the light bench).

use std::time::{Duration, Instant};

use warpnet_stats::{Action, MemoryStore, PeerConfig, TweetId};

use super::measure::{Edge, Sampler, rss_mib};
use crate::common::net::{Running, quiet, wait_for};
use crate::common::{tweet, user};

/// How many light clients.
pub(crate) const CLIENTS: usize = 1000;
/// The tweets they watch among, each client 50 of them.
const TWEETS: usize = 10_000;
const WATCHED: usize = 50;
/// How long each measured window runs.
const WINDOW: Duration = Duration::from_secs(10);

fn light() -> PeerConfig {
    PeerConfig { light: true, ..quiet() }
}

/// Client `c`'s 50 tweets (a fixed pseudo-random pick).
fn watched(c: usize) -> Vec<TweetId> {
    (0..WATCHED).map(|i| tweet(&format!("c-{}", (c * 7919 + i * 104_729) % TWEETS))).collect()
}

/// Runs the scenario against `edge` (started with room for the clients' connections).
pub(crate) async fn run(edge: &mut Edge) {
    let (ws, http) = (edge.address("ws"), edge.http());
    let author = Running::start_with(MemoryStore::new(), &[], quiet()).await;
    author.handle.keep_connected(ws.clone());
    let likes: Vec<_> = (0..TWEETS).map(|i| (tweet(&format!("c-{i}")), Action::View)).collect();
    author.node.act(&likes).await.expect("stored");
    wait_for("the author's tweets at the edge node", || {
        edge.metric("gossip_entries") + edge.metric("synced_entries") >= TWEETS as f64
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_mib(edge.pid());

    let started = Instant::now();
    let mut clients = Vec::with_capacity(CLIENTS);
    for c in 0..CLIENTS {
        let client = Running::start_with(MemoryStore::new(), &[], light()).await;
        client.handle.keep_connected(ws.clone());
        client.handle.watch(&watched(c));
        clients.push(client);
        if c % 50 == 49 {
            // In waves: the edge node takes at most 128 handshakes at once.
            let n = c + 1;
            wait_for("a wave of clients", || edge.metric("watches") >= (n * WATCHED) as f64).await;
        }
    }
    println!(
        "light clients: {CLIENTS} connected, {} watches kept, in {:.1} s",
        edge.metric("watches"),
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_mib(edge.pid());

    let idle = Sampler::start(edge.pid(), &http);
    tokio::time::sleep(WINDOW).await;
    let idle = idle.stop();

    let pushes = edge.metric("light_pushes");
    let loaded = Sampler::start(edge.pid(), &http);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < WINDOW {
        let due = start.elapsed().as_millis() as usize / 10;
        let mut batch = Vec::new();
        while n < due {
            n += 1;
            let t = tweet(&format!("c-{}", n * 31 % TWEETS));
            batch.push((t, Action::Like(user(&format!("u{n}")))));
        }
        author.node.act(&batch).await.expect("stored");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let loaded = loaded.stop();
    let pushed = edge.metric("light_pushes") - pushes;
    let per_client = |mib: f64| mib * 1024.0 / CLIENTS as f64;
    println!(
        "light clients: edge node RSS {before:.0} MiB before them, {after:.0} MiB with them: {:.0} KiB per client",
        per_client(after - before)
    );
    println!(
        "light clients: edge node CPU {:.1} % of a core idle ({:.3} % per client), {:.1} % under {n} likes in {} s ({:.3} % per client; {pushed} pushes)",
        idle.cpu * 100.0,
        idle.cpu * 100.0 / CLIENTS as f64,
        loaded.cpu * 100.0,
        WINDOW.as_secs(),
        loaded.cpu * 100.0 / CLIENTS as f64,
    );
    for client in clients {
        client.stop().await;
    }
    author.stop().await;
}
