//! A light node's runtime: it holds other writers' counters of at most `max` tweets (watched,
//! then most recently used), forgets the rest in memory and in the store, keeps the order of
//! use across reopening, always keeps its own counters, shows tallies as unverified and a
//! watched tweet as loaded once an edge node answered. The same tests run natively and in wasm
//! (memory store; IndexedDB too in wasm).
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use futures::executor::block_on;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use warpnet_stats::{
    Action, MemoryStore, Node, StatKind, Stats, Store, TweetId,
    light::{Tallied, Tally},
    seal::Sealed,
};

fn tweets(range: std::ops::Range<usize>) -> Vec<TweetId> {
    range.map(|i| tweet(&format!("t{i}"))).collect()
}

/// Writer `seed`'s likes of every one of `tweets`, sealed.
fn likes(seed: u8, tweets: &[TweetId]) -> Vec<Sealed> {
    let mut writer = replica(seed);
    let keys: Vec<_> =
        tweets.iter().map(|t| writer.increment(t, StatKind::Likes).expect("ok").key).collect();
    writer.sealed(&keys)
}

async fn open<S: Store>(store: S) -> Node<S> {
    Node::open(namespace(), RULES, store).await.expect("opens")
}

/// The tweets whose other writers' counters `node` holds.
fn held<S: Store>(node: &Node<S>) -> Vec<TweetId> {
    let mut held: Vec<TweetId> = node.with_replica(|r| {
        let local = r.local_writer();
        r.entries().filter(|e| e.key.writer != local).map(|e| e.key.tweet).collect()
    });
    held.sort();
    held.dedup();
    held
}

/// A light node of bound 4 uses ten tweets in turn; `store()` gives its store (the same data
/// each time) to reopen it.
async fn most_recent_tweets_are_held<S: Store, F: Future<Output = S>>(store: impl Fn() -> F) {
    let node = open(store().await).await;
    node.hold_at_most(4).await.expect("stored");
    // Its own like on the first tweet, kept whatever is forgotten.
    node.submit(tweet("t0"), Action::Like(user("me"))).await.expect("commits");
    for (i, tweet) in tweets(0..10).iter().enumerate() {
        node.watch(std::slice::from_ref(tweet)).await.expect("stored");
        node.merge(likes(50, std::slice::from_ref(tweet))).await.expect("merged");
        node.unwatch(std::slice::from_ref(tweet));
        assert!(held(&node).len() <= 4, "after {i}: {:?}", held(&node));
    }
    assert_eq!(held(&node), tweets(6..10));
    assert_eq!(node.held_tweets(), Some(4));
    assert_eq!(node.stats(&tweet("t0")).likes, 1, "its own like stays");
    assert_eq!(node.stats(&tweet("t5")).likes, 0);
    assert_eq!(node.stats(&tweet("t9")).likes, 1);
    drop(node);
    // Each like came under a seal of its own: the records of the forgotten ones are deleted.
    let records = store().await.load().await.expect("loads");
    let seals = records.iter().filter(|(key, _)| key.starts_with("seal/")).count();
    assert_eq!(seals, 4, "the seal records of the 4 tweets held, none of the 6 forgotten");

    // Reopened as a full node: the store holds what memory did.
    let full = open(store().await).await;
    assert_eq!(held(&full), tweets(6..10));
    assert_eq!(full.stats(&tweet("t0")).likes, 1);
    drop(full);

    // Reopened light with a smaller bound: the least recently used go first.
    let again = open(store().await).await;
    again.hold_at_most(2).await.expect("stored");
    assert_eq!(held(&again), tweets(8..10));
    drop(again);
    assert_eq!(held(&open(store().await).await), tweets(8..10));
}

#[test]
fn a_light_node_holds_the_most_recently_used_tweets_up_to_its_bound() {
    let store = MemoryStore::new();
    block_on(most_recent_tweets_are_held(|| std::future::ready(store.clone())));
}

/// The same on disk.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_light_node_forgets_in_redb() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("light.redb");
    let store = || std::future::ready(warpnet_stats::RedbStore::open(&path).expect("opens"));
    block_on(most_recent_tweets_are_held(store));
}

