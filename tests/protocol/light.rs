//! The light-node protocol between simulated protocols on virtual time: a light node gets what
//! it watches (entries, or tallies of popular tweets) and live changes on it, nothing else;
//! watches are bounded; hostile requests and pushes are refused and counted. The same tests run
//! natively and in wasm.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::time::Duration;

use common::light::*;
use common::sim::*;
use common::*;
use libp2p::PeerId;
use warpnet_stats::protocol::{Action, MAX_WATCHED_PER_PEER, TALLY_ANSWER_ITEMS};
use warpnet_stats::{
    Allowance, DropReason, IngestLimits, PeerConfig, Shares, TweetId, WatchCaps,
    light::{LightRequest, LightResponse, Tallied, Tally},
};

#[test]
fn a_light_node_gets_what_it_watches_and_nothing_else() {
    let (edge, light) = setup();
    assert_eq!(held(&light, "a"), 6, "3 writers' likes and views");
    assert_eq!(light.replica.stats(&tweet("a")), edge.replica.stats(&tweet("a")));
    assert_eq!(held(&light, "b"), 0, "not watched");
    assert_eq!(held(&light, "popular"), 0, "too many writers: its tally instead");
    let tally = &light.tallies[&tweet("popular")];
    assert_eq!(tally.stats([0; 4]), edge.replica.stats(&tweet("popular")));
    assert_eq!(tally.tally.signer, edge.replica.local_writer().node);
    assert_eq!(light.protocol.stats().syncs_completed, 0, "a light node pulls no catch-up");
    let received = light.protocol.stats().received_bytes;
    assert!(received > 0 && received == (light.received + light.pushed) as u64, "{received}");
    assert_eq!(edge.protocol.stats().watches, 2);
}

#[test]
fn changes_on_watched_tweets_are_pushed_and_others_are_not() {
    let (mut edge, mut light) = setup();
    let before = light.pushed;
    gossip_to(&mut edge, 1, liked(200..201, &["a", "b", "popular"]));
    pump(&mut edge, &mut light);
    assert_eq!(held(&light, "a"), 6, "not before the push interval");
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(held(&light, "a"), 8, "the new writer's like and view");
    assert_eq!(held(&light, "b"), 0);
    assert_eq!(light.replica.stats(&tweet("a")), edge.replica.stats(&tweet("a")));
    let tally = &light.tallies[&tweet("popular")];
    assert_eq!(tally.stats([0; 4]), edge.replica.stats(&tweet("popular")));
    assert_eq!(edge.protocol.stats().light_pushes, 1, "both tweets in one push");
    let one_push = light.pushed - before;

    // Only `b` changes: nothing is pushed.
    gossip_to(&mut edge, 2, liked(201..202, &["b"]));
    run(&mut edge, &mut light, Duration::from_millis(200));
    assert_eq!(edge.protocol.stats().light_pushes, 1);
    assert_eq!(light.pushed - before, one_push);

    // Unwatched, `a` is not pushed any more.
    light.protocol.unwatch(&[tweet("a")], light.now);
    light.advance(Duration::ZERO);
    pump(&mut light, &mut edge);
    assert_eq!(edge.protocol.stats().watches, 1);
    gossip_to(&mut edge, 3, liked(202..203, &["a"]));
    run(&mut edge, &mut light, Duration::from_millis(200));
    assert_eq!(held(&light, "a"), 8);
    assert_eq!(edge.protocol.stats().light_pushes, 1);
}

#[test]
fn pushes_to_one_light_node_go_one_at_a_time_at_most_every_push_interval() {
    let (mut edge, mut light) = setup();
    for n in 0..20u8 {
        gossip_to(&mut edge, 10 + n, liked(200 + n..201 + n, &["a"]));
        pump(&mut edge, &mut light);
        edge.advance(Duration::from_millis(10));
        light.advance(Duration::from_millis(10));
        pump(&mut edge, &mut light);
    }
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(held(&light, "a"), 6 + 40, "every change arrived");
    let pushes = edge.protocol.stats().light_pushes;
    assert!((4..=6).contains(&pushes), "20 changes over 200 ms in {pushes} pushes");
}

