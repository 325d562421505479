//! The network protocol on virtual time, with no sockets and no sleeping: rate limits, dials
//! (one in flight per address, timeouts, backoff, offline), redials, catch-up scheduling and
//! retries, coalescing and splitting, gossip verdicts and the edge-restart storm (catch-up
//! between two protocols: `tests/protocol/catch_up.rs`). The same tests run natively and in wasm.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::time::Duration;

use common::sim::*;
use common::*;
use libp2p::Multiaddr;
use libp2p::gossipsub::MessageId;
use warpnet_stats::protocol::{
    Action, DialId, MergeFrom, Protocol, RequestId, SyncFailure, Verdict,
};
use warpnet_stats::{
    Allowance, DropReason, IngestLimits, MergeReport, PeerConfig, Replica, Shares, StatKind,
    sync::SyncSession, wire::SealedBatch,
};

fn dials(actions: &[Action]) -> Vec<DialId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dial { dial, .. } => Some(*dial),
            _ => None,
        })
        .collect()
}

fn message(n: u8) -> MessageId {
    MessageId::new(&[n])
}

fn gossip_bytes(seed: u8, tweet_id: &str) -> Vec<u8> {
    let mut writer = replica(seed);
    let entry = writer.increment(&tweet(tweet_id), StatKind::Views).expect("within bounds");
    SealedBatch { namespace: namespace(), sealed: writer.sealed([&entry.key]) }
        .encode()
        .expect("fits a message")
}

#[test]
fn gossip_beyond_a_peers_allowance_is_ignored_counted_and_fetched_by_catch_up() {
    let bytes = gossip_bytes(3, "t");
    // Five messages at once, then one every tenth of a second.
    let size = bytes.len() as f64;
    let allowance = Allowance { per_second: 10.0 * size, burst: 5.0 * size };
    let ingest = IngestLimits {
        intake: Shares { per_peer: allowance, ..IngestLimits::default().intake },
        ..IngestLimits::default()
    };
    let mut sim = Sim::new(1, PeerConfig { ingest, ..PeerConfig::default() });
    let source = peer_id(2);
    sim.connect(source, &edge_address(2, "webrtc-direct"), true, None);
    let first = requests(&sim.actions());
    assert_eq!(first.len(), 1, "a catch-up on connecting");
    for n in 0..5 {
        sim.protocol.handle_gossip(message(n), source, &bytes, &sim.replica, sim.now);
    }
    let merges = sim.actions().iter().filter(|a| matches!(a, Action::Merge { .. })).count();
    assert_eq!(merges, 5, "the burst is allowed");
    sim.protocol.handle_gossip(message(5), source, &bytes, &sim.replica, sim.now);
    let actions = sim.actions();
    let verdict = Action::Verdict { message: message(5), source, verdict: Verdict::Ignore };
    assert_eq!(actions, vec![verdict], "no new catch-up while one runs");
    assert_eq!(sim.protocol.stats().dropped(DropReason::RateLimited), 1);
    // A tenth of a second later the bucket holds one message again.
    sim.advance(Duration::from_millis(100));
    sim.actions();
    sim.protocol.handle_gossip(message(6), source, &bytes, &sim.replica, sim.now);
    assert!(matches!(sim.actions()[..], [Action::Merge { .. }]));
    sim.protocol.handle_gossip(message(7), source, &bytes, &sim.replica, sim.now);
    assert!(matches!(sim.actions()[..], [Action::Verdict { verdict: Verdict::Ignore, .. }]));
    // Another peer has an allowance of its own.
    let other = peer_id(4);
    sim.connect(other, &edge_address(4, "webrtc-direct"), true, None);
    sim.actions();
    sim.protocol.handle_gossip(message(8), other, &bytes, &sim.replica, sim.now);
    assert!(matches!(sim.actions()[..], [Action::Merge { .. }]));
    // The catch-up wanted during the flood starts once the running one fails.
    sim.protocol.handle_sync_failed(source, first[0], SyncFailure::Timeout, sim.now);
    assert_eq!(requests(&sim.actions()).len(), 1);
}

