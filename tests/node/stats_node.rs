//! The `StatsNode` JS class in headless Chromium with real IndexedDB: persistence across
//! close and reopen, idempotent actions, every statistic, argument errors as TypeError and
//! RangeError, and change events (local and from another tab). The memory fallback is in
//! `stats_node_fallback.rs`: it hides IndexedDB, which must not overlap these tests.
#![cfg(target_arch = "wasm32")]

use super::browser;

use browser::*;
use js_sys::{Object, Promise, Reflect};
use warpnet_stats::StatsNode;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
async fn actions_persist_across_close_and_reopen() {
    let name = fresh_name();
    let node = open(&name).await;
    assert!(node.persistent());
    let (t, alice, bob) = (JsValue::from("t1"), JsValue::from("alice"), JsValue::from("bob"));
    assert_eq!(count(node.like(t.clone(), alice.clone())).await, 1.0);
    assert_eq!(count(node.like(t.clone(), alice.clone())).await, 1.0);
    assert_eq!(count(node.unlike(t.clone(), bob.clone())).await, 1.0);
    assert_eq!(count(node.retweet(t.clone(), bob.clone())).await, 1.0);
    assert_eq!(count(node.unretweet(t.clone(), bob.clone())).await, 0.0);
    assert_eq!(count(node.reply(t.clone(), "r1".into())).await, 1.0);
    assert_eq!(count(node.reply(t.clone(), "r2".into())).await, 2.0);
    assert_eq!(count(node.delete_reply(t.clone(), "r1".into())).await, 1.0);
    assert_eq!(count(node.view(t.clone())).await, 1.0);
    assert_eq!(count(node.view(t.clone())).await, 2.0);
    let id = node.node_id();
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
    let refused = rejection(node.like(t.clone(), bob.clone())).await;
    assert_eq!(code(&refused), "closed", "a closed node refuses actions");

    let node = open(&name).await;
    assert_eq!(node.node_id(), id);
    let stats = JsValue::from(node.stats(t.clone()).expect("valid id"));
    assert_eq!(
        [
            stat(&stats, "likes"),
            stat(&stats, "retweets"),
            stat(&stats, "replies"),
            stat(&stats, "views")
        ],
        [1.0, 0.0, 1.0, 2.0]
    );
    assert_eq!(node.has_liked(t.clone(), alice.clone()), Ok(true));
    assert_eq!(node.has_retweeted(t.clone(), bob.clone()), Ok(false));
    assert_eq!(count(node.like(t.clone(), alice)).await, 1.0, "still idempotent after reopening");
    // This node alone counted: one contribution, its own, equal to the totals.
    let shares = node.contributions(t.clone()).expect("valid id");
    assert_eq!(shares.len(), 1);
    let share = shares[0].js_value();
    let field = |name: &str| Reflect::get(&share, &name.into()).expect("field");
    assert_eq!(field("nodeId").as_string(), Some(id));
    assert_eq!(field("generation").as_string().map(|g| g.len()), Some(32));
    assert_eq!(field("local").as_bool(), Some(true));
    let totals = ["likes", "retweets", "replies", "views"].map(|s| stat(&share, s));
    assert_eq!(totals, [1.0, 0.0, 1.0, 2.0]);
    assert_eq!(node.contributions("other".into()).expect("valid id").len(), 0);
    assert!(node.contributions(JsValue::from(5)).is_err());
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
}

