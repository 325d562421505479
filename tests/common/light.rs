//! A light node and its edge node, simulated ([`Sim`]): their configurations, writers'
//! entries, and carrying everything between them on virtual time.

use std::time::Duration;

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use warpnet_stats::{PeerConfig, StatKind, seal::Sealed, wire::SealedBatch};

use super::sim::{Sim, carry, converge, peer_id};
use super::{namespace, replica, tweet};

pub fn light_config() -> PeerConfig {
    PeerConfig { light: true, sync_interval: Duration::from_secs(3600), ..PeerConfig::default() }
}

pub fn edge_config() -> PeerConfig {
    PeerConfig { sync_interval: Duration::from_secs(3600), ..PeerConfig::default() }
}

/// Writers `seeds` each like and view every one of `tweets`: their sealed entries.
pub fn liked(seeds: std::ops::Range<u8>, tweets: &[&str]) -> Vec<Sealed> {
    let mut sealed = Vec::new();
    for seed in seeds {
        let mut writer = replica(seed);
        let mut keys = Vec::new();
        for t in tweets {
            keys.push(writer.increment(&tweet(t), StatKind::Likes).expect("ok").key);
            keys.push(writer.increment(&tweet(t), StatKind::Views).expect("ok").key);
        }
        sealed.extend(writer.sealed(&keys));
    }
    sealed
}

pub fn id(sim: &Sim) -> PeerId {
    sim.replica.local_writer().node.peer_id()
}

/// Carries actions both ways until both are quiet.
pub fn pump(a: &mut Sim, b: &mut Sim) {
    let (id_a, id_b) = (id(a), id(b));
    for _ in 0..200 {
        if !(carry(a, b, id_a) | carry(b, a, id_b)) {
            return;
        }
    }
    panic!("never quiet");
}

/// Gossip of `entries` reaching the edge node from some other peer, merged there.
pub fn gossip_to(edge: &mut Sim, n: u8, entries: Vec<Sealed>) {
    let bytes =
        SealedBatch { namespace: namespace(), sealed: entries }.encode().expect("fits a message");
    let source = peer_id(250);
    edge.protocol.handle_gossip(MessageId::new(&[n]), source, &bytes, &edge.replica, edge.now);
}

/// Runs both clocks on by `by` in small steps, carrying everything.
pub fn run(edge: &mut Sim, light: &mut Sim, by: Duration) {
    for _ in 0..by.as_millis() / 10 {
        edge.advance(Duration::from_millis(10));
        light.advance(Duration::from_millis(10));
        pump(edge, light);
    }
}

/// An edge node holding a small tweet `a`, another `b`, and `popular` with more counters than
/// a light node is sent; a light node connected to it watching `a` and `popular`.
pub fn setup() -> (Sim, Sim) {
    let mut edge = Sim::new(1, edge_config());
    let mut light = Sim::new(2, light_config());
    edge.replica.merge(&namespace(), liked(100..103, &["a", "b"]));
    edge.replica.merge(&namespace(), liked(100..171, &["popular"]));
    light.protocol.watch(&[tweet("a"), tweet("popular")], light.now);
    converge(&mut light, &mut edge);
    run(&mut edge, &mut light, Duration::from_millis(100));
    (edge, light)
}

pub fn held(sim: &Sim, t: &str) -> usize {
    sim.replica.entries().filter(|e| e.key.tweet == tweet(t)).count()
}