/// Takes the merge the last message asked for and tells the protocol what it did.
fn merge_next(sim: &mut Sim, actions: Vec<Action>) -> MergeReport {
    let [Action::Merge { from, entries }] = &actions[..] else { panic!("one merge: {actions:?}") };
    let report = sim.replica.merge(&namespace(), entries.clone());
    sim.protocol.handle_added(from, report.added, sim.now);
    sim.protocol.handle_merged(from.clone(), &report, &mut sim.replica, sim.now);
    sim.actions();
    report
}

#[test]
fn gossip_from_a_peer_whose_entries_may_add_more_counters_than_its_allowance_is_ignored() {
    let counters = Allowance { per_second: 10.0, burst: 2.0 };
    let ingest = IngestLimits {
        counters: Shares { per_peer: counters, ..IngestLimits::default().counters },
        ..IngestLimits::default()
    };
    let mut sim = Sim::new(1, PeerConfig { ingest, ..PeerConfig::default() });
    let (source, other) = (peer_id(2), peer_id(4));
    sim.connect(source, &edge_address(2, "websocket"), true, None);
    sim.connect(other, &edge_address(4, "websocket"), true, None);
    sim.actions();
    let ignored = |n: u8| Action::Verdict { message: message(n), source, verdict: Verdict::Ignore };
    // Each message's leaves count as new counters when it comes, before it is merged: two
    // messages of one leaf spend the allowance, the third is ignored.
    sim.protocol.handle_gossip(message(0), source, &gossip_bytes(3, "t"), &sim.replica, sim.now);
    let first = sim.actions();
    sim.protocol.handle_gossip(message(1), source, &gossip_bytes(3, "t"), &sim.replica, sim.now);
    let again = sim.actions();
    sim.protocol.handle_gossip(message(2), source, &gossip_bytes(3, "u"), &sim.replica, sim.now);
    assert_eq!(sim.actions(), vec![ignored(2)]);
    assert_eq!(sim.protocol.stats().dropped(DropReason::RateLimited), 1);
    // The first adds its counter; the second (the same entry) adds none, given back.
    assert_eq!(merge_next(&mut sim, first).added, 1);
    assert_eq!(merge_next(&mut sim, again).added, 0);
    sim.protocol.handle_gossip(message(3), source, &gossip_bytes(3, "u"), &sim.replica, sim.now);
    let actions = sim.actions();
    assert_eq!(merge_next(&mut sim, actions).added, 1);
    sim.protocol.handle_gossip(message(4), source, &gossip_bytes(3, "v"), &sim.replica, sim.now);
    assert_eq!(sim.actions(), vec![ignored(4)]);
    sim.protocol.handle_gossip(message(5), other, &gossip_bytes(3, "v"), &sim.replica, sim.now);
    assert!(matches!(sim.actions()[..], [Action::Merge { .. }]), "another peer's is taken");
    // A tenth of a second later the peer has room for a counter again.
    sim.advance(Duration::from_millis(110));
    sim.actions();
    sim.protocol.handle_gossip(message(6), source, &gossip_bytes(3, "v"), &sim.replica, sim.now);
    assert!(matches!(sim.actions()[..], [Action::Merge { .. }]));
}

#[test]
fn catch_up_answers_beyond_a_peers_allowance_are_refused_and_counted() {
    let allowance = Allowance { per_second: 100.0, burst: 1000.0 };
    let ingest = IngestLimits {
        answers: Shares { per_peer: allowance, ..IngestLimits::default().answers },
        ..IngestLimits::default()
    };
    let mut sim = Sim::new(1, PeerConfig { ingest, ..PeerConfig::default() });
    for i in 0..50 {
        sim.replica.increment(&tweet(&format!("t{i}")), StatKind::Views).expect("within bounds");
    }
    let (_, request) = SyncSession::start();
    let bytes = request.encode(&namespace());
    let (asker, other) = (peer_id(2), peer_id(3));
    let mut answered = 0;
    // Answered while its allowance holds a whole burst's worth (1,000 bytes), checked before
    // the answer is built: once.
    while let Some(reply) =
        sim.protocol.handle_sync_request(asker, &bytes, &mut sim.replica, sim.now)
    {
        answered += reply.bytes.len();
        assert!(answered < 2000, "answered {answered} bytes at once");
    }
    assert!(answered > 0, "{answered}");
    assert_eq!(sim.protocol.stats().dropped(DropReason::RateLimited), 1);
    // Another peer is answered; the first again once its allowance refilled.
    assert!(sim.protocol.handle_sync_request(other, &bytes, &mut sim.replica, sim.now).is_some());
    sim.advance(Duration::from_secs(10));
    assert!(sim.protocol.handle_sync_request(asker, &bytes, &mut sim.replica, sim.now).is_some());
}

