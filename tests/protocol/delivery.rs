//! What a full node publishes reaches its peers though gossip says nothing of who took a
//! message: its changes stay pending until a catch-up a second later finds the peer holding
//! them, and are published again when it finds the peer lacking them. Virtual time, no sockets;
//! the same tests run natively and in wasm.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::time::Duration;

use common::sim::*;
use common::*;
use libp2p::gossipsub::MessageId;
use warpnet_stats::protocol::Action;
use warpnet_stats::{EntryKey, PeerConfig, StatKind};

fn config() -> PeerConfig {
    PeerConfig { sync_interval: Duration::from_secs(3600), ..PeerConfig::default() }
}

/// A full node and its edge node, connected and caught up.
fn pair() -> (Sim, Sim) {
    let (mut node, mut edge) = (Sim::new(1, config()), Sim::new(2, config()));
    converge(&mut node, &mut edge);
    (node, edge)
}

/// The node likes `t` and publishes it after the coalescing wait: the messages it published
/// (each reported as sent: gossip does not say whether any peer took it).
fn like_and_publish(node: &mut Sim, t: &str) -> Vec<(Vec<u8>, Vec<EntryKey>)> {
    let key = node.replica.increment(&tweet(t), StatKind::Likes).expect("ok").key;
    node.protocol.handle_local_changes([key], node.now);
    node.advance(Duration::from_millis(10));
    published(node)
}

fn published(node: &mut Sim) -> Vec<(Vec<u8>, Vec<EntryKey>)> {
    let mut messages = Vec::new();
    for action in node.actions() {
        if let Action::Publish { bytes, keys, relay: false } = action {
            node.protocol.handle_publish_result(&keys, false, true);
            messages.push((bytes, keys));
        }
    }
    messages
}

/// The edge node receives gossip `bytes` from the node and takes it in.
fn deliver(node: &Sim, edge: &mut Sim, n: u8, bytes: &[u8]) {
    let source = node.replica.local_writer().node.peer_id();
    edge.protocol.handle_gossip(MessageId::new(&[n]), source, bytes, &edge.replica, edge.now);
    let id = edge.replica.local_writer().node.peer_id();
    carry(edge, &mut Sim::new(9, config()), id);
}

fn id(sim: &Sim) -> libp2p::PeerId {
    sim.replica.local_writer().node.peer_id()
}

/// Both clocks on by `by`, carrying requests and answers between them.
fn run(node: &mut Sim, edge: &mut Sim, by: Duration) {
    let (id_node, id_edge) =
        (node.replica.local_writer().node.peer_id(), edge.replica.local_writer().node.peer_id());
    for _ in 0..by.as_millis() / 50 {
        node.advance(Duration::from_millis(50));
        edge.advance(Duration::from_millis(50));
        while carry(node, edge, id_node) | carry(edge, node, id_edge) {}
    }
}

#[test]
fn a_change_the_peer_took_is_confirmed_by_a_catch_up_a_second_later() {
    let (mut node, mut edge) = pair();
    let messages = like_and_publish(&mut node, "t");
    assert_eq!(messages.len(), 1);
    deliver(&node, &mut edge, 1, &messages[0].0);
    assert_eq!(edge.replica.stats(&tweet("t")).likes, 1);
    assert_eq!(node.protocol.stats().pending_entries, 1, "no peer is known to hold it yet");
    let completed = node.protocol.stats().syncs_completed;
    run(&mut node, &mut edge, Duration::from_millis(1500));
    assert_eq!(node.protocol.stats().pending_entries, 0, "the catch-up found it held");
    assert_eq!(node.protocol.stats().syncs_completed, completed + 1);
    assert_eq!(node.protocol.stats().resent_entries, 0);
}

