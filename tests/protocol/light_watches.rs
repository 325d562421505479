//! A light node's watches as an app makes them (nested, overlapping, ended while an answer is
//! on its way) and its tally checks (on a full node, after its own actions, while the tweet
//! moves), between simulated protocols on virtual time. The same tests run natively and in
//! wasm.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::time::Duration;

use common::light::*;
use common::sim::*;
use common::*;
use warpnet_stats::protocol::Action;
use warpnet_stats::{
    DropReason, StatKind, TweetId, VerifyError,
    light::{Figures, LightRequest, Tally},
    wire::WireError,
};

/// What the node does with each tally check that ended (as `Peer` does): compares its figures
/// with the tally held and asks the protocol whether the outcome stands; returns those that
/// do, as whether they confirmed.
fn settle_checks(light: &mut Sim) -> Vec<(TweetId, Result<bool, VerifyError>)> {
    let mut stood = Vec::new();
    for (tweet, edge, outcome) in std::mem::take(&mut light.verified) {
        let tally = light.tallies.get(&tweet).map(|t| t.tally.figures);
        let agrees = outcome.map(|figures| tally.is_none_or(|tally| tally == figures));
        let mismatch = agrees == Ok(false);
        if light.protocol.tally_checked(&tweet, edge, mismatch, light.now) {
            stood.push((tweet, agrees));
        }
    }
    stood
}

/// Runs both clocks on by `by`, settling tally checks as they end; the outcomes that stood.
fn run_checks(
    edge: &mut Sim,
    light: &mut Sim,
    by: Duration,
) -> Vec<(TweetId, Result<bool, VerifyError>)> {
    let mut stood = Vec::new();
    for _ in 0..by.as_millis() / 10 {
        run(edge, light, Duration::from_millis(10));
        stood.extend(settle_checks(light));
    }
    stood
}

/// A like of `t` by the light node's own writer, as the edge node receives it.
fn own_like(edge: &mut Sim, light: &mut Sim, n: u8, t: &str) {
    let key = light.replica.increment(&tweet(t), StatKind::Likes).expect("ok").key;
    let sealed = light.replica.sealed(&[key]);
    gossip_to(edge, n, sealed);
}

#[test]
fn watches_nest_and_overlap_until_the_last_one_ends() {
    let (mut edge, mut light) = setup();
    // Watched once more, then that watch and the first ended: "a" is still watched once.
    light.protocol.watch(&[tweet("a")], light.now);
    light.protocol.unwatch(&[tweet("a")], light.now);
    // An overlapping watch of both, ended: "popular" is let go, "a" still watched.
    light.protocol.watch(&[tweet("a"), tweet("popular")], light.now);
    light.protocol.unwatch(&[tweet("a"), tweet("popular")], light.now);
    light.protocol.unwatch(&[tweet("popular")], light.now);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(edge.protocol.stats().watches, 1, "\"a\" only");
    gossip_to(&mut edge, 1, liked(200..201, &["a"]));
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(held(&light, "a"), 8, "still pushed: one watch of it is left");
    // The last watch ends: nothing more.
    light.protocol.unwatch(&[tweet("a")], light.now);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(edge.protocol.stats().watches, 0);
    gossip_to(&mut edge, 2, liked(201..202, &["a"]));
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(held(&light, "a"), 8);
    // A tweet listed twice in one watch is one watch.
    light.protocol.watch(&[tweet("b"), tweet("b")], light.now);
    light.protocol.unwatch(&[tweet("b")], light.now);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(edge.protocol.stats().watches, 0);
}

#[test]
fn an_answer_on_its_way_when_the_last_watch_ends_is_let_go() {
    let (mut edge, mut light) = setup();
    light.protocol.watch(&[tweet("b")], light.now);
    light.advance(Duration::ZERO); // the Watch of "b" goes out
    light.protocol.unwatch(&[tweet("b")], light.now);
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(held(&light, "b"), 0, "no updates after the last unwatch");
    assert_eq!(light.protocol.stats().dropped(DropReason::Unsolicited), 0, "it was asked");
}

#[test]
fn a_full_node_verifies_what_it_holds_at_once() {
    let (mut edge, _) = setup();
    edge.protocol.verify(tweet("popular"), edge.now);
    edge.advance(Duration::ZERO);
    let id = id(&edge);
    carry(&mut edge, &mut Sim::new(9, edge_config()), id);
    let figures = edge.replica.figures(&tweet("popular"));
    assert_eq!(edge.verified, vec![(tweet("popular"), None, Ok(figures))]);
}

