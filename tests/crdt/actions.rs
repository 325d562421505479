//! User actions: idempotent likes and retweets per user, replies per reply id, views always;
//! every call returns the aggregate after it, and the change to persist.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use warpnet_stats::{Action, Mark, NodeState, PnCounter, Record, ReplyId, Stats};

fn node(seed: u8) -> NodeState {
    NodeState::new(namespace(), RULES, identity(seed), generation(seed))
}

fn reply(text: &str) -> ReplyId {
    ReplyId::new(text).expect("valid reply id")
}

#[test]
fn liking_twice_or_unliking_without_a_like_changes_nothing() {
    let mut node = node(1);
    let t = tweet("t");
    let outcome = node.apply(&t, &Action::Like(user("alice"))).expect("within bounds");
    assert_eq!(outcome.count, 1);
    let entry = outcome.entry.expect("a counter changed");
    assert_eq!(entry.counter, PnCounter::new(1, 0));
    assert_eq!(
        outcome.record,
        Some(Record {
            mark: Mark::Liked,
            tweet: t.clone(),
            subject: "alice".into(),
            present: true
        })
    );
    let again = node.apply(&t, &Action::Like(user("alice"))).expect("within bounds");
    assert_eq!((again.count, again.entry, again.record), (1, None, None));
    let nothing = node.apply(&t, &Action::Unlike(user("bob"))).expect("within bounds");
    assert_eq!((nothing.count, nothing.entry, nothing.record), (1, None, None));
    assert_eq!(node.apply(&t, &Action::Like(user("bob"))).expect("within bounds").count, 2);
    let unliked = node.apply(&t, &Action::Unlike(user("alice"))).expect("within bounds");
    assert_eq!(unliked.count, 1);
    assert_eq!(unliked.entry.expect("changed").counter, PnCounter::new(2, 1));
    assert!(!node.has_mark(Mark::Liked, &t, "alice"));
    assert!(node.has_mark(Mark::Liked, &t, "bob"));
    // Liking again after an unlike counts again.
    assert_eq!(node.apply(&t, &Action::Like(user("alice"))).expect("within bounds").count, 2);
}

#[test]
fn every_stat_kind_has_its_actions() {
    let mut node = node(1);
    let t = tweet("t");
    node.apply(&t, &Action::Like(user("u"))).expect("within bounds");
    node.apply(&t, &Action::Retweet(user("u"))).expect("within bounds");
    node.apply(&t, &Action::Retweet(user("u"))).expect("within bounds");
    node.apply(&t, &Action::Retweet(user("v"))).expect("within bounds");
    node.apply(&t, &Action::Unretweet(user("v"))).expect("within bounds");
    node.apply(&t, &Action::Reply(reply("r1"))).expect("within bounds");
    node.apply(&t, &Action::Reply(reply("r1"))).expect("within bounds");
    node.apply(&t, &Action::Reply(reply("r2"))).expect("within bounds");
    node.apply(&t, &Action::DeleteReply(reply("r2"))).expect("within bounds");
    node.apply(&t, &Action::DeleteReply(reply("never"))).expect("within bounds");
    for _ in 0..3 {
        node.apply(&t, &Action::View).expect("within bounds");
    }
    assert_eq!(node.stats(&t), Stats { likes: 1, retweets: 1, replies: 1, views: 3 });
    assert!(node.has_mark(Mark::Retweeted, &t, "u"));
    assert!(node.has_mark(Mark::Replied, &t, "r1"));
    assert!(!node.has_mark(Mark::Replied, &t, "r2"));
}

#[test]
fn views_always_count_and_record_nothing() {
    let mut node = node(1);
    let t = tweet("t");
    let first = node.apply(&t, &Action::View).expect("within bounds");
    let second = node.apply(&t, &Action::View).expect("within bounds");
    assert_eq!((first.count, second.count), (1, 2));
    assert_eq!(second.record, None);
    assert_eq!(second.entry.expect("changed").counter, PnCounter::new(2, 0));
}

#[test]
fn marks_are_per_tweet_and_per_kind() {
    let mut node = node(1);
    node.apply(&tweet("a"), &Action::Like(user("u"))).expect("within bounds");
    assert_eq!(node.apply(&tweet("b"), &Action::Like(user("u"))).expect("within bounds").count, 1);
    assert_eq!(
        node.apply(&tweet("a"), &Action::Retweet(user("u"))).expect("within bounds").count,
        1
    );
    assert_eq!(
        node.apply(&tweet("a"), &Action::Unretweet(user("u"))).expect("within bounds").count,
        0
    );
    assert_eq!(node.stats(&tweet("a")).likes, 1);
    let mut liked: Vec<_> =
        node.all_marks(Mark::Liked).map(|(t, s)| (t.to_string(), s.to_owned())).collect();
    liked.sort();
    assert_eq!(liked, [("a".to_owned(), "u".to_owned()), ("b".to_owned(), "u".to_owned())]);
    assert_eq!(node.all_marks(Mark::Retweeted).count(), 0, "unretweeted");
}
