//! Nodes on real libp2p connections over loopback (TCP and WebSocket): live gossip, links cut
//! and restored, a node stopped and restarted from its on-disk store, catch-up of changes made
//! while a node was offline, and a malicious peer whose messages are all refused and counted.
#![cfg(not(target_arch = "wasm32"))]

use super::common;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Duration;

use common::net::{Running, attacker, await_subscriber, config, drive, local, quiet, wait_for};
use common::*;
use libp2p::gossipsub::IdentTopic;
use warpnet_stats::{
    Action, Allowance, Difficulty, DropReason, IngestLimits, MemoryStore, Node, PeerConfig,
    RedbStore, Rules, Shares, StatKind, Stats, Store, seal::Sealed, wire::SealedBatch,
};

/// What every node should show: per tweet, the likes (distinct likers per node) and views.
#[derive(Default)]
struct Model {
    liked: BTreeMap<(usize, String, String), bool>,
    views: BTreeMap<String, u64>,
}

impl Model {
    fn expected(&self, tweet_id: &str) -> Stats {
        let likes = self.liked.iter().filter(|((_, t, _), on)| t == tweet_id && **on).count();
        let views = self.views.get(tweet_id).copied().unwrap_or(0);
        Stats { likes: likes as u64, views, ..Stats::default() }
    }
}

const TWEETS: [&str; 4] = ["t0", "t1", "t2", "t3"];

/// Random likes, unlikes and views on node `index`, recorded in the model.
async fn random_actions<S: Store>(
    node: &Node<S>,
    index: usize,
    model: &mut Model,
    seed: &Cell<u64>,
    count: usize,
) {
    for _ in 0..count {
        let next = || {
            seed.set(
                seed.get().wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407),
            );
            (seed.get() >> 33) as usize
        };
        let tweet_id = TWEETS[next() % TWEETS.len()];
        let who = format!("u{}", next() % 5);
        let action = match next() % 3 {
            0 => Action::Like(user(&who)),
            1 => Action::Unlike(user(&who)),
            _ => Action::View,
        };
        match &action {
            Action::Like(_) => {
                model.liked.insert((index, tweet_id.into(), who), true);
            }
            Action::Unlike(_) => {
                model.liked.insert((index, tweet_id.into(), who), false);
            }
            _ => *model.views.entry(tweet_id.into()).or_default() += 1,
        }
        node.submit(tweet(tweet_id), action).await.expect("commits");
    }
}

fn converged<S: Store>(nodes: &[&Node<S>], model: &Model) -> bool {
    TWEETS.iter().all(|t| nodes.iter().all(|n| n.stats(&tweet(t)) == model.expected(t)))
}

#[test]
fn nodes_converge_through_cut_links_and_a_restart_from_disk() {
    local(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.redb");
        let seed = Cell::new(7);
        let mut model = Model::default();

        let hub = Running::start(
            MemoryStore::new(),
            &["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"],
        )
        .await;
        let a = Running::start(MemoryStore::new(), &[]).await;
        let c = Running::start(RedbStore::open(&path).expect("opens"), &[]).await;
        a.handle.dial(hub.address("tcp"));
        c.handle.dial(hub.address("ws"));
        wait_for("both connected", || hub.handle.peers().len() == 2).await;

        random_actions(&a.node, 0, &mut model, &seed, 40).await;
        random_actions(&hub.node, 1, &mut model, &seed, 40).await;
        random_actions(&c.node, 2, &mut model, &seed, 40).await;
        wait_for("convergence", || {
            converged(&[&a.node, &hub.node], &model) && converged(&[&c.node], &model)
        })
        .await;

        // Cut a's link; both sides keep changing; restore it.
        hub.handle.disconnect(a.id());
        wait_for("a cut off", || a.handle.peers().is_empty()).await;
        random_actions(&a.node, 0, &mut model, &seed, 30).await;
        random_actions(&hub.node, 1, &mut model, &seed, 30).await;
        a.handle.dial(hub.address("tcp"));

        // Stop c, change elsewhere, restart c from its store, change on c.
        let c_id = c.id();
        drop(c.stop().await);
        random_actions(&a.node, 0, &mut model, &seed, 30).await;
        let c = Running::start(RedbStore::open(&path).expect("reopens"), &[]).await;
        assert_eq!(c.id(), c_id, "identity kept on disk");
        c.handle.dial(hub.address("ws"));
        random_actions(&c.node, 2, &mut model, &seed, 30).await;

        wait_for("convergence after cuts and restart", || {
            converged(&[&a.node, &hub.node], &model) && converged(&[&c.node], &model)
        })
        .await;
        assert!(hub.handle.stats().dropped.is_empty(), "{:?}", hub.handle.stats());
        for running in [a, hub] {
            running.stop().await;
        }
        c.stop().await;
    });
}