/// Refusing a request still costs a stream and a read: a peer that goes on asking beyond its
/// answer allowance (an honest one backs off) is hung up on after 64 refusals in a row; one
/// answered request in between starts the count again.
#[test]
fn a_peer_that_keeps_asking_beyond_its_answer_allowance_is_hung_up_on() {
    let allowance = Allowance { per_second: 100.0, burst: 1000.0 };
    let ingest = IngestLimits {
        answers: Shares { per_peer: allowance, ..IngestLimits::default().answers },
        ..IngestLimits::default()
    };
    let mut sim = Sim::new(
        1,
        PeerConfig { ingest, sync_interval: Duration::from_secs(3600), ..PeerConfig::default() },
    );
    let asker = peer_id(2);
    sim.connect(asker, &edge_address(2, "websocket"), true, None);
    sim.actions();
    let (_, request) = SyncSession::start();
    let bytes = request.encode(&namespace());
    let ask =
        |sim: &mut Sim| sim.protocol.handle_sync_request(asker, &bytes, &mut sim.replica, sim.now);
    assert!(ask(&mut sim).is_some());
    let hung_up = |sim: &mut Sim| sim.actions().contains(&Action::Disconnect(asker));
    for _ in 0..63 {
        assert!(ask(&mut sim).is_none());
    }
    assert!(!hung_up(&mut sim), "63 refusals: not yet");
    sim.advance(Duration::from_secs(10));
    assert!(ask(&mut sim).is_some(), "answered again: the count starts anew");
    for _ in 0..63 {
        assert!(ask(&mut sim).is_none());
    }
    assert!(!hung_up(&mut sim));
    assert!(ask(&mut sim).is_none());
    assert!(hung_up(&mut sim), "64 in a row");
}

#[test]
fn gossip_verdicts_follow_decoding_namespace_and_signatures() {
    let mut sim = Sim::new(1, PeerConfig::default());
    let source = peer_id(2);
    sim.protocol.handle_gossip(message(0), source, &[2, 0xff, 0xff], &sim.replica, sim.now);
    let reject = |n| Action::Verdict { message: message(n), source, verdict: Verdict::Reject };
    assert_eq!(sim.actions(), vec![reject(0)]);
    let mut future = gossip_bytes(2, "t");
    future[0] = 9;
    sim.protocol.handle_gossip(message(1), source, &future, &sim.replica, sim.now);
    assert_eq!(sim.actions(), vec![reject(1)]);
    let mut foreign = replica(2);
    let entry = foreign.increment(&tweet("t"), StatKind::Views).expect("within bounds");
    let sealed = foreign.sealed([&entry.key]);
    let other = warpnet_stats::Namespace::new("testnet").expect("valid");
    let bytes = SealedBatch { namespace: other, sealed }.encode().expect("fits a message");
    sim.protocol.handle_gossip(message(2), source, &bytes, &sim.replica, sim.now);
    assert_eq!(sim.actions(), vec![reject(2)]);
    let stats = sim.protocol.stats().clone();
    assert_eq!(stats.dropped(DropReason::Undecodable), 1);
    assert_eq!(stats.dropped(DropReason::UnknownVersion), 1);
    assert_eq!(stats.dropped(DropReason::ForeignNamespace), 1);

    // A valid message is handed out to merge; its verdict follows the merge.
    sim.protocol.handle_gossip(message(3), source, &gossip_bytes(2, "t"), &sim.replica, sim.now);
    let actions = sim.actions();
    let [Action::Merge { from, entries }] = &actions[..] else { panic!("one merge") };
    let mut forged = entries.clone();
    forged[0].leaves[0].1.counter.increments = 99;
    // Valid and new: accepted (relayed). Forged: rejected. Valid again (a replay under
    // another message id): nothing new, so not relayed (the mesh would check it all again).
    let replay = MergeFrom::Gossip { message: message(4), source, arrived: sim.now };
    for (from, entries, verdict) in [
        (from.clone(), entries.clone(), Verdict::Accept),
        (from.clone(), forged, Verdict::Reject),
        (replay, entries.clone(), Verdict::Ignore),
    ] {
        let report = sim.replica.merge(&namespace(), entries);
        sim.protocol.handle_added(&from, report.added, sim.now);
        let MergeFrom::Gossip { message, .. } = from.clone() else { panic!("gossip") };
        sim.protocol.handle_merged(from, &report, &mut sim.replica, sim.now);
        assert_eq!(sim.actions(), vec![Action::Verdict { message, source, verdict }]);
    }
    assert_eq!(sim.protocol.stats().dropped(DropReason::BadSignature), 1);
    assert_eq!(sim.protocol.stats().gossip_entries, 1);
    assert_eq!(sim.protocol.stats().accepted_messages, 1);
}

