//! The node runtime over real stores: identity and counts survive reopening, two nodes sharing
//! one store (two tabs) lose no increment, a failed write keeps earlier data, and a store from
//! an unknown layout is refused rather than misread.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::cell::Cell;

use common::*;
use futures::executor::block_on;
use warpnet_stats::{
    Action, ActionError, Caps, ChangeSource, Changes, Mark, MemoryStore, Node, OpenError,
    OutOfBounds, Replica, Rules, StatKind, Stats, Store, StoreError, Write, seal::Sealed,
    sync::SyncSession,
};

#[test]
fn a_new_store_gets_an_identity_that_reopening_keeps() {
    let store = MemoryStore::new();
    let first = open_node(store.clone());
    let again = open_node(store.clone());
    assert_eq!(first.node_id(), again.node_id());
    assert_eq!(first.generation(), again.generation());
    let other = open_node(MemoryStore::new());
    assert_ne!(other.node_id(), first.node_id());
    assert_ne!(other.generation(), first.generation());
    assert!(!first.persistent());
}

#[test]
fn every_action_persists_and_counts_survive_reopening() {
    let store = MemoryStore::new();
    let node = open_node(store.clone());
    assert_eq!(act(&node, "t", Action::Like(user("alice"))), Ok(1));
    assert_eq!(act(&node, "t", Action::Like(user("alice"))), Ok(1));
    assert_eq!(act(&node, "t", Action::Retweet(user("bob"))), Ok(1));
    assert_eq!(
        act(&node, "t", Action::Reply(warpnet_stats::ReplyId::new("r1").expect("valid"))),
        Ok(1)
    );
    assert_eq!(act(&node, "t", Action::View), Ok(1));
    assert_eq!(act(&node, "t", Action::View), Ok(2));
    let expected = Stats { likes: 1, retweets: 1, replies: 1, views: 2 };
    assert_eq!(node.stats(&tweet("t")), expected);
    drop(node);

    let reopened = open_node(store);
    assert_eq!(reopened.stats(&tweet("t")), expected);
    assert!(reopened.has_mark(Mark::Liked, &tweet("t"), "alice"));
    assert!(reopened.has_mark(Mark::Retweeted, &tweet("t"), "bob"));
    assert!(reopened.has_mark(Mark::Replied, &tweet("t"), "r1"));
    assert_eq!(reopened.skipped_rows(), 0);
    // Still idempotent after the restart: the mark was persisted with the counter.
    assert_eq!(act(&reopened, "t", Action::Like(user("alice"))), Ok(1));
    assert_eq!(act(&reopened, "t", Action::Unlike(user("alice"))), Ok(0));
}

#[test]
fn the_same_like_from_two_tabs_counts_once() {
    let store = MemoryStore::new();
    let (a, b) = (open_node(store.clone()), open_node(store.clone()));
    assert_eq!(act(&a, "t", Action::Like(user("alice"))), Ok(1));
    // b has not heard of it, but the transaction re-reads the mark from the store.
    let (applied, changes) =
        block_on(b.act(&[(tweet("t"), Action::Like(user("alice")))])).expect("commits");
    assert_eq!(changes, Changes::default());
    // b took in what its transaction read, so it reports the true count.
    assert_eq!(applied[0].as_ref().map(|a| a.count), Ok(1));
    assert!(b.has_mark(Mark::Liked, &tweet("t"), "alice"));
    assert_eq!(open_node(store).stats(&tweet("t")).likes, 1);
}

#[test]
fn a_batch_is_one_transaction() {
    let store = MemoryStore::new();
    let node = open_node(store.clone());
    let batch: Vec<_> = (0..50)
        .map(|i| (tweet(&format!("t{}", i % 5)), Action::Like(user(&format!("u{i}")))))
        .collect();
    let (applied, changes) = block_on(node.act(&batch)).expect("commits");
    assert_eq!(applied.len(), 50);
    assert!(applied.iter().all(|a| a.as_ref().is_ok_and(|a| a.count == 10)));
    // One row per tweet, each with its ten likers.
    assert_eq!(changes.len(), 5);
    assert!(changes.rows().all(|(_, marks)| marks.len() == 10));
    assert_eq!(open_node(store).stats(&tweet("t3")).likes, 10);
}