/// Two tabs sharing a store are two peers, each with a network identity of its own (not its
/// store writer's, which would make the second connection look like a redial over a dead one:
/// the edge node would close both, again at every redial): each `Watch` names the writer, so the
/// tally each tab is sent counts the store's like as its own (`yours`), and the edge node serves
/// both side by side.
#[test]
fn tabs_of_one_store_are_two_peers_that_name_their_writer() {
    let mut edge = Sim::new(1, edge_config());
    edge.replica.merge(&namespace(), liked(100..171, &["popular"]));
    let edge_id = id(&edge);
    let address = edge_address(1, "ws");
    // Seed 2 for both: one store's writer (its identity and generation).
    let mut tabs = [Sim::new(2, light_config()), Sim::new(2, light_config())];
    own_like(&mut edge, &mut tabs[0], 1, "popular");
    carry(&mut edge, &mut Sim::new(9, edge_config()), edge_id); // the like merged there
    for (tab, seed) in tabs.iter_mut().zip([50, 51]) {
        let tab_id = peer_id(seed);
        edge.connect(tab_id, &address, true, None);
        tab.connect(edge_id, &address, false, None);
        tab.protocol.watch(&[tweet("popular")], tab.now);
        tab.advance(Duration::ZERO);
        while carry(tab, &mut edge, tab_id) | carry(&mut edge, tab, edge_id) {}
        let tallied = &tab.tallies[&tweet("popular")];
        assert_eq!(tallied.yours, [1, 0, 0, 0], "the writer's like counted as the tab's own");
        assert_eq!(tab.loaded, [tweet("popular")]);
    }
    assert_eq!(edge.protocol.peers().len(), 2, "both tabs connected");
}

/// The outcome of the check `sim` started, once it ended.
fn check_outcome(sim: &mut Sim) -> Option<Result<Figures, VerifyError>> {
    sim.actions().into_iter().find_map(|action| match action {
        Action::Verified { outcome, .. } => Some(outcome),
        _ => None,
    })
}

/// A check that cannot be made says why, as a typed error: no edge node connected, the edge
/// node did not answer, or its answer did not decode.
#[test]
fn a_check_that_cannot_be_made_says_why() {
    let mut alone = Sim::new(7, light_config());
    alone.protocol.verify(tweet("popular"), alone.now);
    alone.advance(Duration::ZERO);
    assert_eq!(check_outcome(&mut alone), Some(Err(VerifyError::NoEdgeNode)));

    let (edge, mut light) = setup();
    let edge_id = id(&edge);
    let unknown_version = vec![9u8, 1, 2];
    for answer in [None, Some(unknown_version)] {
        light.protocol.verify(tweet("popular"), light.now);
        light.advance(Duration::ZERO);
        let asked = light.actions().into_iter().find_map(|action| match action {
            Action::SendLight { request, .. } => Some(request),
            _ => None,
        });
        let asked = asked.expect("the edge node is asked");
        let (now, replica) = (light.now, &light.replica);
        let expected = match &answer {
            None => {
                light.protocol.handle_light_failed(edge_id, asked, now);
                VerifyError::NoAnswer(edge_id)
            }
            Some(bytes) => {
                light.protocol.handle_light_response(edge_id, asked, bytes, replica, now);
                VerifyError::Wire(WireError::UnknownVersion(9))
            }
        };
        assert_eq!(check_outcome(&mut light), Some(Err(expected)));
        assert!(light.protocol.tally_checked(&tweet("popular"), Some(edge_id), false, light.now));
    }
}

/// The tally a light node holds counts its own counters as they were: after its own like of
/// the tweet, its edge node sends the next tally, and a check (even one started before that
/// tally came) confirms it.
#[test]
fn a_tally_checks_after_the_light_nodes_own_actions() {
    let (mut edge, mut light) = setup();
    light.protocol.verify(tweet("popular"), light.now);
    assert_eq!(
        run_checks(&mut edge, &mut light, Duration::from_millis(100)),
        [(tweet("popular"), Ok(true))]
    );
    own_like(&mut edge, &mut light, 1, "popular");
    light.protocol.verify(tweet("popular"), light.now);
    let stood = run_checks(&mut edge, &mut light, Duration::from_millis(1000));
    assert_eq!(stood, [(tweet("popular"), Ok(true))]);
    let tallied = &light.tallies[&tweet("popular")];
    assert_eq!(tallied.yours[0], 1, "the next tally counts the like");
    assert_eq!(tallied.tally.figures, edge.replica.figures(&tweet("popular")));
    assert_eq!(tallied.stats([1, 0, 0, 0]), edge.replica.stats(&tweet("popular")));
}