#[test]
fn a_light_node_that_comes_back_gets_what_it_missed() {
    let (mut edge, mut light) = setup();
    edge.close_all();
    light.close_all();
    assert_eq!(edge.protocol.stats().watches, 0, "the edge node forgets a light node gone");
    gossip_to(&mut edge, 1, liked(200..202, &["a", "b"]));
    pump(&mut edge, &mut light);
    assert_eq!(held(&light, "a"), 6);
    let received = light.received;
    converge(&mut light, &mut edge);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(held(&light, "a"), 10, "the two likes and views missed");
    assert_eq!(held(&light, "b"), 0);
    // What differs comes, not the whole tweet again: four entries and a tally.
    assert!(light.received - received < 3000, "{} bytes", light.received - received);
}

/// A `Watch` answer names the tweets it brought current, one nobody liked too (a page shows its
/// 0 rather than a loading state); a push names none.
#[test]
fn a_watch_answer_loads_the_tweets_it_answered_nobody_liked_included() {
    let (mut edge, mut light) = setup();
    let mut loaded = light.loaded.clone();
    loaded.sort();
    assert_eq!(loaded, [tweet("a"), tweet("popular")]);
    light.protocol.watch(&[tweet("nobody")], light.now);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(light.loaded.last(), Some(&tweet("nobody")));
    assert_eq!(held(&light, "nobody"), 0);
    let before = light.loaded.len();
    gossip_to(&mut edge, 1, liked(200..201, &["a"]));
    run(&mut edge, &mut light, Duration::from_secs(2));
    assert_eq!(held(&light, "a"), 8, "pushed");
    assert_eq!(light.loaded.len(), before);
}

/// A `Watch` answer refused (here: it brings a tweet not asked) leaves its tweets to be asked
/// again after the retry wait, as a failed request does: the next answer loads them.
#[test]
fn a_refused_watch_answer_is_asked_again() {
    let mut edge = Sim::new(1, edge_config());
    let mut light = Sim::new(2, light_config());
    edge.replica.merge(&namespace(), liked(100..103, &["a"]));
    light.protocol.watch(&[tweet("a")], light.now);
    let address = edge_address(1, "tcp");
    light.connect(id(&edge), &address, false, None);
    edge.connect(id(&light), &address, true, None);
    let mut refused = false;
    for _ in 0..100 {
        let (watch, rest): (Vec<Action>, Vec<Action>) = light
            .actions()
            .into_iter()
            .partition(|a| !refused && matches!(a, Action::SendLight { .. }));
        for action in watch {
            if let Action::SendLight { request, .. } = action {
                let (edge_id, now) = (id(&edge), light.now);
                let foreign = liked(100..101, &["b"]);
                let answer =
                    LightResponse::Tweets { entries: foreign, tallies: vec![], later: vec![] };
                let bytes = answer.encode(&namespace());
                light.protocol.handle_light_response(edge_id, request, &bytes, &light.replica, now);
                refused = true;
            }
        }
        let (light_id, edge_id) = (id(&light), id(&edge));
        carry_these(&mut light, &mut edge, light_id, rest);
        carry(&mut edge, &mut light, edge_id);
        if refused {
            break;
        }
        light.advance(Duration::from_millis(10));
        edge.advance(Duration::from_millis(10));
    }
    assert!(refused && light.loaded.is_empty());
    assert_eq!(held(&light, "a"), 0);
    run(&mut edge, &mut light, Duration::from_secs(2));
    assert_eq!(light.loaded, [tweet("a")]);
    assert_eq!(held(&light, "a"), 6);
}

#[test]
fn watches_beyond_the_bound_are_answered_but_not_kept() {
    let mut edge = Sim::new(1, edge_config());
    let mut light = Sim::new(2, light_config());
    let tweets: Vec<TweetId> =
        (0..MAX_WATCHED_PER_PEER + 5).map(|i| tweet(&format!("t{i}"))).collect();
    light.protocol.watch(&tweets, light.now);
    converge(&mut light, &mut edge);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(edge.protocol.stats().watches, MAX_WATCHED_PER_PEER as u64);
    assert_eq!(edge.protocol.stats().dropped(DropReason::WatchLimit), 5);
}

