//! JS arguments to checked Rust values (serde-wasm-bindgen, then the library's own rules), and
//! change events out.

use super::*;
use crate::core::{KeyError, StatKind};
use errors::{range_error, type_error};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde::de::DeserializeOwned;
use types::{ChangeSource, StatsChange, StatsNodeOptions, Warning, WarningCode};

/// A checked id from a JS argument: `TypeError` if not a string, `RangeError` if invalid.
pub(super) fn id<T: std::str::FromStr<Err = KeyError>>(
    name: &str,
    value: &JsValue,
) -> Result<T, JsValue> {
    let Some(text) = value.as_string() else {
        let got = value.js_typeof().as_string().unwrap_or_default();
        return Err(type_error(&format!("{name} must be a string, got {got}")));
    };
    text.parse().map_err(|e: KeyError| range_error(&format!("{name}: {e}")))
}

/// A list of tweet ids (an array of strings), each checked as `id` checks one.
pub(super) fn tweet_ids(value: &JsValue) -> Result<Vec<TweetId>, JsValue> {
    if !js_sys::Array::is_array(value) {
        return Err(type_error("tweetIds must be an array of strings"));
    }
    js_sys::Array::from(value).iter().map(|id| self::id("tweetIds[]", &id)).collect()
}

/// `value` as a `T`, or a `TypeError` naming the field that did not fit.
fn deserialize<T: DeserializeOwned>(name: &str, value: JsValue) -> Result<T, JsValue> {
    let deserializer = serde_wasm_bindgen::Deserializer::from(value);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { name.to_owned() } else { format!("{name}.{path}") };
        let why = js_sys::Error::from(JsValue::from(error.into_inner())).message();
        type_error(&format!("{field}: {}", String::from(why)))
    })
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

/// The largest whole number a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// `n` if it is a whole number in `range`.
fn whole(n: f64, range: std::ops::RangeInclusive<f64>) -> Option<f64> {
    (n.fract() == 0.0 && range.contains(&n)).then_some(n)
}

pub(super) fn options(options: &JsValue) -> Result<Options, JsValue> {
    if !options.is_object() {
        return Err(type_error("StatsNode.open needs an options object: { namespace }"));
    }
    known_keys("options", options, OPTIONS)?;
    let bootstrap = js_sys::Reflect::get(options, &"bootstrap".into()).unwrap_or_default();
    if !bootstrap.is_undefined() && !js_sys::Array::is_array(&bootstrap) {
        return Err(type_error("options.bootstrap must be an array of multiaddr strings"));
    }
    let caps = js_sys::Reflect::get(options, &"caps".into()).unwrap_or_default();
    if caps.is_object() {
        known_keys("options.caps", &caps, &["likes", "retweets", "replies", "views"])?;
    }
    let given: StatsNodeOptions = deserialize("options", options.clone())?;
    let namespace = Namespace::new(&given.namespace)
        .map_err(|e| range_error(&format!("options.namespace: {e}")))?;
    let db_name = match given.db_name {
        None => format!("warpnet-stats/{namespace}"),
        Some(name) if name.is_empty() => {
            return Err(type_error("options.dbName must be a non-empty string"));
        }
        Some(name) => name,
    };
    let bootstrap: Result<Vec<_>, _> =
        given.bootstrap.unwrap_or_default().iter().map(|a| address(a)).collect();
    let mut caps = Caps::DEFAULT;
    for stat in StatKind::ALL {
        let Some(cap) = given.caps.as_ref().and_then(|caps| caps.get(stat)) else { continue };
        let cap = whole(cap, 0.0..=MAX_SAFE_INTEGER).ok_or_else(|| {
            range_error(&format!("options.caps.{stat} must be a whole number from 0 to 2^53 - 1"))
        })?;
        caps = caps.with(stat, cap as u64);
    }
    let difficulty =
        match given.difficulty {
            None => Difficulty::DEFAULT,
            Some(n) => Difficulty(whole(n, 0.0..=64.0).ok_or_else(|| {
                range_error("options.difficulty must be a whole number from 0 to 64")
            })? as u8),
        };
    let max_tweets = match given.max_tweets {
        None => MAX_TWEETS,
        Some(n) => whole(n, 1.0..=1_000_000.0).ok_or_else(|| {
            range_error("options.maxTweets must be a whole number from 1 to 1000000")
        })? as usize,
    };
    Ok(Options {
        namespace,
        rules: Rules { caps, difficulty },
        db_name,
        bootstrap: bootstrap?,
        max_tweets: given.light.unwrap_or(false).then_some(max_tweets),
    })
}

/// The options `StatsNode.open` knows (`StatsNodeOptions`).
const OPTIONS: &[&str] =
    &["namespace", "dbName", "bootstrap", "caps", "difficulty", "light", "maxTweets"];

/// A TypeError naming the first key of `object` not in `known` (a misspelt option would
/// otherwise be ignored).
fn known_keys(what: &str, object: &JsValue, known: &[&str]) -> Result<(), JsValue> {
    let keys = js_sys::Object::keys(object.unchecked_ref());
    for key in keys.iter().filter_map(|key| key.as_string()) {
        if !known.contains(&key.as_str()) {
            let expected = known.join(", ");
            return Err(type_error(&format!(
                "{what}: unknown field `{key}`, expected one of {expected}"
            )));
        }
    }
    Ok(())
}

/// One of `options.bootstrap`: a multiaddr naming its peer.
fn address(text: &str) -> Result<Multiaddr, JsValue> {
    let range = |why: String| range_error(&format!("options.bootstrap: {text:?} {why}"));
    let address: Multiaddr =
        text.parse().map_err(|e| range(format!("is not a multiaddr ({e})")))?;
    if !address.iter().any(|p| matches!(p, Protocol::P2p(_))) {
        return Err(range("must end in /p2p/<peer id>".into()));
    }
    Ok(address)
}

