//! JS values to Rust and back; errors to JS `Error`s.

use super::*;
use crate::core::KeyError;
use crate::network::protocol::{NetworkStats, PeerInfo};
use crate::runtime::{Minting, wall_clock};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// A checked id from a JS argument: `TypeError` if not a string, `RangeError` if invalid.
pub(super) fn id<T: std::str::FromStr<Err = KeyError>>(
    name: &str,
    value: &JsValue,
) -> Result<T, JsValue> {
    let Some(text) = value.as_string() else {
        let got = value.js_typeof().as_string().unwrap_or_default();
        return Err(js_sys::TypeError::new(&format!("{name} must be a string, got {got}")).into());
    };
    text.parse().map_err(|e: KeyError| js_sys::RangeError::new(&format!("{name}: {e}")).into())
}

/// A list of tweet ids (an array of strings).
pub(super) fn tweet_ids(value: &JsValue) -> Result<Vec<crate::core::TweetId>, JsValue> {
    if !js_sys::Array::is_array(value) {
        return Err(js_sys::TypeError::new("tweetIds must be an array of strings").into());
    }
    js_sys::Array::from(value).iter().map(|id| self::id("tweetIds[]", &id)).collect()
}

/// What `StatsNode.open` was asked for.
pub(super) struct Options {
    pub(super) namespace: Namespace,
    pub(super) rules: Rules,
    pub(super) db_name: String,
    pub(super) bootstrap: Vec<Multiaddr>,
    /// A light node's bound on the tweets it holds others' counts of (`None`: a full node).
    pub(super) max_tweets: Option<usize>,
}

/// The default bound of a light node: the tweets it holds other nodes' counts of.
const MAX_TWEETS: usize = 5000;

pub(super) fn options(options: &JsValue) -> Result<Options, JsValue> {
    if !options.is_object() {
        return Err(js_sys::TypeError::new(
            "StatsNode.open needs an options object: { namespace }",
        )
        .into());
    }
    let field = |name: &str| Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let namespace = field("namespace");
    let Some(text) = namespace.as_string() else {
        return Err(js_sys::TypeError::new("options.namespace must be a string").into());
    };
    let namespace = Namespace::new(&text)
        .map_err(|e| JsValue::from(js_sys::RangeError::new(&format!("options.namespace: {e}"))))?;
    let db_name = match field("dbName") {
        value if value.is_undefined() => format!("warpnet-stats/{namespace}"),
        value => match value.as_string().filter(|s| !s.is_empty()) {
            Some(name) => name,
            None => {
                return Err(
                    js_sys::TypeError::new("options.dbName must be a non-empty string").into()
                );
            }
        },
    };
    let bootstrap = match field("bootstrap") {
        value if value.is_undefined() => Vec::new(),
        value => bootstrap(&value)?,
    };
    let caps = match field("caps") {
        value if value.is_undefined() => Caps::DEFAULT,
        value => caps(&value)?,
    };
    let difficulty = match field("difficulty") {
        value if value.is_undefined() => Difficulty::DEFAULT,
        value => value
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (0.0..=64.0).contains(n))
            .map(|n| Difficulty(n as u8))
            .ok_or_else(|| {
                JsValue::from(js_sys::RangeError::new(
                    "options.difficulty must be a whole number from 0 to 64",
                ))
            })?,
    };
    let light = match field("light") {
        value if value.is_undefined() => false,
        value => value.as_bool().ok_or_else(|| {
            JsValue::from(js_sys::TypeError::new("options.light must be a boolean"))
        })?,
    };
    let max_tweets = match field("maxTweets") {
        value if value.is_undefined() => MAX_TWEETS,
        value => value
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (1.0..=1_000_000.0).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| {
                JsValue::from(js_sys::RangeError::new(
                    "options.maxTweets must be a whole number from 1 to 1000000",
                ))
            })?,
    };
    let max_tweets = light.then_some(max_tweets);
    Ok(Options { namespace, rules: Rules { caps, difficulty }, db_name, bootstrap, max_tweets })
}

/// `options.caps`: `{ likes?, retweets?, replies?, views? }`, each a whole number; those not
/// given keep their default.
fn caps(value: &JsValue) -> Result<Caps, JsValue> {
    if !value.is_object() {
        return Err(js_sys::TypeError::new("options.caps must be an object").into());
    }
    let mut caps = Caps::DEFAULT;
    for stat in StatKind::ALL {
        let given = Reflect::get(value, &stat.as_str().into()).unwrap_or(JsValue::UNDEFINED);
        if given.is_undefined() {
            continue;
        }
        let cap = given
            .as_f64()
            .filter(|n| n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(n))
            .ok_or_else(|| {
                JsValue::from(js_sys::RangeError::new(&format!(
                    "options.caps.{stat} must be a whole number from 0 to 2^53 - 1"
                )))
            })?;
        caps = caps.with(stat, cap as u64);
    }
    Ok(caps)
}

fn bootstrap(value: &JsValue) -> Result<Vec<Multiaddr>, JsValue> {
    if !js_sys::Array::is_array(value) {
        return Err(js_sys::TypeError::new("options.bootstrap must be an array of strings").into());
    }
    js_sys::Array::from(value)
        .iter()
        .map(|item| {
            let Some(text) = item.as_string() else {
                return Err(js_sys::TypeError::new(
                    "options.bootstrap must be an array of strings",
                )
                .into());
            };
            let range = |why: String| -> JsValue {
                js_sys::RangeError::new(&format!("options.bootstrap: {text:?} {why}")).into()
            };
            let address: Multiaddr =
                text.parse().map_err(|e| range(format!("is not a multiaddr ({e})")))?;
            if !address.iter().any(|p| matches!(p, Protocol::P2p(_))) {
                return Err(range("must end in /p2p/<peer id>".into()));
            }
            Ok(address)
        })
        .collect()
}