/// Watches are shared fairly: light nodes at one address (peer ids cost nothing) hold at most
/// their address's share ([`WatchCaps`]), and the last quarter of all is kept for addresses
/// holding few, so light nodes at a few addresses cannot take every watch from the rest
/// (watches of tweets nobody liked cost the asker an item each all the same).
#[test]
fn watches_are_shared_per_address_with_a_reserve_for_addresses_holding_few() {
    let mut edge = Sim::new(1, edge_config());
    let WatchCaps { per_ip, total } = WatchCaps::default();
    let mut next = 0u32;
    // Watches `count` tweets nobody liked, 1,024 a request, as `peer` at `address`.
    let mut watch = |edge: &mut Sim, peer: PeerId, count: usize| {
        for _ in 0..count.div_ceil(1024) {
            let tweets = (0..1024).map(|_| {
                next += 1;
                (tweet(&format!("unknown-{next}")), 0)
            });
            let request = LightRequest::Watch {
                node: None,
                generation: generation(9),
                tweets: tweets.collect(),
            };
            let bytes = request.encode(&namespace());
            assert!(
                edge.protocol.handle_light_request(peer, &bytes, &edge.replica, edge.now).is_some()
            );
        }
    };
    let connect = |edge: &mut Sim, seed: u8, ip: String| {
        let peer = peer_id(seed);
        let address: libp2p::Multiaddr = format!("/ip4/{ip}/tcp/1").parse().expect("valid");
        edge.connect(peer, &address, true, None);
        peer
    };
    // Five light nodes at one address: four fill its share, the fifth is refused.
    let peers: Vec<PeerId> =
        (0..5).map(|i| connect(&mut edge, 20 + i, "10.0.0.1".into())).collect();
    for peer in &peers {
        watch(&mut edge, *peer, MAX_WATCHED_PER_PEER);
    }
    assert_eq!(edge.protocol.stats().watches, per_ip as u64);
    assert_eq!(edge.protocol.stats().dropped(DropReason::WatchLimit), MAX_WATCHED_PER_PEER as u64);
    // Five more such addresses: all watches but the reserve are taken.
    for n in 2..=6 {
        for i in 0..4 {
            let peer = connect(&mut edge, 30 + 4 * n + i, format!("10.0.0.{n}"));
            watch(&mut edge, peer, MAX_WATCHED_PER_PEER);
        }
    }
    let reserve = total - total * 3 / 4;
    assert_eq!(edge.protocol.stats().watches as usize, total - reserve);
    // A seventh address gets watches from the reserve, up to one light node's bound; its
    // second light node gets none.
    let (a, b) =
        (connect(&mut edge, 100, "10.0.0.7".into()), connect(&mut edge, 101, "10.0.0.7".into()));
    let refused = edge.protocol.stats().dropped(DropReason::WatchLimit);
    watch(&mut edge, a, MAX_WATCHED_PER_PEER);
    watch(&mut edge, b, 1024);
    assert_eq!(edge.protocol.stats().dropped(DropReason::WatchLimit) - refused, 1024);
    assert_eq!(edge.protocol.stats().watches as usize, total - reserve + MAX_WATCHED_PER_PEER);
}

