//! A store holding anything (a bad disk, a bug, a hand edit): opening it succeeds or fails
//! cleanly; once open, actions count, and what they committed is there again on reopening.
#![no_main]

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use warpnet_stats::{Action, Caps, Difficulty, MemoryStore, Node, Rules, Store, TweetId, UserId};
use warpnet_stats_fuzz::{namespace, records};

const RULES: Rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty(0) };

fuzz_target!(|data: &[u8]| {
    let store = MemoryStore::new();
    let writes = records(data).into_iter().map(|(key, value)| (key, Some(value))).collect();
    block_on(store.update(&[], |_| (writes, ()))).expect("memory writes");
    let Ok(node) = block_on(Node::open(namespace(), RULES, store.clone())) else { return };
    let user = UserId::new("fuzzer").expect("valid");
    let tweets: Vec<TweetId> =
        (0..3).map(|i| TweetId::new(format!("tweet-{i}")).expect("valid")).collect();
    for tweet in &tweets {
        let actions = [(tweet.clone(), Action::Like(user.clone())), (tweet.clone(), Action::View)];
        if let Ok((results, _)) = block_on(node.act(&actions)) {
            if results.iter().all(Result::is_ok) {
                let stats = node.stats(tweet);
                assert!(stats.likes >= 1 && stats.views >= 1, "{stats:?}");
            }
        }
    }
    let before: Vec<_> = tweets.iter().map(|tweet| node.stats(tweet)).collect();
    drop(node);
    let node = block_on(Node::open(namespace(), RULES, store)).expect("reopens");
    let after: Vec<_> = tweets.iter().map(|tweet| node.stats(tweet)).collect();
    assert_eq!(after, before, "committed counts lost on reopening");
});