/// The same in IndexedDB: forgotten rows are deleted from the database.
#[cfg(target_arch = "wasm32")]
#[test]
async fn a_light_node_forgets_in_indexed_db() {
    let name = format!("light-node-test-{}", js_sys::Math::random());
    let store = || async { warpnet_stats::IndexedDbStore::open(&name).await.expect("opens") };
    most_recent_tweets_are_held(store).await;
}

#[test]
fn watched_tweets_stay_while_unwatched_ones_make_room() {
    block_on(async {
        let node = open(MemoryStore::new()).await;
        node.hold_at_most(3).await.expect("stored");
        node.watch(&tweets(0..2)).await.expect("stored");
        node.merge(likes(50, &tweets(0..2))).await.expect("merged");
        for tweet in tweets(2..8) {
            node.touch(std::slice::from_ref(&tweet)).await.expect("stored");
            node.merge(likes(50, std::slice::from_ref(&tweet))).await.expect("merged");
        }
        assert_eq!(held(&node), [tweets(0..2), tweets(7..8)].concat());
    });
}

/// A tweet let go changes what is shown of it (only the node's own counts are left), so the
/// observers of what is shown (a worker's page copy, "change" events) are told.
#[test]
fn tweets_let_go_are_told_to_the_observers_of_what_is_shown() {
    block_on(async {
        let node = open(MemoryStore::new()).await;
        node.hold_at_most(2).await.expect("stored");
        let told = Rc::new(RefCell::new(Vec::new()));
        let sink = told.clone();
        node.on_shown(move |tweets| sink.borrow_mut().extend_from_slice(tweets));
        node.merge(likes(50, &tweets(0..3))).await.expect("merged");
        node.watch(&tweets(0..2)).await.expect("stored");
        node.unwatch(&tweets(0..1));
        assert!(told.borrow().is_empty(), "nothing let go yet: {:?}", told.borrow());
        node.watch(&tweets(2..3)).await.expect("stored");
        assert_eq!(*told.borrow(), tweets(0..1), "the least recently used unwatched one");
        assert_eq!(node.shown(&tweets(0..1)[0]).stats, Stats::default());
    });
}

#[test]
fn a_full_node_forgets_nothing() {
    block_on(async {
        let node = open(MemoryStore::new()).await;
        node.watch(&tweets(0..3)).await.expect("nothing to store");
        node.merge(likes(50, &tweets(0..300))).await.expect("merged");
        assert_eq!(held(&node).len(), 300);
        assert_eq!(node.held_tweets(), None);
    });
}