/// Pushes are work done for a light node: charged to its answer allowance, and held back while
/// it is spent (what changed waits, and comes in one later push).
#[test]
fn pushes_wait_while_the_light_nodes_answer_allowance_is_spent() {
    let ingest = IngestLimits {
        answers: Shares {
            per_peer: Allowance { per_second: 20.0, burst: 40.0 },
            ..IngestLimits::default().answers
        },
        ..IngestLimits::default()
    };
    let mut edge = Sim::new(1, PeerConfig { ingest, ..edge_config() });
    let mut light = Sim::new(2, light_config());
    light.protocol.watch(&[tweet("a")], light.now);
    converge(&mut light, &mut edge);
    run(&mut edge, &mut light, Duration::from_millis(100));
    // Forty likes and views on the watched tweet in 400 ms: pushed as the allowance lets.
    for n in 0..20 {
        gossip_to(&mut edge, 10 + n, liked(100 + n..101 + n, &["a"]));
        run(&mut edge, &mut light, Duration::from_millis(20));
    }
    // Unlimited, all would have come within a push interval or two.
    run(&mut edge, &mut light, Duration::from_millis(200));
    let early = held(&light, "a");
    assert!(early < 40, "{early} of 40 entries pushed at once");
    run(&mut edge, &mut light, Duration::from_secs(3));
    assert_eq!(held(&light, "a"), 40, "the rest once the allowance holds them");
}

/// A tally signed for an answer is charged to the asker's answer allowance as the signature it
/// costs ([`TALLY_ANSWER_ITEMS`] items besides the tally and the tweet asked), not as one item:
/// a light node asking for a popular tweet again and again is held back. A tally signed before
/// and still true is reused (one signature per tweet and change, however many light nodes
/// watch it), and costs what sending it does.
#[test]
fn tallies_spend_the_answer_allowance_as_their_signatures_cost() {
    let ingest = IngestLimits {
        answers: Shares {
            per_peer: Allowance { per_second: 10.0, burst: 200.0 },
            ..IngestLimits::default().answers
        },
        ..IngestLimits::default()
    };
    let mut edge = Sim::new(1, PeerConfig { ingest, ..edge_config() });
    edge.replica.merge(&namespace(), liked(100..171, &["popular"]));
    let light = replica(2);
    let watch = LightRequest::Watch {
        node: None,
        generation: light.local_writer().generation,
        tweets: vec![(tweet("popular"), 0)],
    };
    let bytes = watch.encode(&namespace());
    let asker = light.local_writer().node.peer_id();
    assert!(edge.protocol.handle_light_request(asker, &bytes, &edge.replica, edge.now).is_some());
    // An answer needs the whole burst: back only once the signature's items came back (10 a
    // second), not a fifth of a second later as two items would.
    let signed = Duration::from_secs_f64((TALLY_ANSWER_ITEMS + 2) as f64 / 10.0);
    edge.advance(signed - Duration::from_millis(200));
    assert!(edge.protocol.handle_light_request(asker, &bytes, &edge.replica, edge.now).is_none());
    assert_eq!(edge.protocol.stats().dropped(DropReason::RateLimited), 1);
    edge.advance(Duration::from_millis(300));
    assert!(edge.protocol.handle_light_request(asker, &bytes, &edge.replica, edge.now).is_some());
    // Asked again, the tweet unchanged: the same tally, two items.
    edge.advance(Duration::from_millis(300));
    assert!(edge.protocol.handle_light_request(asker, &bytes, &edge.replica, edge.now).is_some());
    // Changed, it is signed anew, and the signature charged again.
    edge.replica.merge(&namespace(), liked(171..172, &["popular"]));
    edge.advance(Duration::from_millis(300));
    assert!(edge.protocol.handle_light_request(asker, &bytes, &edge.replica, edge.now).is_some());
    edge.advance(Duration::from_millis(300));
    assert!(edge.protocol.handle_light_request(asker, &bytes, &edge.replica, edge.now).is_none());
}

#[test]
fn requests_a_node_does_not_answer_are_refused_and_counted() {
    let (mut edge, mut light) = setup();
    let push = LightRequest::Update { entries: liked(200..201, &["a"]), tallies: Vec::new() };
    let bytes = push.encode(&namespace());
    assert!(
        edge.protocol.handle_light_request(id(&light), &bytes, &edge.replica, edge.now).is_none()
    );
    assert_eq!(edge.protocol.stats().dropped(DropReason::BadLightRequest), 1);
    let watch = LightRequest::Watch {
        node: None,
        generation: generation(1),
        tweets: vec![(tweet("a"), 0)],
    };
    let bytes = watch.encode(&namespace());
    assert!(
        light.protocol.handle_light_request(id(&edge), &bytes, &light.replica, light.now).is_none()
    );
    assert_eq!(light.protocol.stats().dropped(DropReason::BadLightRequest), 1);
    assert!(
        light
            .protocol
            .handle_light_request(id(&edge), b"\x02garbage", &light.replica, light.now)
            .is_none()
    );
}