pub(super) fn peer(peer: &PeerInfo) -> JsValue {
    let object = Object::new();
    set(&object, "id", &peer.id.to_string().into());
    set(&object, "transport", &peer.transport().into());
    set(&object, "address", &peer.address.to_string().into());
    set(&object, "since", &millis(wall_clock(peer.since)));
    object.into()
}

pub(super) fn contribution(share: &Contribution, local: bool) -> JsValue {
    let object = Object::new();
    set(&object, "nodeId", &share.writer.node.to_string().into());
    set(&object, "generation", &share.writer.generation.to_string().into());
    set(&object, "local", &local.into());
    for kind in StatKind::ALL {
        // Counts beyond 2^53 lose precision as JS numbers; they are far beyond real use.
        set(&object, kind.as_str(), &JsValue::from(share.value(kind) as f64));
    }
    object.into()
}

pub(super) fn sync_status(
    stats: &NetworkStats,
    peers: usize,
    online: bool,
    minting: Minting,
) -> JsValue {
    let object = Object::new();
    set(&object, "identity", &self::minting(minting));
    set(&object, "online", &online.into());
    set(&object, "connected", &(peers > 0).into());
    set(&object, "peers", &(peers as f64).into());
    let last_sync = stats.last_sync.map(wall_clock);
    set(&object, "lastSync", &last_sync.map_or(JsValue::NULL, millis));
    for (name, value) in [
        ("pendingEntries", stats.pending_entries),
        ("publishedEntries", stats.published_entries),
        ("gossipEntries", stats.gossip_entries),
        ("syncedEntries", stats.synced_entries),
        ("syncsCompleted", stats.syncs_completed),
        ("syncsFailed", stats.syncs_failed),
        ("catchUpWaits", stats.catch_up_waits),
        ("receivedBytes", stats.received_bytes),
        ("dials", stats.dials),
        ("dialsTimedOut", stats.dials_timed_out),
    ] {
        set(&object, name, &number(value));
    }
    let dropped = Object::new();
    for (reason, count) in &stats.dropped {
        set(&dropped, reason.as_str(), &number(*count));
    }
    set(&object, "dropped", &dropped);
    object.into()
}

/// `{ minted, attempts, expected }`: how minting the identity proof goes.
pub(super) fn minting(minting: Minting) -> JsValue {
    let object = Object::new();
    set(&object, "minted", &minting.done.into());
    set(&object, "attempts", &number(minting.attempts));
    set(&object, "expected", &minting.expected.into());
    object.into()
}

fn millis(time: web_time::SystemTime) -> JsValue {
    let since = time.duration_since(web_time::UNIX_EPOCH).unwrap_or_default();
    JsValue::from(since.as_millis() as f64)
}

pub(super) fn number(count: u64) -> JsValue {
    // Counts above 2^53 lose precision as JS numbers; they are far beyond real use.
    JsValue::from(count as f64)
}

pub(super) fn stats(stats: Stats) -> JsValue {
    let object = Object::new();
    for kind in StatKind::ALL {
        set(&object, kind.as_str(), &number(stats.get(kind)));
    }
    object.into()
}

pub(super) fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &key.into(), value);
}

pub(super) fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

/// One "change" event per tweet, built and dispatched on the JS side: one call into JS for
/// a whole commit (a catch-up commits thousands of tweets at once).
pub(super) fn dispatch_changes(target: &EventTarget, changed: &[(TweetId, Stats)], source: &str) {
    if changed.is_empty() {
        return;
    }
    let mut ids = String::new();
    let mut counts = Vec::with_capacity(changed.len() * StatKind::ALL.len());
    for (index, (tweet, stats)) in changed.iter().enumerate() {
        if index > 0 {
            ids.push('\n'); // tweet ids hold no control characters
        }
        ids.push_str(tweet.as_str());
        counts.extend(StatKind::ALL.map(|kind| stats.get(kind) as f64));
    }
    dispatch_change_events(target, &ids, counts, source);
}

#[wasm_bindgen(inline_js = r#"
export function dispatchChangeEvents(target, ids, counts, source) {
  const tweetIds = ids.split("\n");
  for (let i = 0, at = 0; i < tweetIds.length; i++, at += 4) {
const stats = { likes: counts[at], retweets: counts[at + 1], replies: counts[at + 2], views: counts[at + 3] };
target.dispatchEvent(new CustomEvent("change", { detail: { tweetId: tweetIds[i], stats, source } }));
  }
}"#)]
extern "C" {
    /// `counts` holds four numbers per tweet, in `StatKind::ALL` order.
    #[wasm_bindgen(js_name = dispatchChangeEvents)]
    fn dispatch_change_events(target: &EventTarget, ids: &str, counts: Vec<f64>, source: &str);
}

pub(super) fn dispatch(target: &EventTarget, kind: &str, detail: &JsValue) {
    let init = CustomEventInit::new();
    init.set_detail(detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(kind, &init) {
        let _ = target.dispatch_event(&event);
    }
}

/// Dispatches after the current task, so listeners added right after `open` resolves hear it.
pub(super) fn dispatch_later(target: &EventTarget, kind: &str, message: &str) {
    let (target, kind, detail) = (target.clone(), kind.to_owned(), JsValue::from_str(message));
    let callback = Closure::once_into_js(move || dispatch(&target, &kind, &detail));
    if let Ok(set_timeout) = Reflect::get(&js_sys::global(), &"setTimeout".into())
        && let Some(set_timeout) = set_timeout.dyn_ref::<Function>()
    {
        let _ = set_timeout.call1(&JsValue::UNDEFINED, &callback);
    }
}