/// Fault injection around the real memory store: a disk that fails on demand cannot be had
/// here, so this wrapper aborts updates (runs the change, keeps none of its writes) when told.
/// It also counts update transactions, and each takes a turn of the executor to complete (as
/// a real store's would), so that work can arrive while one is under way.
#[derive(Clone)]
struct Failing {
    inner: MemoryStore,
    fail: std::rc::Rc<Cell<bool>>,
    updates: std::rc::Rc<Cell<usize>>,
}

impl Failing {
    fn new() -> Self {
        Failing { inner: MemoryStore::new(), fail: Default::default(), updates: Default::default() }
    }
}

impl Store for Failing {
    async fn load(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.load().await
    }

    async fn update<R>(
        &self,
        keys: &[String],
        change: impl FnOnce(Vec<Option<Vec<u8>>>) -> (Vec<Write>, R),
    ) -> Result<R, StoreError> {
        self.updates.set(self.updates.get() + 1);
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if std::mem::replace(&mut yielded, true) {
                return std::task::Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
        .await;
        if self.fail.get() {
            let current = vec![None; keys.len()];
            let _ = change(current);
            return Err(StoreError::write(std::io::Error::other("quota exceeded")));
        }
        self.inner.update(keys, change).await
    }

    fn persistent(&self) -> bool {
        true
    }
}

#[test]
fn a_failed_write_keeps_earlier_data_and_memory_unchanged() {
    let store = Failing::new();
    let node = open_node(store.clone());
    assert_eq!(act(&node, "t", Action::Like(user("alice"))), Ok(1));
    store.fail.set(true);
    assert_eq!(
        act(&node, "t", Action::Like(user("bob"))),
        Err("cannot write to the store: quota exceeded".to_owned())
    );
    assert_eq!(node.stats(&tweet("t")).likes, 1);
    assert!(!node.has_mark(Mark::Liked, &tweet("t"), "bob"));
    store.fail.set(false);
    assert_eq!(open_node(store.inner.clone()).stats(&tweet("t")).likes, 1);
    // The same action succeeds once the store works again.
    assert_eq!(act(&node, "t", Action::Like(user("bob"))), Ok(2));
}

#[test]
fn unknown_layouts_are_refused_and_unknown_rows_are_skipped_not_lost() {
    let store = MemoryStore::new();
    let node = open_node(store.clone());
    act(&node, "t", Action::View).expect("commits");
    let put = |key: &str, value: Vec<u8>| {
        let writes = vec![(key.to_owned(), Some(value))];
        block_on(store.update(&[], move |_| (writes, ()))).expect("writes");
    };
    put("junk/row", vec![1, 2, 3]);
    put("mark/liked/t", vec![]);
    put("bucket/fff", vec![0, 0, 0, 9, 1]); // a truncated bucket
    let reopened = open_node(store.clone());
    assert_eq!(reopened.skipped_rows(), 3);
    assert_eq!(reopened.stats(&tweet("t")).views, 1);
    let rows = block_on(store.load()).expect("loads");
    assert!(rows.iter().any(|(k, _)| k == "junk/row"), "unknown rows stay in the store");

    // An action on a tweet whose bucket is malformed sets the bucket aside, as it was, and
    // goes on: the tweet works again, and the bytes are kept for inspection.
    let t = tweet("1234567890"); // hashes to bucket/1a4
    put("bucket/1a4", vec![0, 0, 0, 9, 1]);
    assert_eq!(reopened.quarantined(), 0);
    assert_eq!(act(&reopened, "1234567890", Action::View), Ok(1));
    assert_eq!(act(&reopened, "1234567890", Action::View), Ok(2));
    assert_eq!(reopened.quarantined(), 1);
    let rows = block_on(store.load()).expect("loads");
    let aside: Vec<_> =
        rows.iter().filter(|(k, _)| k.starts_with("quarantine/bucket/1a4/")).collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0].1, vec![0, 0, 0, 9, 1]);
    let again = open_node(store.clone());
    assert_eq!((again.quarantined(), again.stats(&t).views), (1, 2));

    put("meta/version", vec![4]);
    let error = block_on(Node::open(namespace(), RULES, store.clone())).expect_err("newer layout");
    assert!(matches!(error, OpenError::UnknownLayout(4)), "{error:?}");
    put("meta/version", vec![3]);
    put("meta/identity", vec![0; 5]);
    let error = block_on(Node::open(namespace(), RULES, store)).expect_err("corrupt identity");
    assert!(matches!(error, OpenError::Corrupt("identity")), "{error:?}");
}

