//! Identifiers and the key text form: lossless round trips and a typed error for every kind of
//! malformed key.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use warpnet_stats::{EntryKey, Generation, KeyError, Namespace, NodeId, StatKind, TweetId, Writer};

fn key() -> EntryKey {
    EntryKey {
        tweet: tweet("1234567890"),
        stat: StatKind::Likes,
        writer: Writer { node: identity(1).node_id(), generation: generation(0xab) },
    }
}

#[test]
fn key_text_round_trips() {
    let key = key();
    let text = key.path(&namespace());
    let node = identity(1).node_id();
    assert_eq!(text, format!("/mainnet/1234567890/likes/{node}/abababababababababababababababab"));
    assert_eq!(EntryKey::parse(&text), Ok((namespace(), key)));
}

#[test]
fn every_stat_kind_round_trips_by_name_and_code() {
    let names: Vec<&str> = StatKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names, ["likes", "retweets", "replies", "views"]);
    for kind in StatKind::ALL {
        assert_eq!(kind.as_str().parse::<StatKind>(), Ok(kind));
        assert_eq!(StatKind::from_code(kind.code()), Some(kind));
        let key = EntryKey { stat: kind, ..key() };
        assert_eq!(EntryKey::parse(&key.path(&namespace())).map(|(_, k)| k), Ok(key));
    }
    assert_eq!(StatKind::from_code(0), None);
    assert_eq!(StatKind::from_code(5), None);
    assert_eq!("Likes".parse::<StatKind>(), Err(KeyError::UnknownStat("Likes".into())));
}

#[test]
fn unicode_tweet_ids_round_trip() {
    let key = EntryKey { tweet: tweet("твит-🐦"), ..key() };
    assert_eq!(EntryKey::parse(&key.path(&namespace())).map(|(_, k)| k), Ok(key));
}

#[test]
fn malformed_keys_are_typed_errors() {
    let node = identity(1).node_id();
    let generation = "abababababababababababababababab";
    type Expect = fn(&KeyError) -> bool;
    let cases: Vec<(String, Expect)> = vec![
        (format!("mainnet/t/likes/{node}/{generation}"), |e| matches!(e, KeyError::Malformed(_))),
        (format!("/mainnet/t/likes/{node}"), |e| matches!(e, KeyError::Malformed(_))),
        (format!("/mainnet/t/x/likes/{node}/{generation}"), |e| {
            matches!(e, KeyError::Malformed(_))
        }),
        (format!("//t/likes/{node}/{generation}"), |e| {
            matches!(e, KeyError::Empty { what: "namespace" })
        }),
        (format!("/mainnet//likes/{node}/{generation}"), |e| {
            matches!(e, KeyError::Empty { what: "tweet id" })
        }),
        (format!("/main net/t/likes/{node}/{generation}"), |e| {
            matches!(e, KeyError::BadChar { found: ' ', .. })
        }),
        (format!("/mainnet/t/loves/{node}/{generation}"), |e| {
            matches!(e, KeyError::UnknownStat(_))
        }),
        (format!("/mainnet/t/likes/QmNotAPeer/{generation}"), |e| {
            matches!(e, KeyError::BadNodeId(_))
        }),
        (format!("/mainnet/t/likes/{node}/ABABABABABABABABABABABABABABABAB"), |e| {
            matches!(e, KeyError::BadGeneration(_))
        }),
        (format!("/mainnet/t/likes/{node}/abab"), |e| matches!(e, KeyError::BadGeneration(_))),
        (format!("/mainnet/{}/likes/{node}/{generation}", "x".repeat(129)), |e| {
            matches!(e, KeyError::TooLong { len: 129, max: 128, .. })
        }),
    ];
    for (text, expected) in cases {
        let error = EntryKey::parse(&text).expect_err(&text);
        assert!(expected(&error), "{text}: unexpected {error:?}");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn ids_refuse_what_would_break_the_key_format() {
    assert_eq!(TweetId::new(""), Err(KeyError::Empty { what: "tweet id" }));
    assert_eq!(TweetId::new("a/b"), Err(KeyError::BadChar { what: "tweet id", found: '/' }));
    assert_eq!(TweetId::new("a\nb"), Err(KeyError::BadChar { what: "tweet id", found: '\n' }));
    assert!(TweetId::new("x".repeat(128)).is_ok());
    assert!(matches!(TweetId::new("x".repeat(129)), Err(KeyError::TooLong { .. })));
    assert!(Namespace::new("test-net_1.2").is_ok());
    assert!(matches!(Namespace::new("é"), Err(KeyError::BadChar { found: 'é', .. })));
    assert!(matches!(Namespace::new("n".repeat(65)), Err(KeyError::TooLong { max: 64, .. })));
}

#[test]
fn node_ids_must_embed_an_ed25519_key() {
    let node = identity(3).node_id();
    assert_eq!(node.to_string().parse::<NodeId>(), Ok(node));
    assert_eq!(NodeId::from_bytes(&node.to_bytes()), Ok(node));
    // A sha256-hashed PeerId (as for RSA keys) does not carry its key: refused.
    let hashed = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
    assert!(matches!(hashed.parse::<NodeId>(), Err(KeyError::BadNodeId(_))));
    assert!(matches!(NodeId::from_bytes(&[0, 1, 2]), Err(KeyError::BadNodeId(_))));
    assert!(matches!(NodeId::from_bytes(&[]), Err(KeyError::BadNodeId(_))));
}

#[test]
fn generations_are_32_lower_case_hex_digits() {
    let generation =
        Generation(*b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\xfe\xff");
    assert_eq!(generation.to_string(), "000102030405060708090a0b0c0dfeff");
    assert_eq!(generation.to_string().parse(), Ok(generation));
    for bad in ["", "00", "000102030405060708090a0b0c0dfeffff", "g00102030405060708090a0b0c0dfef"] {
        assert!(bad.parse::<Generation>().is_err(), "{bad}");
    }
}
