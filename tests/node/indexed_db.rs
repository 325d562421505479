//! The node runtime over real IndexedDB in headless Chromium: identity and counts survive
//! closing and reopening, and two connections to one database (two tabs) liking concurrently
//! lose no increment.
#![cfg(target_arch = "wasm32")]

use super::common;

use common::*;
use futures::future::join_all;
use warpnet_stats::{Action, IndexedDbStore, Mark, Node};
use wasm_bindgen_test::wasm_bindgen_test;

fn fresh_name() -> String {
    format!("warpnet-stats-test-{}", js_sys::Math::random())
}

async fn open(name: &str) -> Node<IndexedDbStore> {
    let store = IndexedDbStore::open(name).await.expect("IndexedDB opens");
    Node::open(namespace(), RULES, store).await.expect("node opens")
}

#[wasm_bindgen_test]
async fn identity_counts_and_marks_survive_reopening() {
    let name = fresh_name();
    let (id, generation) = {
        let node = open(&name).await;
        assert!(node.persistent());
        let batch: Vec<_> =
            (0..20).map(|i| (tweet("t"), Action::Like(user(&format!("u{i}"))))).collect();
        node.act(&batch).await.expect("commits");
        node.act(&[(tweet("t"), Action::Unlike(user("u7"))), (tweet("t"), Action::View)])
            .await
            .expect("commits");
        (node.node_id(), node.generation())
    };
    let node = open(&name).await;
    assert_eq!((node.node_id(), node.generation()), (id, generation));
    let stats = node.stats(&tweet("t"));
    assert_eq!((stats.likes, stats.views), (19, 1));
    assert!(node.has_mark(Mark::Liked, &tweet("t"), "u3"));
    assert!(!node.has_mark(Mark::Liked, &tweet("t"), "u7"));
    let (applied, changes) =
        node.act(&[(tweet("t"), Action::Like(user("u3")))]).await.expect("commits");
    assert_eq!((applied[0].as_ref().map(|a| a.count), changes.len()), (Ok(19), 0));
}

#[wasm_bindgen_test]
async fn two_connections_liking_concurrently_lose_no_increment() {
    let name = fresh_name();
    let a = open(&name).await;
    let b = open(&name).await;
    assert_eq!(a.node_id(), b.node_id());
    let likes = |prefix: &'static str| {
        (0..100).map(move |i| (tweet("t"), Action::Like(user(&format!("{prefix}{i}")))))
    };
    // All 200 transactions are issued before any completes; IndexedDB serialises them.
    let from_a = likes("a").map(|like| {
        let a = &a;
        async move { a.act(&[like]).await }
    });
    let from_b = likes("b").map(|like| {
        let b = &b;
        async move { b.act(&[like]).await }
    });
    let (ra, rb) = futures::join!(join_all(from_a), join_all(from_b));
    assert!(ra.iter().chain(&rb).all(Result::is_ok));
    let third = open(&name).await;
    assert_eq!(third.stats(&tweet("t")).likes, 200);
}

#[wasm_bindgen_test]
async fn a_failed_write_keeps_earlier_data() {
    let name = fresh_name();
    let node = open(&name).await;
    node.act(&[(tweet("t"), Action::Like(user("alice")))]).await.expect("commits");
    // Closing the connection under the node makes IndexedDB itself refuse the next transaction.
    node.store().close();
    let error = node.act(&[(tweet("t"), Action::Like(user("bob")))]).await.expect_err("refused");
    assert!(error.to_string().starts_with("cannot write to the store"), "{error}");
    assert_eq!(node.stats(&tweet("t")).likes, 1, "memory unchanged by the failed batch");
    assert!(!node.has_mark(Mark::Liked, &tweet("t"), "bob"));
    let reopened = open(&name).await;
    assert_eq!(reopened.stats(&tweet("t")).likes, 1);
    assert!(reopened.has_mark(Mark::Liked, &tweet("t"), "alice"));
}