/// A message whose writer has no identity proof costs two hashes: rejected whole before any
/// allowance is spent on it or any signature checked (no merge is handed out), every leaf
/// counted; a proven writer's message then goes through, its work charged.
#[test]
fn gossip_without_identity_proofs_is_rejected_before_any_signature_is_checked() {
    let rules = warpnet_stats::Rules { difficulty: warpnet_stats::Difficulty(16), ..RULES };
    let edge = Replica::new(namespace(), rules, identity(1), generation(1));
    let now = web_time::Instant::now();
    let mut protocol = Protocol::new(namespace(), PeerConfig::default(), now);
    let source = peer_id(2);
    // Writer 2's nonce 0 does not hold at 16 bits (it does with probability 2^-16).
    let bytes = gossip_bytes(2, "t");
    protocol.handle_gossip(message(0), source, &bytes, &edge, now);
    let actions: Vec<Action> = std::iter::from_fn(|| protocol.poll_action()).collect();
    let reject = Action::Verdict { message: message(0), source, verdict: Verdict::Reject };
    assert_eq!(actions, vec![reject]);
    assert_eq!(protocol.stats().dropped(DropReason::NoIdentityProof), 1);
}

#[test]
fn a_kept_address_has_one_dial_in_flight_given_up_after_the_timeout_then_backed_off() {
    let config = PeerConfig::default();
    let (timeout, (first, max)) = (config.dial_timeout, config.redial_backoff);
    let mut sim = Sim::new(1, config);
    let edge = edge_address(2, "webrtc-direct");
    sim.protocol.keep_connected(edge.clone(), sim.now);
    sim.protocol.keep_connected(edge.clone(), sim.now);
    sim.protocol.dial(edge.clone(), sim.now);
    assert_eq!(dials(&sim.actions()).len(), 1, "one dial, however often asked");
    // A dead WebRTC port never answers: the dial is given up at the timeout, and the waits
    // between attempts double up to the longest.
    let start = sim.now;
    let mut attempts = vec![start];
    let mut in_flight = 1;
    while sim.step_until(start + Duration::from_secs(300)) {
        for action in sim.actions() {
            match action {
                Action::Dial { .. } => {
                    in_flight += 1;
                    attempts.push(sim.now);
                }
                Action::CancelDial(_) => in_flight -= 1,
                other => panic!("unexpected {other:?}"),
            }
            assert!(in_flight <= 1, "two dials in flight");
        }
    }
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1] - w[0] - timeout).collect();
    assert_eq!(gaps[0], first);
    assert_eq!(gaps[1], first * 2);
    assert!(gaps.iter().all(|gap| *gap <= max));
    assert_eq!(*gaps.last().expect("gaps"), max);
    let stats = sim.protocol.stats();
    assert_eq!(stats.dials, attempts.len() as u64);
    assert_eq!(stats.dials_timed_out + 1, stats.dials);
}

