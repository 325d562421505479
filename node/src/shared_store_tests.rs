//! Tabs sharing one store: the rows one commits reach the others ([`Changes`]) and merge
//! without signature checks, as rows of their own store (so this is not public API).
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use futures::executor::block_on;

use super::{Changes, Node};
use warpnet_stats_core::{Action, Caps, Difficulty, Mark, Namespace, Rules, TweetId, UserId};
use warpnet_stats_store::{MemoryStore, Store};

fn namespace() -> Namespace {
    Namespace::new("mainnet").expect("valid")
}

fn tweet(text: &str) -> TweetId {
    TweetId::new(text).expect("valid")
}

fn user(text: &str) -> UserId {
    UserId::new(text).expect("valid")
}

fn open_node<S: Store>(store: S) -> Node<S> {
    let rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty(0) };
    block_on(Node::open(namespace(), rules, store)).expect("opens")
}

#[test]
fn two_nodes_sharing_a_store_lose_no_increment() {
    // Two tabs of one origin: same store, same identity and generation, separate memory.
    let store = MemoryStore::new();
    let (a, b) = (open_node(store.clone()), open_node(store.clone()));
    assert_eq!(a.node_id(), b.node_id());
    let mut from_a = Changes::default();
    let mut from_b = Changes::default();
    for i in 0..200 {
        let (_, changes) = block_on(a.act(&[(tweet("t"), Action::Like(user(&format!("a{i}"))))]))
            .expect("commits");
        from_a.append(changes);
        let (_, changes) = block_on(b.act(&[(tweet("t"), Action::Like(user(&format!("b{i}"))))]))
            .expect("commits");
        from_b.append(changes);
    }
    // The store holds the exact total, whoever wrote last.
    assert_eq!(open_node(store).stats(&tweet("t")).likes, 400);
    // Each tab catches up from the other's broadcast changes.
    a.merge_changes(&from_b);
    b.merge_changes(&from_a);
    assert_eq!(a.stats(&tweet("t")).likes, 400);
    assert_eq!(b.stats(&tweet("t")).likes, 400);
}

#[test]
fn changes_travel_as_rows_between_nodes_sharing_a_store() {
    let store = MemoryStore::new();
    let (a, b) = (open_node(store.clone()), open_node(store.clone()));
    let (_, changes) = block_on(a.act(&[
        (tweet("t"), Action::Like(user("alice"))),
        (tweet("u"), Action::Retweet(user("alice"))),
    ]))
    .expect("commits");
    let bytes = changes.encode(&namespace());
    let received = Changes::decode(&namespace(), &bytes);
    assert_eq!(received, changes);
    assert_eq!(received.tweets(), vec![tweet("t"), tweet("u")]);
    b.merge_changes(&received);
    assert_eq!(b.stats(&tweet("u")).retweets, 1);
    assert!(b.has_mark(Mark::Liked, &tweet("t"), "alice"));
    // Rows of another namespace are ignored.
    let foreign = Changes::decode(&Namespace::new("testnet").expect("valid"), &bytes);
    assert!(foreign.is_empty());
    // Bytes that do not decode yield nothing.
    assert!(Changes::decode(&namespace(), &bytes[..bytes.len() - 1]).is_empty());
}

#[test]
fn a_late_older_row_does_not_bring_back_stale_marks() {
    let store = MemoryStore::new();
    let (a, b) = (open_node(store.clone()), open_node(store.clone()));
    let (_, liked) =
        block_on(a.act(&[(tweet("t"), Action::Like(user("alice")))])).expect("commits");
    let (_, unliked) =
        block_on(a.act(&[(tweet("t"), Action::Unlike(user("alice")))])).expect("commits");
    // b hears of the unlike first, then of the older like.
    b.merge_changes(&unliked);
    b.merge_changes(&liked);
    assert!(!b.has_mark(Mark::Liked, &tweet("t"), "alice"));
    assert_eq!(b.stats(&tweet("t")).likes, 0);
}