#[test]
fn a_tally_is_shown_as_the_edge_nodes_word_with_the_nodes_own_counts_swapped_in() {
    block_on(async {
        let store = MemoryStore::new();
        let node = open(store.clone()).await;
        node.hold_at_most(10).await.expect("stored");
        let popular = tweet("popular");
        node.submit(popular.clone(), Action::Like(user("me"))).await.expect("commits");
        node.watch(std::slice::from_ref(&popular)).await.expect("stored");
        node.answered(std::slice::from_ref(&popular));
        assert_eq!(node.shown(&popular).stats.likes, 1);
        assert!(node.shown(&popular).verified);
        let mut edge = replica(9);
        edge.merge(&namespace(), likes(50, std::slice::from_ref(&popular)));
        let mut figures = edge.figures(&popular);
        // The edge node counted 1,000 likes, not this node's (it had not got it yet).
        figures.totals[0] = 1000;
        let tally = Tally::sign(&identity(9), &namespace(), popular.clone(), figures);
        node.keep_tallies(vec![Tallied { tally, yours: [0; 4] }]).await.expect("stored");
        let shown = node.shown(&popular);
        assert!(!shown.verified);
        assert_eq!(shown.stats, Stats { likes: 1001, ..Stats::default() });
        assert!(!node.confirm(&popular, edge.figures(&popular)), "the writers' entries differ");
        assert!(!node.shown(&popular).verified);
        assert!(node.confirm(&popular, figures));
        assert!(node.shown(&popular).verified);
        drop(node);

        // Kept in the store: a reload shows it at once (not verified: checked in memory only).
        let node = open(store.clone()).await;
        node.hold_at_most(10).await.expect("stored");
        assert_eq!(node.shown(&popular).stats, Stats { likes: 1001, ..Stats::default() });
        assert!(!node.shown(&popular).verified);
        // Forgotten with the tweet, once ten others were used since it was acted on.
        for tweet in tweets(0..9) {
            node.touch(std::slice::from_ref(&tweet)).await.expect("stored");
        }
        assert!(node.tally(&popular).is_some(), "acting on it was using it");
        node.touch(&tweets(9..10)).await.expect("stored");
        assert!(node.tally(&popular).is_none());
        assert!(!node.shown(&popular).loaded && !node.shown(&popular).verified, "not watched");
        drop(node);
        let node = open(store).await;
        assert!(node.tally(&popular).is_none(), "and from the store");

        // Every tweet shown, from held counters or a tally alone, as shown (what the page's copy
        // of a node in a worker starts from).
        node.hold_at_most(10).await.expect("stored");
        let only_tallied = tweet("only-tallied");
        let tally = Tally::sign(&identity(9), &namespace(), only_tallied.clone(), figures);
        node.keep_tallies(vec![Tallied { tally, yours: [0; 4] }]).await.expect("stored");
        let mut all: Vec<_> = node.shown_all().into_iter().map(|(t, s)| (t, s.stats)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let likes = |likes| Stats { likes, ..Stats::default() };
        assert_eq!(all, [(only_tallied, likes(1000)), (popular, likes(1))]);
    });
}

#[test]
fn a_watched_tweet_is_loaded_once_an_edge_node_answered_until_no_watch_of_it_is_left() {
    block_on(async {
        let node = open(MemoryStore::new()).await;
        node.hold_at_most(10).await.expect("stored");
        let told = Rc::new(RefCell::new(Vec::new()));
        let heard = told.clone();
        node.on_shown(move |tweets| heard.borrow_mut().extend_from_slice(tweets));
        let [a, b] = [tweet("a"), tweet("b")];
        node.watch(&[a.clone(), b.clone()]).await.expect("stored");
        node.watch(std::slice::from_ref(&a)).await.expect("stored");
        let shown = node.shown(&a);
        assert!(!shown.loaded && !shown.verified, "0 likes, but not known yet");
        // Nobody liked `a`: the answer changes no count, and the observers are told all the
        // same (a page shows 0 instead of loading), once.
        node.answered(std::slice::from_ref(&a));
        node.answered(std::slice::from_ref(&a));
        assert_eq!(*told.borrow(), std::slice::from_ref(&a));
        assert!(node.shown(&a).loaded && node.shown(&a).verified);
        assert!(!node.shown(&b).loaded);
        // An answer for a tweet not watched (any more) loads nothing.
        node.answered(&[tweet("c")]);
        assert!(!node.shown(&tweet("c")).loaded);
        // Watches nest: loaded until the last one ends (the edge node stops pushing then).
        node.unwatch(std::slice::from_ref(&a));
        assert!(node.shown(&a).loaded);
        node.unwatch(&[a.clone(), b]);
        assert!(!node.shown(&a).loaded && !node.shown(&a).verified);
        assert_eq!(*told.borrow(), [a.clone(), a.clone()], "told it is no longer loaded");
        // A full node shows every tweet loaded: it receives everything.
        let full = open(MemoryStore::new()).await;
        assert!(full.shown(&a).loaded && full.shown(&a).verified);
    });
}

#[test]
fn tweets_forgotten_stay_forgotten_though_they_came_in_a_journal_record() {
    block_on(async {
        let store = MemoryStore::new();
        let node = open(store.clone()).await;
        node.hold_at_most(1000).await.expect("stored");
        let many = tweets(0..600);
        node.touch(&many).await.expect("stored");
        // 600 rows in one merge: written as one journal record.
        node.merge(likes(50, &many)).await.expect("merged");
        assert!(node.has_journal());
        node.touch(&tweets(600..1000)).await.expect("stored");
        node.touch(&tweets(1000..1100)).await.expect("stored");
        let first: Vec<TweetId> = tweets(0..100);
        assert_eq!(held(&node).len(), 500);
        assert!(held(&node).iter().all(|t| !first.contains(t)));
        drop(node);
        let reopened = open(store).await;
        assert_eq!(held(&reopened).len(), 500);
        assert!(held(&reopened).iter().all(|t| !first.contains(t)));
    });
}