/// An edge node's word on a tweet lasts only while it gives it: a tally the light node holds
/// is dropped when its edge node answers the tweet without one (served by its entries now),
/// and an edge node whose tally did not check ([`warpnet_stats::protocol::Protocol::distrust`]) has its
/// tallies refused from then on, so it cannot pin false numbers.
#[test]
fn an_edge_nodes_tally_lasts_only_while_it_gives_it_and_checks() {
    let (mut edge, mut light) = setup();
    assert!(light.tallies.contains_key(&tweet("popular")));
    // A tally of "a" the light node kept (from before a reload, say): the edge node serves
    // "a" by its entries, so its answer to the next Watch drops it.
    let tally = light.tallies[&tweet("popular")].clone();
    light.tallies.insert(tweet("a"), tally);
    light.close_all();
    edge.close_all();
    converge(&mut light, &mut edge);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert!(!light.tallies.contains_key(&tweet("a")), "dropped: answered by entries");
    assert!(light.tallies.contains_key(&tweet("popular")), "still tallied");
    // Distrusted, the edge node's tallies are refused (counted), its entries still taken.
    light.protocol.distrust(id(&edge));
    let figures = edge.replica.figures(&tweet("popular"));
    let tally = Tally::sign(edge.replica.identity(), &namespace(), tweet("popular"), figures);
    let push = LightRequest::Update {
        entries: liked(200..201, &["a"]),
        tallies: vec![Tallied { tally, yours: [0; 4] }],
    };
    let bytes = push.encode(&namespace());
    light.protocol.handle_light_request(id(&edge), &bytes, &light.replica, light.now);
    let actions = light.actions();
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::Tallies { tallies, .. } if !tallies.is_empty()))
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Merge { .. })));
    assert_eq!(light.protocol.stats().dropped(DropReason::BadLightResponse), 1);
}

#[test]
fn pushes_with_forged_tallies_or_unwatched_tweets_are_refused() {
    let (edge, mut light) = setup();
    let figures = edge.replica.figures(&tweet("popular"));
    let mut forged = figures;
    forged.totals[0] += 1000;
    // Signed, but by another node than the edge node that pushes it.
    let stranger = Tally::sign(&identity(77), &namespace(), tweet("popular"), forged);
    let push = LightRequest::Update {
        entries: Vec::new(),
        tallies: vec![Tallied { tally: stranger, yours: [0; 4] }],
    };
    let before = light.tallies[&tweet("popular")].clone();
    let reply = light.protocol.handle_light_request(
        id(&edge),
        &push.encode(&namespace()),
        &light.replica,
        light.now,
    );
    assert!(reply.is_some(), "acknowledged, so the edge node's next push goes");
    assert!(light.actions().iter().all(|a| !matches!(a, Action::Tallies { .. })));
    assert_eq!(light.protocol.stats().dropped(DropReason::BadLightResponse), 1);
    assert_eq!(light.tallies[&tweet("popular")], before);

    // Entries of a tweet not watched are dropped, those of a watched one taken.
    let push = LightRequest::Update { entries: liked(200..201, &["b", "a"]), tallies: Vec::new() };
    light.protocol.handle_light_request(
        id(&edge),
        &push.encode(&namespace()),
        &light.replica,
        light.now,
    );
    let merged: usize = light
        .actions()
        .iter()
        .filter_map(|a| match a {
            Action::Merge { entries, .. } => {
                Some(entries.iter().map(|g| g.leaves.len()).sum::<usize>())
            }
            _ => None,
        })
        .sum();
    assert_eq!(merged, 2);
    assert_eq!(light.protocol.stats().dropped(DropReason::Unsolicited), 2);
}