#[test]
fn a_store_holding_part_of_an_identity_is_refused_and_left_untouched() {
    for lost in ["meta/version", "meta/identity", "meta/generation"] {
        let store = MemoryStore::new();
        let node = open_node(store.clone());
        act(&node, "t", Action::View).expect("commits");
        let writes = vec![(lost.to_owned(), None)];
        block_on(store.update(&[], move |_| (writes, ()))).expect("deletes");
        let before = block_on(store.load()).expect("loads");
        let error =
            block_on(Node::open(namespace(), RULES, store.clone())).expect_err("incomplete");
        assert!(
            matches!(&error, OpenError::IncompleteMeta(missing) if missing == &[lost]),
            "{error:?}"
        );
        assert!(error.to_string().contains(lost), "{error}");
        assert_eq!(block_on(store.load()).expect("loads"), before, "nothing minted over it");
    }
    // A store with none of them is new: an identity is minted.
    let store = MemoryStore::new();
    assert!(open_node(store.clone()).stats(&tweet("t")).views == 0);
    let keys: Vec<String> =
        block_on(store.load()).expect("loads").into_iter().map(|(k, _)| k).collect();
    assert!(
        ["meta/version", "meta/identity", "meta/generation"]
            .iter()
            .all(|k| keys.contains(&k.to_string()))
    );
}

#[test]
fn actions_submitted_together_share_one_transaction() {
    let store = Failing::new();
    let node = open_node(store.clone());
    let committed = std::rc::Rc::new(Cell::new(0));
    let seen = committed.clone();
    // Counts the likers in committed rows: one row for the tweet, with every liker.
    node.on_commit(move |changes, _| {
        seen.set(seen.get() + changes.rows().map(|(_, marks)| marks.len()).sum::<usize>())
    });
    let before = store.updates.get();
    let burst = (0..100).map(|i| node.submit(tweet("t"), Action::Like(user(&format!("u{i}")))));
    let results = block_on(futures::future::join_all(burst));
    assert_eq!(store.updates.get() - before, 1, "one transaction for the burst");
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|a| a.count == 100)));
    assert_eq!(committed.get(), 100);

    // A failed batch fails every action in it, and changes nothing.
    store.fail.set(true);
    let burst = (0..10).map(|i| node.submit(tweet("t"), Action::Like(user(&format!("v{i}")))));
    let results = block_on(futures::future::join_all(burst));
    assert!(results.iter().all(|r| matches!(r, Err(ActionError::Store(StoreError::Write(_))))));
    assert_eq!(node.stats(&tweet("t")).likes, 100);
    assert_eq!(committed.get(), 100);
}

#[test]
fn remote_entries_are_verified_stored_and_survive_reopening() {
    let store = MemoryStore::new();
    let node = open_node(store.clone());
    act(&node, "t", Action::Like(user("local"))).expect("commits");
    let mut peer = replica(7);
    let liked = peer.increment(&tweet("t"), StatKind::Likes).expect("within bounds");
    let viewed = peer.increment(&tweet("u"), StatKind::Views).expect("within bounds");
    let mut forged = peer.sealed([&viewed.key]).pop().expect("held");
    forged.leaves[0].1.tweet = tweet("forged");
    let mut entries = peer.sealed([&liked.key, &viewed.key]);
    entries.push(forged);
    let report = block_on(node.merge(entries.clone())).expect("stores");
    assert_eq!((report.changed.len(), report.rejected.len()), (2, 1));
    assert_eq!(node.stats(&tweet("t")).likes, 2);
    // Merging the same again changes nothing.
    let again = block_on(node.merge(entries)).expect("stores");
    assert_eq!((again.changed.len(), again.stale), (0, 2));

    let reopened = open_node(store.clone());
    assert_eq!(reopened.stats(&tweet("t")).likes, 2);
    assert_eq!(reopened.stats(&tweet("u")).views, 1);
    assert_eq!(reopened.stats(&tweet("forged")), Stats::default());
    // The local row kept its mark, and the stored remote entries can be served on under their
    // writer's seal (a fresh replica accepts them); the local one once the node's identity
    // proof is minted.
    assert!(reopened.has_mark(Mark::Liked, &tweet("t"), "local"));
    let pull = |relay: &mut Replica| {
        let (mut session, mut request) = SyncSession::start();
        loop {
            let response = reopened.answer(&request).expect("answers");
            let step = session.handle(relay, response).expect("accepted");
            let merged = relay.merge(&namespace(), step.fetched);
            assert!(merged.rejected.is_empty());
            match step.next {
                Some(next) => request = next,
                None => break,
            }
        }
    };
    let mut relay = replica(8);
    pull(&mut relay);
    assert_eq!(relay.stats(&tweet("t")).likes, 1, "the local like waits for the proof");
    assert_eq!(relay.stats(&tweet("u")).views, 1);
    let proof = block_on(reopened.mint_identity(|_| {}));
    pull(&mut relay);
    assert_eq!(relay.stats(&tweet("t")).likes, 2);
    // The proof is kept in the store.
    assert_eq!(open_node(store).identity_proof(), Some(proof));
}

