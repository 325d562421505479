//! Entry keys and ids from text and bytes: anything parses or fails cleanly; what parses
//! prints to a form that parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warpnet_stats::{EntryKey, Namespace, NodeId, TweetId, UserId};

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = NodeId::from_bytes(data) {
        assert_eq!(NodeId::from_bytes(&node.to_bytes()).expect("round trip"), node);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((namespace, key)) = EntryKey::parse(text) {
        let again = EntryKey::parse(&key.path(&namespace)).expect("a printed key parses");
        assert_eq!(again, (namespace, key));
    }
    if let Ok(tweet) = TweetId::new(text) {
        assert_eq!(tweet.as_str(), text);
    }
    if let Ok(user) = UserId::new(text) {
        assert_eq!(user.as_str(), text);
    }
    if let Ok(namespace) = Namespace::new(text) {
        assert_eq!(Namespace::new(namespace.to_string()).expect("round trip"), namespace);
    }
});