#[test]
fn going_offline_cancels_dials_closes_connections_and_dials_nothing_until_back() {
    let mut sim = Sim::new(1, PeerConfig::default());
    let (ws, webrtc) = (edge_address(2, "webrtc-direct"), edge_address(3, "webrtc-direct"));
    sim.protocol.keep_connected(ws.clone(), sim.now);
    sim.protocol.keep_connected(webrtc.clone(), sim.now);
    let pending = dials(&sim.actions());
    assert_eq!(pending.len(), 2);
    let connection = sim.connect(peer_id(2), &ws, false, Some(pending[0]));
    sim.actions();
    sim.protocol.set_online(false, sim.now);
    let actions = sim.actions();
    assert!(actions.contains(&Action::CancelDial(pending[1])), "{actions:?}");
    assert!(actions.contains(&Action::Disconnect(peer_id(2))), "{actions:?}");
    sim.protocol.handle_closed(peer_id(2), connection, sim.now);
    assert!(!sim.protocol.online());
    // The cancelled dial's connection, had it raced the cancel, is hung up at once.
    let raced = sim.connect(peer_id(3), &webrtc, false, Some(pending[1]));
    assert_eq!(sim.actions(), vec![Action::HangUp(raced)]);
    for _ in 0..120 {
        sim.advance(Duration::from_secs(1));
        assert!(dials(&sim.actions()).is_empty(), "dialled while offline");
    }
    sim.protocol.set_online(true, sim.now);
    assert_eq!(dials(&sim.actions()).len(), 2, "both redialled at once");
}

#[test]
fn a_lasting_connection_is_redialled_at_once_a_flapping_one_after_a_growing_wait() {
    let mut sim = Sim::new(1, PeerConfig::default());
    let edge = edge_address(2, "websocket");
    sim.protocol.keep_connected(edge.clone(), sim.now);
    let mut dial = dials(&sim.actions())[0];
    let connection = sim.connect(peer_id(2), &edge, false, Some(dial));
    sim.advance(Duration::from_secs(60));
    sim.actions();
    sim.protocol.handle_closed(peer_id(2), connection, sim.now);
    dial = dials(&sim.actions())[0];
    // Accepted and dropped at once, again and again: each redial waits longer.
    let mut waits = Vec::new();
    for _ in 0..4 {
        let connection = sim.connect(peer_id(2), &edge, false, Some(dial));
        sim.protocol.handle_closed(peer_id(2), connection, sim.now);
        let closed = sim.now;
        assert!(dials(&sim.actions()).is_empty(), "a flapping peer is not redialled at once");
        let deadline = sim.now + Duration::from_secs(60);
        dial = loop {
            assert!(sim.step_until(deadline), "redialled");
            if let Some(dial) = dials(&sim.actions()).first() {
                break *dial;
            }
        };
        waits.push(sim.now - closed);
    }
    assert!(waits.windows(2).all(|w| w[1] == w[0] * 2), "{waits:?}");
}

#[test]
fn a_peer_that_dials_again_beside_an_old_connection_starts_clean() {
    // The edge side of a browser that redialled while its old connection still looked open:
    // both are closed (gossipsub sends a peer its subscriptions on its first connection only,
    // so the new one would never carry them), and its next connection starts clean, with a
    // catch-up at once.
    let mut edge = Sim::new(1, PeerConfig::default());
    let browser = peer_id(2);
    let address: Multiaddr = "/ip4/127.0.0.1/udp/50000/webrtc-direct".parse().expect("address");
    let old = edge.connect(browser, &address, true, None);
    let running = requests(&edge.actions());
    assert_eq!(running.len(), 1);
    let new = edge.connect(browser, &address, true, None);
    assert_eq!(edge.actions(), vec![Action::Disconnect(browser)], "both closed");
    for connection in [old, new] {
        edge.protocol.handle_closed(browser, connection, edge.now);
    }
    edge.protocol.handle_sync_failed(browser, running[0], SyncFailure::ConnectionClosed, edge.now);
    assert!(edge.protocol.peers().is_empty());
    edge.connect(browser, &address, true, None);
    let started = edge.actions();
    assert_eq!(requests(&started).len(), 1, "a catch-up at once: {started:?}");
    assert!(matches!(started[0], Action::SendRequest { chunked: true, .. }), "WebRTC: chunked");
}