#[test]
fn a_change_no_peer_took_stays_pending_and_is_published_again() {
    let (mut node, mut edge) = pair();
    let lost = like_and_publish(&mut node, "t");
    assert_eq!(lost.len(), 1, "published, and lost on the way");
    // A second later the catch-up finds the edge node lacking it: published again.
    let mut again = Vec::new();
    let (id_node, id_edge) = (id(&node), id(&edge));
    for _ in 0..40 {
        node.advance(Duration::from_millis(50));
        edge.advance(Duration::from_millis(50));
        loop {
            let (publish, rest): (Vec<Action>, Vec<Action>) = node
                .actions()
                .into_iter()
                .partition(|a| matches!(a, Action::Publish { relay: false, .. }));
            for action in publish {
                if let Action::Publish { bytes, keys, .. } = action {
                    node.protocol.handle_publish_result(&keys, false, true);
                    again.push((bytes, keys));
                }
            }
            let moved = !rest.is_empty();
            carry_these(&mut node, &mut edge, id_node, rest);
            if !(moved | carry(&mut edge, &mut node, id_edge)) {
                break;
            }
        }
        if !again.is_empty() {
            break;
        }
    }
    assert_eq!(again.len(), 1, "sent again");
    assert_eq!(again[0].1, lost[0].1);
    assert_eq!(node.protocol.stats().resent_entries, 1);
    assert_eq!(node.protocol.stats().pending_entries, 1, "still pending: lost once already");
    assert_eq!(edge.replica.stats(&tweet("t")).likes, 0);
    deliver(&node, &mut edge, 2, &again[0].0);
    assert_eq!(edge.replica.stats(&tweet("t")).likes, 1);
    run(&mut node, &mut edge, Duration::from_millis(1500));
    assert_eq!(node.protocol.stats().pending_entries, 0);
}

/// A gossip message merged after gossipsub's cache let it go is not lost to the other peers:
/// its entries go on as this node's relay (a message of its own), counted; one merged in time
/// is accepted and left to gossipsub to forward.
#[test]
fn gossip_merged_after_the_gossip_cache_is_relayed_by_this_node() {
    use warpnet_stats::protocol::{GOSSIP_CACHE, MergeFrom, Verdict};
    use warpnet_stats::wire::SealedBatch;

    let address: libp2p::Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().expect("address");
    let mut edge = Sim::new(1, config());
    let (source, other) = (peer_id(2), peer_id(3));
    edge.connect(source, &address, true, None);
    edge.connect(other, &address, true, None);
    edge.actions();
    for (n, (seed, delay)) in
        [(4, GOSSIP_CACHE - Duration::from_millis(1)), (5, GOSSIP_CACHE)].into_iter().enumerate()
    {
        let mut writer = replica(seed);
        let key = writer.increment(&tweet("t"), StatKind::Views).expect("within bounds").key;
        let sealed = writer.sealed([&key]);
        let bytes = SealedBatch { namespace: namespace(), sealed }.encode().expect("fits");
        let message = MessageId::new(&[n as u8]);
        edge.protocol.handle_gossip(message.clone(), source, &bytes, &edge.replica, edge.now);
        let actions = edge.actions();
        let [Action::Merge { from, entries }] = &actions[..] else { panic!("one merge") };
        let MergeFrom::Gossip { arrived, .. } = from else { panic!("gossip") };
        assert_eq!(*arrived, edge.now);
        edge.now += delay;
        let report = edge.replica.merge(&namespace(), entries.clone());
        edge.protocol.handle_merged(from.clone(), &report, &mut edge.replica, edge.now);
        let actions = edge.actions();
        let relayed: Vec<&Vec<EntryKey>> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Publish { keys, relay: true, .. } => Some(keys),
                _ => None,
            })
            .collect();
        let verdict = actions.iter().find_map(|a| match a {
            Action::Verdict { verdict, .. } => Some(*verdict),
            _ => None,
        });
        if delay < GOSSIP_CACHE {
            assert_eq!(verdict, Some(Verdict::Accept), "in time: gossipsub forwards it");
            assert!(relayed.is_empty());
        } else {
            assert_eq!(verdict, Some(Verdict::Ignore), "late: not left to gossipsub");
            assert_eq!(relayed, vec![&vec![key]], "late: relayed by the edge node");
        }
    }
    let stats = edge.protocol.stats();
    assert_eq!((stats.accepted_messages, stats.late_messages), (2, 1));
}