/// Real libp2p on loopback: a light node and a full node connected to one edge node.
#[cfg(not(target_arch = "wasm32"))]
mod loopback {
    use super::common::net::{Running, local, quiet, wait_for};
    use super::*;
    use warpnet_stats::{Action as UserAction, MemoryStore};

    /// The light node gets likes on the tweet it watches, not on the other, and its own like
    /// reaches the full node through the edge node though it hears no gossip.
    #[test]
    fn a_light_node_gets_likes_on_watched_tweets_only_and_publishes_its_own() {
        local(async {
            let edge =
                Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0/ws"], quiet())
                    .await;
            let author = Running::start_with(MemoryStore::new(), &[], quiet()).await;
            let light = Running::start_with(MemoryStore::new(), &[], light_config()).await;
            let store_writer = light.node.node_id().peer_id();
            assert_ne!(light.id(), store_writer, "a network identity of its own");
            assert_eq!(edge.id(), edge.node.node_id().peer_id(), "a full node's is its store's");
            author.handle.keep_connected(edge.address("ws"));
            light.handle.keep_connected(edge.address("ws"));
            light.handle.watch(&[tweet("watched")]);
            wait_for("the watch", || edge.handle.stats().watches == 1).await;
            wait_for("the author's subscription", || author.handle.stats().syncs_completed >= 2)
                .await;
            // The unwatched like first: had it been pushed, it came no later than the other.
            let like = |who: &str| UserAction::Like(user(who));
            author.node.submit(tweet("unwatched"), like("ann")).await.expect("commits");
            author.node.submit(tweet("watched"), like("ann")).await.expect("commits");
            wait_for("the watched like", || light.node.stats(&tweet("watched")).likes == 1).await;
            assert_eq!(edge.node.stats(&tweet("unwatched")).likes, 1);
            assert_eq!(light.node.stats(&tweet("unwatched")).likes, 0);
            assert_eq!(light.handle.stats().light_entries, 1);
            assert_eq!(light.handle.stats().gossip_entries, 0, "no gossip reaches a light node");

            light.node.submit(tweet("watched"), like("bob")).await.expect("commits");
            wait_for("the light node's like", || author.node.stats(&tweet("watched")).likes == 2)
                .await;
            assert_eq!(light.node.shown(&tweet("watched")).stats.likes, 2);
            assert!(light.node.shown(&tweet("watched")).verified);
            light.stop().await;
            author.stop().await;
            edge.stop().await;
        });
    }

    /// A popular tweet comes as the edge node's tally, shown unverified until checked against
    /// every writer's entries.
    #[test]
    fn a_popular_tweets_tally_is_shown_then_verified_on_demand() {
        local(async {
            let edge =
                Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0/ws"], quiet())
                    .await;
            edge.node.merge(liked(100..171, &["popular"])).await.expect("merged");
            let light = Running::start_with(MemoryStore::new(), &[], light_config()).await;
            light.node.hold_at_most(10).await.expect("stored");
            light.handle.keep_connected(edge.address("ws"));
            let popular = tweet("popular");
            light.node.watch(std::slice::from_ref(&popular)).await.expect("stored");
            light.handle.watch(std::slice::from_ref(&popular));
            // Loaded once the answer is taken in, its tally with it (never loaded without).
            wait_for("the answer", || light.node.shown(&popular).loaded).await;
            assert!(light.node.tally(&popular).is_some());
            let shown = light.node.shown(&popular);
            assert_eq!(shown.stats, edge.node.stats(&popular));
            assert!(!shown.verified);
            assert_eq!(light.node.with_replica(|r| r.len()), 0, "no writer's entry downloaded");
            assert_eq!(light.handle.verify(popular.clone()).await, Ok(true));
            assert!(light.node.shown(&popular).verified);
            assert_eq!(light.node.with_replica(|r| r.len()), 0, "checked, not kept");
            light.stop().await;
            edge.stop().await;
        });
    }
}