#[test]
fn failed_catch_ups_are_retried_with_a_doubling_wait() {
    // No periodic catch-up in sight: only the retries start one.
    let config = PeerConfig { sync_interval: Duration::from_secs(3600), ..PeerConfig::default() };
    let mut sim = Sim::new(1, config);
    let peer = peer_id(2);
    sim.connect(peer, &edge_address(2, "websocket"), false, None);
    let mut request = requests(&sim.actions())[0];
    let mut waits = Vec::new();
    for _ in 0..5 {
        sim.protocol.handle_sync_failed(peer, request, SyncFailure::Timeout, sim.now);
        assert!(requests(&sim.actions()).is_empty(), "not at once: nothing changed");
        let failed = sim.now;
        request = loop {
            assert!(sim.step_until(failed + Duration::from_secs(60)));
            if let Some(request) = requests(&sim.actions()).first() {
                break *request;
            }
        };
        waits.push((sim.now - failed).as_secs());
    }
    assert_eq!(waits, [1, 2, 4, 8, 16]);
    assert_eq!(sim.protocol.stats().syncs_failed, 5);
    // A late answer to an abandoned request is ignored.
    sim.protocol.handle_sync_failed(peer, RequestId(1), SyncFailure::Timeout, sim.now);
    assert_eq!(sim.protocol.stats().syncs_failed, 5);
}

#[test]
fn a_dead_connection_is_hung_up_when_its_ping_fails() {
    let mut sim = Sim::new(1, PeerConfig::default());
    let connection = sim.connect(peer_id(2), &edge_address(2, "websocket"), false, None);
    sim.actions();
    sim.protocol.handle_ping_failed(connection);
    assert_eq!(sim.actions(), vec![Action::HangUp(connection)]);
}