#[test]
fn merges_arriving_during_a_write_share_the_next_transaction() {
    let store = Failing::new();
    let node = open_node(store.clone());
    let notified = std::rc::Rc::new(Cell::new((0, 0)));
    let seen = notified.clone();
    node.on_commit(move |changes, source| {
        assert_eq!(source, ChangeSource::Remote);
        let (calls, rows) = seen.get();
        seen.set((calls + 1, rows + changes.len()));
    });
    let mut peer = replica(7);
    let batches = (0..5).map(|round| {
        sealed_counts(&mut peer, StatKind::Likes, (0..10).map(move |t| format!("t{round}-{t}")))
    });
    let mut merges: Vec<_> = batches.map(|batch| Box::pin(node.merge(batch))).collect();
    let before = store.updates.get();
    let results = block_on(async {
        for merge in &mut merges {
            assert!(futures::poll!(merge).is_pending(), "the store is written asynchronously");
        }
        // Merged in memory: counted at once, before anything is stored.
        assert_eq!(node.stats(&tweet("t4-9")).likes, 1);
        futures::future::join_all(merges).await
    });
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|report| report.changed.len() == 10)));
    // The first batch alone, then the four that arrived while it was being written.
    assert_eq!(store.updates.get() - before, 2);
    assert_eq!(notified.get(), (2, 50));
    let reopened = open_node(store.inner.clone());
    for round in 0..5 {
        for t in 0..10 {
            assert_eq!(reopened.stats(&tweet(&format!("t{round}-{t}"))).likes, 1);
        }
    }
}

/// One count of `stat` by `peer` on each of `tweets`, sealed, as a peer would send them.
fn sealed_counts(
    peer: &mut Replica,
    stat: StatKind,
    tweets: impl Iterator<Item = String>,
) -> Vec<Sealed> {
    let keys: Vec<_> =
        tweets.map(|t| peer.increment(&tweet(&t), stat).expect("within bounds").key).collect();
    peer.sealed(&keys)
}

#[test]
fn a_large_merge_goes_to_the_journal_in_one_transaction_and_compaction_folds_it() {
    let store = Failing::new();
    let node = open_node(store.clone());
    act(&node, "t0", Action::Like(user("local"))).expect("commits");
    let mut peer = replica(7);
    let batch = sealed_counts(&mut peer, StatKind::Likes, (0..600).map(|t| format!("t{t}")));
    let before = store.updates.get();
    let report = block_on(node.merge(batch)).expect("stores");
    assert_eq!(report.changed.len(), 600);
    assert_eq!(store.updates.get() - before, 1, "one transaction for 600 rows");
    let keys = |store: &Failing| -> Vec<String> {
        block_on(store.load()).expect("loads").into_iter().map(|(k, _)| k).collect()
    };
    let journal =
        |store: &Failing| keys(store).iter().filter(|k| k.starts_with("journal/")).count();
    assert!(
        journal(&store) >= 1,
        "journaled (in records of at most 64 KiB: tests/node/journal.rs)"
    );
    assert!(node.has_journal());

    // Another node on the store (a tab opened later) reads it, and takes over folding it.
    let other = open_node(store.clone());
    assert_eq!(other.stats(&tweet("t0")).likes, 2);
    assert_eq!(other.stats(&tweet("t599")).likes, 1);
    assert!(other.has_mark(Mark::Liked, &tweet("t0"), "local"));
    assert!(other.has_journal());
    block_on(other.compact()).expect("folds");
    assert_eq!(journal(&store), 0);
    assert!(!other.has_journal());
    // The first node's fold finds its record gone and changes nothing.
    block_on(node.compact()).expect("nothing left to fold");
    let reopened = open_node(store.clone());
    assert_eq!(reopened.skipped_rows(), 0);
    for t in 0..600 {
        let expected = if t == 0 { 2 } else { 1 };
        assert_eq!(reopened.stats(&tweet(&format!("t{t}"))).likes, expected);
    }
    assert!(reopened.has_mark(Mark::Liked, &tweet("t0"), "local"));
    // Folded rows keep their witnesses: a fresh replica accepts them from this node.
    let mut relay = replica(8);
    let (mut session, mut request) = SyncSession::start();
    loop {
        let step = session.handle(&mut relay, reopened.answer(&request).expect("answers"));
        let step = step.expect("accepted");
        assert!(relay.merge(&namespace(), step.fetched).rejected.is_empty());
        match step.next {
            Some(next) => request = next,
            None => break,
        }
    }
    assert_eq!(relay.stats(&tweet("t599")).likes, 1);
}