/// A tally is a snapshot: a tweet that moved between it and the check is checked again once
/// the next tally came, and only a tally that never makes the entries served has its edge node
/// distrusted.
#[test]
fn a_mismatch_is_checked_again_before_the_edge_node_is_distrusted() {
    let (mut edge, mut light) = setup();
    gossip_to(&mut edge, 1, liked(200..201, &["popular"]));
    light.protocol.verify(tweet("popular"), light.now);
    light.advance(Duration::ZERO);
    pump(&mut edge, &mut light); // the check's pages are newer than the tally held
    assert!(settle_checks(&mut light).is_empty(), "checked again, not settled");
    let stood = run_checks(&mut edge, &mut light, Duration::from_millis(1000));
    assert_eq!(stood, [(tweet("popular"), Ok(true))]);

    // A tally the entries never make: three checks, then refused with its edge node.
    let mut forged = light.tallies[&tweet("popular")].clone();
    forged.tally.figures.totals[0] += 5;
    forged.tally =
        Tally::sign(edge.replica.identity(), &namespace(), tweet("popular"), forged.tally.figures);
    light.tallies.insert(tweet("popular"), forged.clone());
    light.protocol.verify(tweet("popular"), light.now);
    let stood = run_checks(&mut edge, &mut light, Duration::from_millis(1000));
    assert_eq!(stood, [(tweet("popular"), Ok(false))]);
    let push = LightRequest::Update { entries: Vec::new(), tallies: vec![forged] };
    let bytes = push.encode(&namespace());
    light.protocol.handle_light_request(id(&edge), &bytes, &light.replica, light.now);
    assert_eq!(light.protocol.stats().dropped(DropReason::BadLightResponse), 1, "distrusted");
}

/// A feed scrolled fast (a row in, a row out, 150 times before any answer came): one request
/// in flight per edge node at a time, however many watches and unwatches (the edge node's
/// inbound streams are bounded), and at the end the edge node watches what the rows show.
#[test]
fn a_feed_scrolled_fast_keeps_one_request_in_flight_per_edge_node() {
    let (mut edge, mut light) = setup();
    light.protocol.unwatch(&[tweet("a"), tweet("popular")], light.now);
    let mut shown = tweet("row-0");
    light.protocol.watch(std::slice::from_ref(&shown), light.now);
    let mut sent = Vec::new();
    for row in 1..150 {
        let next = tweet(&format!("row-{row}"));
        light.protocol.watch(std::slice::from_ref(&next), light.now);
        light.protocol.unwatch(std::slice::from_ref(&shown), light.now);
        shown = next;
        light.advance(Duration::from_millis(5));
        sent.extend(light.actions());
    }
    let requests = sent.iter().filter(|a| matches!(a, Action::SendLight { .. })).count();
    assert_eq!(requests, 1, "one request, not answered yet");
    let id = id(&light);
    carry_these(&mut light, &mut edge, id, sent);
    run(&mut edge, &mut light, Duration::from_millis(200));
    assert_eq!(edge.protocol.stats().watches, 1, "the last row's tweet");
    gossip_to(&mut edge, 1, liked(200..201, &["row-149", "row-148"]));
    run(&mut edge, &mut light, Duration::from_millis(100));
    assert_eq!(held(&light, "row-149"), 2);
    assert_eq!(held(&light, "row-148"), 0);
}

/// A push whose seal shows leaves of a watched tweet and of one unwatched since it was made:
/// the light node keeps the watched one's leaves, proven anew (a proof covers the leaves shown
/// together: dropping leaves left the rest failing as `bad_signature`), and counts the rest.
#[test]
fn leaves_kept_from_a_seal_partly_unwatched_still_check() {
    let (mut edge, mut light) = setup();
    light.protocol.watch(&[tweet("b")], light.now);
    run(&mut edge, &mut light, Duration::from_millis(100));
    let before = held(&light, "a");
    // One seal over likes and views of "a" and "b"; "b" is unwatched before the push comes.
    gossip_to(&mut edge, 1, liked(200..201, &["a", "b"]));
    let (id_edge, id_light) = (id(&edge), id(&light));
    carry(&mut edge, &mut light, id_edge); // merged at the edge node: a push is owed
    light.protocol.unwatch(&[tweet("b")], light.now);
    edge.advance(Duration::from_millis(60));
    while carry(&mut edge, &mut light, id_edge) | carry(&mut light, &mut edge, id_light) {}
    assert_eq!(held(&light, "a"), before + 2, "the like and view of \"a\"");
    let stats = light.protocol.stats();
    assert_eq!(stats.dropped(DropReason::BadSignature), 0, "{stats:?}");
    assert_eq!(stats.dropped(DropReason::Unsolicited), 2, "those of \"b\"");
}