#[test]
fn local_changes_are_gathered_published_split_and_counted_until_a_peer_has_them() {
    let config = PeerConfig { max_message_bytes: 256, ..PeerConfig::default() };
    let coalesce = config.coalesce;
    let mut sim = Sim::new(1, config);
    let keys: Vec<_> = (0..40)
        .map(|i| {
            sim.replica
                .increment(&tweet(&format!("t{i}")), StatKind::Views)
                .expect("within bounds")
                .key
        })
        .collect();
    sim.protocol.handle_local_changes(keys[..20].to_vec(), sim.now);
    sim.advance(coalesce / 2);
    sim.protocol.handle_local_changes(keys[20..].to_vec(), sim.now);
    assert!(sim.actions().is_empty(), "gathered, not yet published");
    assert_eq!(sim.protocol.stats().pending_entries, 40);
    sim.advance(coalesce / 2);
    let messages: Vec<(Vec<u8>, Vec<_>)> = sim
        .actions()
        .into_iter()
        .map(|a| match a {
            Action::Publish { bytes, keys, relay: false } => (bytes, keys),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(messages.len() > 1, "split");
    assert!(messages.iter().all(|(bytes, _)| bytes.len() <= 256));
    let published: usize = messages.iter().map(|(_, keys)| keys.len()).sum();
    assert_eq!(published, 40);
    // Nobody listens: the entries stay pending until a peer fetches them by catch-up.
    for (_, keys) in &messages {
        sim.protocol.handle_publish_result(keys, false, false);
    }
    let stats = sim.protocol.stats().clone();
    assert_eq!((stats.unpublished_entries, stats.pending_entries), (40, 40));
    let mut peer = Sim::new(2, PeerConfig::default());
    converge(&mut sim, &mut peer);
    assert_eq!(peer.replica.len(), 40, "the peer's catch-up fetched them");
    // Pending until the node's own catch-up finds the peer holding them (an answer it sent
    // may be lost with its connection).
    let (id_sim, id_peer) = (peer_of(&sim), peer_of(&peer));
    for _ in 0..30 {
        sim.advance(Duration::from_millis(100));
        peer.advance(Duration::from_millis(100));
        while carry(&mut sim, &mut peer, id_sim) | carry(&mut peer, &mut sim, id_peer) {}
    }
    assert_eq!(sim.protocol.stats().pending_entries, 0);
}

fn peer_of(sim: &Sim) -> libp2p::PeerId {
    sim.replica.local_writer().node.peer_id()
}

#[test]
fn the_edge_restart_storm_leaves_one_dial_at_a_time_and_catches_up_at_once() {
    // A browser on WebRTC-direct; its edge node is killed, stays down while the browser's
    // dials go unanswered, and comes back on the same port.
    let config = PeerConfig::default();
    let timeout = config.dial_timeout;
    let mut browser = Sim::new(1, config);
    let edge = edge_address(2, "webrtc-direct");
    browser.protocol.keep_connected(edge.clone(), browser.now);
    let dial = dials(&browser.actions())[0];
    let connection = browser.connect(peer_id(2), &edge, false, Some(dial));
    let first = requests(&browser.actions());
    browser.advance(Duration::from_secs(30));
    browser.actions();
    // SIGKILL: the ping fails, the connection is hung up and closes; the catch-up fails.
    browser.protocol.handle_ping_failed(connection);
    assert_eq!(browser.actions(), vec![Action::HangUp(connection)]);
    browser.protocol.handle_sync_failed(
        peer_id(2),
        first[0],
        SyncFailure::ConnectionClosed,
        browser.now,
    );
    browser.protocol.handle_closed(peer_id(2), connection, browser.now);
    let down_at = browser.now;
    let mut pending = dials(&browser.actions());
    assert_eq!(pending.len(), 1, "redialled at once");
    // Down for 25 s: dials are given up one at a time, never two in flight.
    while browser.step_until(down_at + Duration::from_secs(25)) {
        for action in browser.actions() {
            match action {
                Action::Dial { dial, .. } => pending.push(dial),
                Action::CancelDial(dial) => pending.retain(|d| *d != dial),
                other => panic!("unexpected {other:?}"),
            }
            assert!(pending.len() <= 1, "{pending:?}");
        }
    }
    assert!(browser.protocol.stats().dials_timed_out >= 2);
    // Back up: the next dial connects (within the dial timeout) and a catch-up starts at once.
    let dial = loop {
        if let Some(dial) = pending.first() {
            break *dial;
        }
        assert!(browser.step_until(browser.now + timeout * 4));
        pending = dials(&browser.actions());
    };
    browser.connect(peer_id(2), &edge, false, Some(dial));
    let actions = browser.actions();
    assert_eq!(requests(&actions).len(), 1, "{actions:?}");
    assert_eq!(browser.protocol.peers().len(), 1);
    assert!(browser.protocol.stats().syncs_failed >= 1);
}

/// A connection whose pings go unanswered for 7 s is closed, whether ping reports a failure or
/// not (over a dead WebRTC connection it reports one only after a 10 s upgrade timeout); one
/// whose pings are answered stays.
#[test]
fn a_connection_whose_pings_go_unanswered_is_closed() {
    let mut sim = Sim::new(1, PeerConfig::default());
    let address: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().expect("address");
    let dead = sim.connect(peer_id(2), &address, false, None);
    let alive = sim.connect(peer_id(3), &address, false, None);
    let mut hung_up = Vec::new();
    for _ in 0..12 {
        sim.advance(Duration::from_secs(1));
        sim.protocol.handle_ping_answered(alive, sim.now);
        hung_up.extend(sim.actions().into_iter().filter_map(|action| match action {
            Action::HangUp(connection) => Some(connection),
            _ => None,
        }));
    }
    assert_eq!(hung_up, vec![dead]);
}

/// A peer this node dialled that tells no gossip subscription within 3 s (its new connection
/// beside a dying one never carries it: gossipsub tells it on a peer's first connection only)
/// is disconnected once, to be redialled clean; one that told it stays.
#[test]
fn a_dialled_peer_that_tells_no_subscription_is_redialled_clean() {
    let mut sim = Sim::new(1, PeerConfig::default());
    let (silent, subscribed) = (peer_id(2), peer_id(3));
    let connections = [
        sim.connect(silent, &edge_address(2, "webrtc-direct"), false, None),
        sim.connect(subscribed, &edge_address(3, "websocket"), false, None),
    ];
    sim.protocol.handle_subscribed(subscribed);
    let mut disconnected = Vec::new();
    for _ in 0..6 {
        sim.advance(Duration::from_secs(1));
        for connection in connections {
            sim.protocol.handle_ping_answered(connection, sim.now);
        }
        disconnected.extend(sim.actions().into_iter().filter_map(|action| match action {
            Action::Disconnect(peer) => Some(peer),
            _ => None,
        }));
    }
    assert_eq!(disconnected, vec![silent]);
}