#[test]
fn a_failed_fold_keeps_the_journal_for_the_next_attempt() {
    let store = Failing::new();
    let node = open_node(store.clone());
    let mut peer = replica(7);
    let batch = sealed_counts(&mut peer, StatKind::Views, (0..512).map(|t| format!("t{t}")));
    block_on(node.merge(batch)).expect("stores");
    store.fail.set(true);
    assert!(block_on(node.compact()).is_err());
    assert!(node.has_journal());
    store.fail.set(false);
    block_on(node.compact()).expect("folds");
    assert!(!node.has_journal());
    assert_eq!(open_node(store.inner.clone()).stats(&tweet("t511")).views, 1);
}

#[test]
fn a_published_batch_carries_the_current_counters_under_one_seal() {
    let node = open_node(MemoryStore::new());
    let (_, changes) =
        block_on(node.act(&[(tweet("t"), Action::Like(user("a"))), (tweet("t"), Action::View)]))
            .expect("commits");
    assert!(node.sealed_batch(changes.keys()).sealed.is_empty(), "nothing leaves unminted");
    block_on(node.mint_identity(|_| {}));
    let batch = node.sealed_batch(changes.keys());
    assert_eq!(batch.sealed.len(), 1);
    assert_eq!(batch.sealed[0].leaves.len(), 2);
    let mut receiver = replica(9);
    let report = receiver.merge(&batch.namespace, batch.sealed);
    assert!(report.rejected.is_empty());
    assert_eq!(receiver.stats(&tweet("t")), node.stats(&tweet("t")));
}

#[test]
fn the_namespace_caps_bound_actions_and_what_is_counted_on_open() {
    let store = MemoryStore::new();
    let two = Caps { likes: 2, ..Caps::DEFAULT };
    let rules = |caps| Rules { caps, ..RULES };
    let node = block_on(Node::open(namespace(), rules(two), store.clone())).expect("opens");
    for who in ["a", "b"] {
        block_on(node.submit(tweet("t"), Action::Like(user(who)))).expect("within the cap");
    }
    let refused = block_on(node.submit(tweet("t"), Action::Like(user("c"))));
    let above = OutOfBounds::AboveCap { stat: StatKind::Likes, cap: 2 };
    assert!(matches!(refused, Err(ActionError::OutOfBounds(bound)) if bound == above));
    assert_eq!(node.stats(&tweet("t")).likes, 2);
    assert!(!node.has_mark(Mark::Liked, &tweet("t"), "c"), "a refused action changes nothing");
    // Actions batched with a refused one still apply.
    let (applied, _) =
        block_on(node.act(&[(tweet("t"), Action::Like(user("c"))), (tweet("t"), Action::View)]))
            .expect("commits");
    assert_eq!(applied[0], Err(above));
    assert_eq!(applied[1].as_ref().map(|a| a.count), Ok(1));
    drop(node);
    // Reopened under a smaller cap, the stored row beyond it is kept but not counted.
    let one = Caps { likes: 1, ..Caps::DEFAULT };
    let smaller = block_on(Node::open(namespace(), rules(one), store.clone())).expect("opens");
    assert_eq!(smaller.stats(&tweet("t")).likes, 0);
    drop(smaller);
    assert_eq!(open_node(store).stats(&tweet("t")).likes, 2);
}