#[test]
fn a_node_offline_during_a_thousand_changes_catches_up_by_sync() {
    local(async {
        let a = Running::start(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"]).await;
        let b = Running::start(MemoryStore::new(), &[]).await;
        let actions: Vec<_> =
            (0..1000).map(|i| (tweet(&format!("offline-{i}")), Action::View)).collect();
        a.node.act(&actions).await.expect("commits");
        // With nobody to tell, a's batch goes nowhere; b is offline through all of it.
        wait_for("a's publication attempt", || a.handle.stats().unpublished_entries == 1000).await;
        b.handle.dial(a.address("tcp"));
        wait_for("catch-up", || b.node.stats(&tweet("offline-999")).views == 1).await;
        wait_for("all of it", || {
            (0..1000).all(|i| b.node.stats(&tweet(&format!("offline-{i}"))).views == 1)
        })
        .await;
        let stats = b.handle.stats();
        assert_eq!(stats.synced_entries, 1000, "{stats:?}");
        assert_eq!(stats.gossip_entries, 0, "{stats:?}");
        a.stop().await;
        b.stop().await;
    });
}

fn sealed_view(seed: u8, tweet_id: &str) -> Sealed {
    let mut writer = replica(seed);
    let entry = writer.increment(&tweet(tweet_id), StatKind::Views).expect("within bounds");
    writer.sealed([&entry.key]).pop().expect("held")
}

#[test]
fn a_malicious_peer_gets_nothing_stored_and_is_counted() {
    local(async {
        let batch = |entry: Sealed| {
            SealedBatch { namespace: namespace(), sealed: vec![entry] }
                .encode()
                .expect("fits a message")
        };
        let valid = batch(sealed_view(55, "flood"));
        // The victim takes 100 such messages at once from a peer, then 10 a second.
        let size = valid.len() as f64;
        let allowance = Allowance { per_second: 10.0 * size, burst: 100.0 * size };
        let ingest = IngestLimits {
            intake: Shares { per_peer: allowance, ..IngestLimits::default().intake },
            ..IngestLimits::default()
        };
        let listen = ["/ip4/127.0.0.1/tcp/0"];
        let victim =
            Running::start_with(MemoryStore::new(), &listen, PeerConfig { ingest, ..config() })
                .await;
        let friend = Running::start(MemoryStore::new(), &[]).await;
        friend.handle.dial(victim.address("tcp"));
        let mut evil = attacker().await;
        evil.dial(victim.address("tcp")).expect("dials");
        let topic = IdentTopic::new("warpnet/stats/2/mainnet");

        // Wait until the victim's subscription reached the attacker.
        await_subscriber(&mut evil).await;

        let mut forged = sealed_view(50, "forged");
        forged.leaves[0].1.counter.increments = 100; // within the caps, not what was signed
        let mut misattributed = sealed_view(51, "stolen");
        misattributed.writer = replica(52).local_writer();
        let mut oversized = batch(sealed_view(53, "big"));
        oversized.resize(1_500_000, 0);
        let mut unknown_version = batch(sealed_view(54, "future"));
        unknown_version[0] = 9;
        let messages = [
            batch(forged),
            batch(misattributed),
            oversized,
            vec![2, 0xff, 0xff, 0xff],
            unknown_version,
        ];
        for message in messages {
            evil.behaviour_mut().publish(topic.clone(), message).expect("published");
        }
        let victim_handle = victim.handle.clone();
        drive(&mut evil, "all refused", |_| {
            victim_handle.stats().dropped.values().sum::<u64>() >= 5
        })
        .await;
        let dropped = victim_handle.stats().dropped;
        assert_eq!(dropped.get(&DropReason::BadSignature), Some(&2), "{dropped:?}");
        assert_eq!(dropped.get(&DropReason::Oversized), Some(&1), "{dropped:?}");
        assert_eq!(dropped.get(&DropReason::Undecodable), Some(&1), "{dropped:?}");
        assert_eq!(dropped.get(&DropReason::UnknownVersion), Some(&1), "{dropped:?}");
        // A flood of valid messages: beyond the peer's allowance they are dropped, counted.
        for _ in 0..1000 {
            evil.behaviour_mut().publish(topic.clone(), valid.clone()).expect("published");
        }
        drive(&mut evil, "the flood handled", |_| {
            let stats = victim_handle.stats();
            let refused = stats.dropped(DropReason::RateLimited);
            stats.accepted_messages + stats.stale_messages + refused >= 1000
        })
        .await;
        let stats = victim_handle.stats();
        assert!(stats.dropped(DropReason::RateLimited) >= 400, "{stats:?}");
        assert_eq!(victim.node.stats(&tweet("flood")).views, 1);
        for t in ["forged", "stolen", "big", "future"] {
            assert_eq!(victim.node.stats(&tweet(t)), Stats::default(), "{t} was stored");
        }
        assert_eq!(victim.node.with_replica(|r| r.len()), 1, "only the valid flood entry");
        // Honest nodes keep working.
        friend.node.submit(tweet("honest"), Action::Like(user("ann"))).await.expect("commits");
        wait_for("honest like", || victim.node.stats(&tweet("honest")).likes == 1).await;
        drop(evil);
        victim.stop().await;
        friend.stop().await;
    });
}

/// An edge node is a hub: many peers from one address (loopback here; a NAT or an office in
/// practice), each connected to it alone. Gossip must reach every one of them without waiting
/// for catch-up: neither scored down for sharing an address nor left out of a small mesh.
#[test]
fn a_hub_gossips_every_like_to_twenty_peers_on_one_address() {
    local(async {
        let quiet = quiet();
        let hub =
            Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], quiet.clone()).await;
        let mut peers = Vec::new();
        for _ in 0..20 {
            let peer = Running::start_with(MemoryStore::new(), &[], quiet.clone()).await;
            peer.handle.keep_connected(hub.address("tcp"));
            peers.push(peer);
        }
        // A catch-up on connecting and one once the hub's subscription is known: after that,
        // what follows travels by gossip only.
        wait_for("connected and subscribed", || {
            peers.iter().all(|p| p.handle.stats().syncs_completed >= 2)
        })
        .await;
        for (i, peer) in peers.iter().enumerate() {
            let like = Action::Like(user(&format!("u{i}")));
            peer.node.submit(tweet("t"), like).await.expect("commits");
        }
        wait_for("every like at every peer", || {
            peers.iter().all(|p| p.node.stats(&tweet("t")).likes == 20)
        })
        .await;
        for peer in &peers {
            let stats = peer.handle.stats();
            assert_eq!((stats.gossip_entries, stats.synced_entries), (19, 0), "{stats:?}");
        }
        assert_eq!(hub.handle.stats().gossip_entries, 20);
    });
}