#[wasm_bindgen_test]
async fn invalid_arguments_throw_type_and_range_errors_and_change_nothing() {
    let node = open(&fresh_name()).await;
    let t = JsValue::from("t");
    // Actions never throw: a bad argument rejects their promise.
    let type_error = async |p: Promise| rejection(p).await.is_instance_of::<js_sys::TypeError>();
    let range_error = async |p: Promise| rejection(p).await.is_instance_of::<js_sys::RangeError>();
    assert!(type_error(node.like(JsValue::from(5), "u".into())).await);
    assert!(type_error(node.like(t.clone(), JsValue::NULL)).await);
    assert!(type_error(node.view(JsValue::UNDEFINED)).await);
    assert!(range_error(node.like("".into(), "u".into())).await);
    assert!(range_error(node.like("a/b".into(), "u".into())).await);
    assert!(range_error(node.reply(t.clone(), "x".repeat(200).into())).await);
    let message = rejection(node.like("a/b".into(), "u".into())).await;
    let message =
        Reflect::get(&message, &"message".into()).expect("message").as_string().expect("text");
    assert!(message.contains("tweetId") && message.contains('/'), "{message}");
    assert!(
        node.stats(JsValue::from(1)).expect_err("refused").is_instance_of::<js_sys::TypeError>()
    );
    assert!(
        rejection(StatsNode::open(JsValue::from("mainnet")))
            .await
            .is_instance_of::<js_sys::TypeError>()
    );
    let bad_namespace = Object::new();
    Reflect::set(&bad_namespace, &"namespace".into(), &"main net".into()).expect("set");
    assert!(
        rejection(StatsNode::open(bad_namespace.into()))
            .await
            .is_instance_of::<js_sys::RangeError>()
    );
    // An option it does not know (a typo) is refused, named.
    let typo = Object::new();
    Reflect::set(&typo, &"namespace".into(), &"mainnet".into()).expect("set");
    Reflect::set(&typo, &"maxTweet".into(), &JsValue::from(5)).expect("set");
    let refused = rejection(StatsNode::open(typo.into())).await;
    assert!(refused.is_instance_of::<js_sys::TypeError>());
    let message = Reflect::get(&refused, &"message".into()).expect("message").as_string();
    assert!(message.is_some_and(|m| m.contains("unknown field `maxTweet`")));
    assert_eq!(like_count(&node, t.clone()), 0.0);
    // Each error carries its stable code: every argument error "invalid-argument".
    let errors = [
        rejection(node.like(JsValue::from(5), "u".into())).await,
        rejection(node.like("a/b".into(), "u".into())).await,
        node.watch(JsValue::from("t")).expect_err("refused"),
        rejection(StatsNode::open(JsValue::from("mainnet"))).await,
    ];
    assert!(errors.iter().all(|e| code(e) == "invalid-argument"));
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
    let closed = rejection(node.like(t.clone(), "u".into())).await;
    assert_eq!((code(&closed), name(&closed)), ("closed".into(), "StatsNodeError".into()));
}

#[wasm_bindgen_test]
async fn an_action_beyond_a_cap_rejects_with_a_range_error_and_changes_nothing() {
    let node = open(&fresh_name()).await;
    let t = JsValue::from("capped");
    let likes: Vec<Promise> =
        (0..1000).map(|i| node.like(t.clone(), format!("u{i}").into())).collect();
    for like in likes {
        wasm_bindgen_futures::JsFuture::from(like).await.expect("within the cap");
    }
    let refused = wasm_bindgen_futures::JsFuture::from(node.like(t.clone(), "one-more".into()))
        .await
        .expect_err("beyond the cap");
    assert!(refused.is_instance_of::<js_sys::RangeError>());
    let message = Reflect::get(&refused, &"message".into()).expect("message").as_string();
    assert_eq!(message.as_deref(), Some("a writer's likes cannot exceed 1000 per tweet"));
    assert_eq!(code(&refused), "out-of-bounds");
    assert_eq!(like_count(&node, t.clone()), 1000.0);
    assert_eq!(node.has_liked(t.clone(), "one-more".into()), Ok(false));
    // Taking one back makes room again.
    count(node.unlike(t.clone(), "u0".into())).await;
    assert_eq!(count(node.like(t.clone(), "one-more".into())).await, 1000.0);
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
}