/// `value` as its JS type (`T`'s TypeScript declaration).
pub(super) fn to_js<T: tsify::Tsify + serde::Serialize>(value: &T) -> tsify::Ts<T> {
    // Serializing these plain structs of numbers, strings and maps cannot fail.
    value.into_ts().unwrap_or_else(|_| tsify::Ts::new_unchecked(JsValue::UNDEFINED))
}

/// One "change" event per tweet: the details made in one pass, dispatched by one call into JS
/// for a whole commit (a catch-up commits thousands of tweets at once).
pub(super) fn dispatch_changes(
    target: &EventTarget,
    changed: &[(TweetId, Stats)],
    source: ChangeSource,
) {
    if changed.is_empty() {
        return;
    }
    let changes: Vec<StatsChange> = changed
        .iter()
        .map(|(tweet, stats)| StatsChange {
            tweet_id: tweet.to_string(),
            stats: (*stats).into(),
            source,
        })
        .collect();
    if let Ok(details) = serde_wasm_bindgen::to_value(&changes) {
        dispatch_each(target, "change", &details);
    }
}

#[wasm_bindgen(inline_js = r#"
export function dispatchEach(target, kind, details) {
  for (const detail of details) target.dispatchEvent(new CustomEvent(kind, { detail }));
}"#)]
extern "C" {
    #[wasm_bindgen(js_name = dispatchEach)]
    fn dispatch_each(target: &EventTarget, kind: &str, details: &JsValue);
}

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (of a window or a worker).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &JsValue);
}

pub(super) fn dispatch(target: &EventTarget, kind: &str, detail: &JsValue) {
    let init = CustomEventInit::new();
    init.set_detail(detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(kind, &init) {
        let _ = target.dispatch_event(&event);
    }
}

/// Dispatches a "warning" after the current task (so listeners added right after `open`
/// resolves hear it), and says it in the console.
pub(super) fn warn_later(target: &EventTarget, code: WarningCode, message: String) {
    web_sys::console::warn_1(&format!("warpnet-stats: {message}").into());
    let detail: JsValue = to_js(&Warning { code, message }).into();
    let target = target.clone();
    set_timeout(&Closure::once_into_js(move || dispatch(&target, "warning", &detail)));
}

/// Whether this is a browser page or worker (not Node, say).
pub(super) fn in_browser() -> bool {
    let global = js_sys::global();
    let has = |name: &str| js_sys::Reflect::has(&global, &name.into()).unwrap_or(false);
    has("document") || has("WorkerGlobalScope")
}

/// Why none of `bootstrap` can be dialled from this page or worker, if none can: a page served
/// over https opens WebSocket over TLS only (`/tls/ws`, `/wss`: mixed content is blocked),
/// WebRTC-direct needs `RTCPeerConnection` (a worker has none), and TCP no page can open.
pub(super) fn undialable(bootstrap: &[Multiaddr]) -> Option<String> {
    let global = js_sys::global();
    let https = js_sys::Reflect::get(&global, &"location".into())
        .and_then(|location| js_sys::Reflect::get(&location, &"protocol".into()))
        .is_ok_and(|protocol| protocol.as_string().as_deref() == Some("https:"));
    let webrtc = js_sys::Reflect::has(&global, &"RTCPeerConnection".into()).unwrap_or(false);
    let dialable = |address: &Multiaddr| {
        let parts: Vec<Protocol> = address.iter().collect();
        let tls = parts.iter().any(|p| matches!(p, Protocol::Tls | Protocol::Wss(_)));
        let ws = parts.iter().any(|p| matches!(p, Protocol::Ws(_) | Protocol::Wss(_)));
        let direct = parts.iter().any(|p| matches!(p, Protocol::WebRTCDirect));
        (ws && (tls || !https)) || (direct && webrtc)
    };
    if bootstrap.iter().any(dialable) {
        return None;
    }
    let why = match (https, webrtc) {
        (true, false) => {
            "this page is served over https (WebSocket needs wss://: /tls/ws or /wss) and a worker has no WebRTC"
        }
        (true, true) => "this page is served over https (WebSocket needs wss://: /tls/ws or /wss)",
        (false, false) => "they are neither WebSocket nor, outside a worker, WebRTC-direct",
        (false, true) => "they are neither WebSocket nor WebRTC-direct",
    };
    Some(format!("no bootstrap address can be dialled from here: {why}"))
}

/// What a page's copy of a node in a worker starts from (`warpnet-stats/worker`'s own use; not
/// part of the API, so not declared).
#[allow(unreachable_pub, reason = "exported to JavaScript only")]
#[wasm_bindgen(js_name = __mirror, skip_typescript)]
pub fn mirror(node: &StatsNode) -> JsValue {
    let browser = &node.inner;
    let node = browser.node();
    let mut mirror = types::Mirror::default();
    for (tweet, shown) in node.shown_all() {
        let TweetStats { likes, retweets, replies, views } = shown.stats.into();
        mirror.ids.push(tweet.to_string());
        mirror.counts.extend([likes, retweets, replies, views]);
        mirror.verified.push(shown.verified);
        mirror.loaded.push(shown.loaded);
    }
    (mirror.light, mirror.alone) = (browser.is_light(), browser.network().is_none());
    let marks = |mark| node.all_marks(mark).into_iter().map(|(t, s)| format!("{t}\n{s}")).collect();
    (mirror.liked, mirror.retweeted) = (marks(Mark::Liked), marks(Mark::Retweeted));
    serde_wasm_bindgen::to_value(&mirror).unwrap_or_default()
}