/// A receiver that takes bursts of `burst_kib` KiB of gossip from a peer (1 KiB a second),
/// and a sender connected to it that splits its batches into messages of at most 1 KiB (about
/// 7 entries); no periodic catch-up within a test.
async fn tight_pair(burst_kib: f64) -> (Running<MemoryStore>, Running<MemoryStore>) {
    let quiet = quiet();
    let tight = Allowance { per_second: 1024.0, burst: burst_kib * 1024.0 };
    let ingest = IngestLimits {
        intake: Shares { per_peer: tight, ..IngestLimits::default().intake },
        ..IngestLimits::default()
    };
    let strict = PeerConfig { ingest, ..quiet.clone() };
    let small = PeerConfig { max_message_bytes: 1024, ..quiet };
    let receiver = Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], strict).await;
    let sender = Running::start_with(MemoryStore::new(), &[], small).await;
    sender.handle.keep_connected(receiver.address("tcp"));
    wait_for("connected and subscribed", || sender.handle.stats().syncs_completed >= 2).await;
    (receiver, sender)
}

#[test]
fn an_honest_burst_beyond_the_rate_limit_arrives_by_catch_up() {
    local(async {
        let (receiver, sender) = tight_pair(5.0).await;
        let actions: Vec<_> = (0..500).map(|i| (tweet(&format!("b{i}")), Action::View)).collect();
        sender.node.act(&actions).await.expect("commits");
        wait_for("the whole burst", || {
            (0..500).all(|i| receiver.node.stats(&tweet(&format!("b{i}"))).views == 1)
        })
        .await;
        let stats = receiver.handle.stats();
        assert!(stats.dropped(DropReason::RateLimited) > 0, "{stats:?}");
        // A catch-up brought what was dropped: the receiver's (fetching it) or the sender's
        // (finding it lacking, and publishing it again).
        let resent = sender.handle.stats().resent_entries;
        assert!(stats.synced_entries > 0 || resent > 0, "{stats:?}, {resent} sent again");
        assert_eq!(stats.synced_entries + stats.gossip_entries, 500, "{stats:?}");
        sender.stop().await;
        receiver.stop().await;
    });
}

