//! A poisoned digest leaf: more entries in one leaf of the catch-up tree than a response may
//! summarise (32,768), made by grinding tweet ids until their key hashes share their top 12
//! bits. A peer holding them passes them to the edge node; a node already holding half of
//! them then catches up through the edge node, and must complete.

use std::time::{Duration, Instant};

use warpnet_stats::{
    Generation, Identity, MemoryStore, PeerConfig, PnCounter, StatKind, TweetId,
    seal::{Leaf, Sealed, seal_leaves},
};

use crate::common::namespace;
use crate::common::net::Running;

/// Entries ground into one leaf: just over what one response summarises.
pub(crate) const POISON: usize = 33_000;

/// The key hash of a like by `node` (bytes) in `generation` on `tweet`, as the protocol defines
/// it (docs/protocol.md).
fn key_hash(tweet: &str, node: &[u8], generation: &[u8; 16]) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[tweet.len() as u8]);
    hasher.update(tweet.as_bytes());
    hasher.update(&[StatKind::Likes.code(), node.len() as u8]);
    hasher.update(node);
    hasher.update(generation);
    let mut first = [0; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_be_bytes(first)
}

/// `count` tweet ids whose likes by this writer all land in leaf 0, ground on every core.
fn ground(count: usize, node: &[u8], generation: &[u8; 16]) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let per = count.div_ceil(threads as usize);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut found = Vec::with_capacity(per);
                    let mut n = t;
                    while found.len() < per {
                        let id = format!("p{n:012}");
                        if key_hash(&id, node, generation) >> 52 == 0 {
                            found.push(id);
                        }
                        n += threads;
                    }
                    found
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("grinder")).take(count).collect()
    })
}

/// The poisoned entries, sealed in groups of at most 6,000 leaves (each fits a message).
fn poisoned() -> Vec<Sealed> {
    let identity = Identity::from_secret([77; 32]);
    let generation = Generation([77; 16]);
    let node = identity.node_id().to_bytes();
    let started = Instant::now();
    let ids = ground(POISON, &node, &generation.0);
    println!(
        "ground {} tweet ids into one leaf in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    ids.chunks(6000)
        .map(|chunk| {
            let leaves: Vec<Leaf> = chunk
                .iter()
                .map(|id| Leaf {
                    tweet: TweetId::new(id).expect("valid"),
                    stat: StatKind::Likes,
                    counter: PnCounter::new(1, 0),
                })
                .collect();
            let (seal, tree) =
                seal_leaves(&identity, &namespace(), generation, &leaves).expect("sealed");
            let shown = (0..).zip(leaves).collect();
            let proof = super::round2::proof_of(&identity, generation);
            Sealed::of(&seal, proof, &tree, shown).expect("every leaf known")
        })
        .collect()
}

/// Passes the poisoned leaf to the edge node at `tcp` from one peer, then times a catch-up
/// through it by a peer holding half of the leaf: `None` if it did not complete in 2 minutes.
pub(crate) async fn catch_up_through(tcp: &libp2p::Multiaddr) -> Option<Duration> {
    let groups = poisoned();
    let config = PeerConfig { sync_interval: Duration::from_secs(2), ..PeerConfig::default() };
    let rules = super::round2::rules();
    let poisoner = Running::start_ruled(MemoryStore::new(), &[], config.clone(), rules).await;
    for group in &groups {
        poisoner.node.merge(vec![group.clone()]).await.expect("stored");
    }
    let victim = Running::start_ruled(MemoryStore::new(), &[], config, rules).await;
    for group in groups.iter().step_by(2) {
        victim.node.merge(vec![group.clone()]).await.expect("stored");
    }
    let poisoner_id = Identity::from_secret([77; 32]).node_id();
    let held = || {
        let of_poisoner = |r: &warpnet_stats::Replica| {
            r.entries().filter(|e| e.key.writer.node == poisoner_id).count()
        };
        victim.node.with_replica(of_poisoner)
    };
    println!("the victim holds {} of the {} poisoned entries", held(), POISON);
    poisoner.handle.keep_connected(tcp.clone());
    let started = Instant::now();
    victim.handle.keep_connected(tcp.clone());
    while held() < POISON && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = (held() >= POISON).then(|| started.elapsed());
    poisoner.stop().await;
    victim.stop().await;
    done
}