#[wasm_bindgen_test]
async fn the_caps_option_sets_the_namespace_caps_and_is_checked() {
    let options = options(&fresh_name());
    let caps = Object::new();
    Reflect::set(&caps, &"likes".into(), &2.into()).expect("set");
    Reflect::set(&options, &"caps".into(), &caps).expect("set");
    let node = StatsNode::open_with(&options).await.expect("opens");
    let t = JsValue::from("t");
    assert_eq!(count(node.like(t.clone(), "a".into())).await, 1.0);
    assert_eq!(count(node.like(t.clone(), "b".into())).await, 2.0);
    let refused = wasm_bindgen_futures::JsFuture::from(node.like(t.clone(), "c".into()))
        .await
        .expect_err("beyond the cap");
    assert!(refused.is_instance_of::<js_sys::RangeError>());
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
    for bad in [JsValue::from(-1), JsValue::from(1.5)] {
        Reflect::set(&caps, &"likes".into(), &bad).expect("set");
        let error = rejection(StatsNode::open(options.clone())).await;
        assert!(error.is_instance_of::<js_sys::RangeError>(), "{bad:?}");
    }
    // A string where a number belongs is a TypeError naming the option.
    Reflect::set(&caps, &"likes".into(), &"many".into()).expect("set");
    let error = rejection(StatsNode::open(options.clone())).await;
    assert!(error.is_instance_of::<js_sys::TypeError>());
    let message = js_sys::Error::from(error).message().as_string().unwrap_or_default();
    assert!(message.starts_with("options.caps.likes: invalid type"), "{message}");
    Reflect::set(&options, &"caps".into(), &5.into()).expect("set");
    let error = rejection(StatsNode::open(options)).await;
    assert!(error.is_instance_of::<js_sys::TypeError>());
}

#[wasm_bindgen_test]
async fn changes_are_announced_locally_and_to_other_tabs() {
    let name = fresh_name();
    let (a, b) = (open(&name).await, open(&name).await);
    let (local, _l1) = recorder(&a, "change");
    let (remote, _l2) = recorder(&b, "change");
    assert_eq!(count(a.like("t".into(), "alice".into())).await, 1.0);
    let detail = local.borrow()[0].clone();
    assert_eq!(Reflect::get(&detail, &"tweetId".into()).expect("field"), "t");
    assert_eq!(Reflect::get(&detail, &"source".into()).expect("field"), "local");
    // The other "tab" (a second node on the same database) hears it.
    until("the other tab's change event", || !remote.borrow().is_empty()).await;
    assert_eq!(remote.borrow().len(), 1);
    assert_eq!(Reflect::get(&remote.borrow()[0], &"source".into()).expect("field"), "tab");
    assert_eq!(like_count(&b, "t".into()), 1.0);
    assert_eq!(b.has_liked("t".into(), "alice".into()), Ok(true));
    wasm_bindgen_futures::JsFuture::from(a.close()).await.expect("closes");
    wasm_bindgen_futures::JsFuture::from(b.close()).await.expect("closes");
}