/// A node stopped right after acting (a tab closed after a like) stays on until a peer holds
/// what it counted (its gossip may be dropped by a receiver that takes little from it: then it
/// arrives by catch-up while the node stays on); it stops with nothing pending.
#[test]
fn a_node_stopped_right_after_acting_stays_on_until_a_peer_holds_it() {
    local(async {
        let (receiver, sender) = tight_pair(2.0).await;
        let actions: Vec<_> = (0..60).map(|i| (tweet(&format!("s{i}")), Action::View)).collect();
        sender.node.act(&actions).await.expect("commits");
        let handle = sender.handle.clone();
        sender.stop().await;
        assert_eq!(handle.stats().pending_entries, 0, "{:?}", handle.stats());
        let held = (0..60).filter(|i| receiver.node.stats(&tweet(&format!("s{i}"))).views == 1);
        assert_eq!(held.count(), 60, "{:?}", receiver.handle.stats());
        receiver.stop().await;
    });
}

#[test]
fn a_failed_catch_up_is_retried_before_the_periodic_one() {
    local(async {
        // A peer that speaks gossipsub but not the catch-up protocol: every catch-up with it
        // fails. With no periodic catch-up in sight, the retries alone must try again.
        let node =
            Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], quiet()).await;
        let mut other = attacker().await;
        other.dial(node.address("tcp")).expect("dials");
        let handle = node.handle.clone();
        drive(&mut other, "three failed catch-ups", |_| handle.stats().syncs_failed >= 3).await;
        node.stop().await;
    });
}

#[test]
fn a_node_counts_at_once_and_publishes_once_its_identity_is_minted() {
    local(async {
        // An identity costs 2^14 attempts in this namespace.
        let rules = Rules { difficulty: Difficulty(14), ..RULES };
        let hub =
            Running::start_ruled(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], quiet(), rules)
                .await;
        // A node that counted offline, never minted: its view is counted, not served.
        let store = MemoryStore::new();
        {
            let node = Node::open(namespace(), rules, store.clone()).await.expect("opens");
            node.act(&[(tweet("early"), Action::View)]).await.expect("commits");
            assert_eq!(node.stats(&tweet("early")).views, 1);
            assert!(node.identity_proof().is_none());
            assert!(!node.minting().done);
        }
        // On the network it mints first, then its view reaches the hub.
        let late = Running::start_ruled(store.clone(), &[], quiet(), rules).await;
        late.handle.dial(hub.address("tcp"));
        wait_for("the early view at the hub", || hub.node.stats(&tweet("early")).views == 1).await;
        let minting = late.handle.minting();
        assert!(minting.done && minting.attempts > 0, "{minting:?}");
        let proof = late.node.identity_proof().expect("minted");
        late.stop().await;
        // Kept in the store: the next start does not mint again.
        let again = Node::open(namespace(), rules, store).await.expect("opens");
        assert_eq!(again.identity_proof(), Some(proof));
        hub.stop().await;
    });
}

#[test]
fn a_fresh_node_with_nothing_counted_mints_after_its_catch_up() {
    local(async {
        let rules = Rules { difficulty: Difficulty(14), ..RULES };
        let hub =
            Running::start_ruled(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], quiet(), rules)
                .await;
        const HELD: u64 = 2_000;
        let views: Vec<_> = (0..HELD).map(|i| (tweet(&format!("t{i}")), Action::View)).collect();
        hub.node.act(&views).await.expect("commits");
        // Something counted: the hub mints with no peer in sight.
        let hub_handle = hub.handle.clone();
        wait_for("the hub's identity", || hub_handle.minting().done).await;
        // Nothing to publish yet: the proof of work waits while the node connects and catches
        // up, so the cold sync has the thread to itself.
        let fresh = Running::start_ruled(MemoryStore::new(), &[], quiet(), rules).await;
        fresh.handle.dial(hub.address("tcp"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (minting, synced) = (fresh.handle.minting(), fresh.handle.stats().synced_entries);
            assert!(
                minting.attempts == 0 || synced == HELD,
                "minting began with {synced} of {HELD} entries caught up"
            );
            if minting.done {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for the proof");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // Minted once caught up: what it counts now is published.
        fresh.node.act(&[(tweet("after"), Action::View)]).await.expect("commits");
        wait_for("the new view at the hub", || hub.node.stats(&tweet("after")).views == 1).await;
        fresh.stop().await;
        hub.stop().await;
    });
}