#[wasm_bindgen_test]
async fn bad_bootstrap_options_are_refused_and_a_node_without_one_is_offline() {
    let with = |bootstrap: JsValue| {
        let options = options(&fresh_name());
        Reflect::set(&options, &"bootstrap".into(), &bootstrap).expect("set");
        options
    };
    let refused = async |options: &JsValue| rejection(StatsNode::open(options.clone())).await;
    let list = |items: &[&str]| {
        JsValue::from(items.iter().map(|s| JsValue::from(*s)).collect::<js_sys::Array>())
    };
    assert!(
        refused(&with("/ip4/127.0.0.1/tcp/1/ws".into()))
            .await
            .is_instance_of::<js_sys::TypeError>()
    );
    assert!(
        refused(&with(js_sys::Array::of1(&1.into()).into()))
            .await
            .is_instance_of::<js_sys::TypeError>()
    );
    let error = refused(&with(list(&["not a multiaddr"]))).await;
    assert!(error.is_instance_of::<js_sys::RangeError>());
    let error = refused(&with(list(&["/ip4/127.0.0.1/tcp/1/ws"]))).await;
    let message = js_sys::Error::from(error).message().as_string().unwrap_or_default();
    assert!(message.contains("/p2p/"), "{message}");
    // A full node with an edge node (nobody listens there) is not loaded before a catch-up.
    let edge = "/ip4/127.0.0.1/tcp/9/ws/p2p/12D3KooWS6YQxyGMtgD6EG6EktTbFjmJjhmFVNw9iFU7a8aassGA";
    let node = StatsNode::open_with(&with(list(&[edge]))).await.expect("opens");
    assert_eq!(node.loaded("t".into()), Ok(false), "no catch-up yet");
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");

    let node = open(&fresh_name()).await;
    let status = JsValue::from(node.sync_status());
    let field = |name: &str| Reflect::get(&status, &name.into()).expect("field");
    assert_eq!(field("online").as_bool(), Some(false));
    assert!(field("lastSync").is_null(), "null until a catch-up, as the type says");
    let dropped = field("dropped");
    assert!(dropped.is_object() && !dropped.is_instance_of::<js_sys::Map>(), "a plain record");
    assert_eq!(Reflect::get(&field("identity"), &"minted".into()).ok(), Some(false.into()));
    assert_eq!(field("connected").as_bool(), Some(false));
    assert_eq!(field("pendingEntries").as_f64(), Some(0.0));
    assert_eq!(node.peers().len(), 0);
    assert_eq!(node.loaded("t".into()), Ok(true), "a full node off the network: all there is");
    let error = node.set_online(true.into()).expect_err("no network to go online to");
    assert_eq!((code(&error), name(&error)), ("no-network".into(), "StatsNodeError".into()));
    assert!(
        node.set_online("yes".into()).expect_err("refused").is_instance_of::<js_sys::TypeError>()
    );
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
}

#[wasm_bindgen_test]
async fn light_options_are_checked_and_watch_returns_a_function_that_unwatches() {
    let with = |light: JsValue, max_tweets: JsValue| {
        let options = options(&fresh_name());
        Reflect::set(&options, &"light".into(), &light).expect("set");
        Reflect::set(&options, &"maxTweets".into(), &max_tweets).expect("set");
        options
    };
    let refused = async |options: &JsValue| rejection(StatsNode::open(options.clone())).await;
    let undefined = JsValue::UNDEFINED;
    assert!(
        refused(&with("yes".into(), undefined.clone())).await.is_instance_of::<js_sys::TypeError>()
    );
    for bad in [0.0, 1.5, 2e6] {
        let error = refused(&with(true.into(), bad.into())).await;
        assert!(error.is_instance_of::<js_sys::RangeError>(), "maxTweets {bad}");
    }
    let node = StatsNode::open_with(&with(true.into(), 2.into())).await.expect("opens");
    let list = |items: &[JsValue]| JsValue::from(items.iter().collect::<js_sys::Array>());
    let error = node.watch("t1".into()).expect_err("not an array");
    assert!(error.is_instance_of::<js_sys::TypeError>());
    let error = node.watch(list(&[1.into()])).expect_err("not a string");
    assert!(error.is_instance_of::<js_sys::TypeError>());
    let error = node.watch(list(&["a/b".into()])).expect_err("not a tweet id");
    assert!(error.is_instance_of::<js_sys::RangeError>());
    let unwatch: js_sys::Function =
        node.watch(list(&["t1".into(), "t2".into()])).expect("watched").dyn_into().expect("fn");
    unwatch.call0(&JsValue::UNDEFINED).expect("unwatches");
    unwatch.call0(&JsValue::UNDEFINED).expect("a second call does nothing");
    let (loaded, verified) = (node.loaded("t1".into()), node.verified("t1".into()));
    assert_eq!((loaded, verified), (Ok(false), Ok(false)), "no edge node answered");
    assert!(node.loaded("a/b".into()).is_err());
    assert_eq!(count(node.like("t1".into(), "alice".into())).await, 1.0);
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
    assert!(node.watch(list(&["t1".into()])).is_err(), "a closed node refuses watches");
}

/// `tweet`'s like count on `node`.
fn like_count(node: &StatsNode, tweet: JsValue) -> f64 {
    stat(&JsValue::from(node.stats(tweet).expect("valid id")), "likes")
}
