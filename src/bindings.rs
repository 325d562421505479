//! The JavaScript API: the `StatsNode` class, thin over the browser runtime. This module only
//! converts JS values to Rust and back, and errors to JS `Error`s (in `convert`); no logic
//! lives here.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

use crate::core::{
    Action, Contribution, Mark, Namespace, ReplyId, StatKind, Stats, TweetId, UserId,
};
use crate::runtime::{ActionError, BrowserNode, ChangeSource, OnChange};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options of `StatsNode.open`. */
export interface StatsNodeOptions {
  /** The network the statistics belong to, e.g. "mainnet": 1-64 ASCII letters, digits, - _ . */
  namespace: string;
  /** The IndexedDB database to keep the node in; default "warpnet-stats/<namespace>". */
  dbName?: string;
  /**
   * Edge nodes to connect to (WebSocket or WebRTC-direct multiaddrs ending in `/p2p/<id>`,
   * e.g. from an edge node's `/bootstrap.json`). Connections are kept, redialled with backoff
   * after a drop. Without it the node counts offline only.
   */
  bootstrap?: string[];
}

/** A connected peer. */
export interface PeerInfo {
  id: string;
  /** "webrtc-direct", "websocket", "tcp" or "other". */
  transport: string;
  address: string;
  /** When the connection was established (ms since the epoch). */
  since: number;
}

/** What the network did, for troubleshooting. */
export interface SyncStatus {
  /** Whether the node is on the network (see `setOnline`); false if it has no bootstrap. */
  online: boolean;
  /** Whether at least one peer is connected. */
  connected: boolean;
  peers: number;
  /** When the last catch-up with a peer completed (ms since the epoch), or null. */
  lastSync: number | null;
  /** Local changes no peer has received yet. */
  pendingEntries: number;
  publishedEntries: number;
  /** Entries from peers that changed a counter here, by gossip and by catch-up. */
  gossipEntries: number;
  syncedEntries: number;
  syncsCompleted: number;
  syncsFailed: number;
  /** Dials to edge nodes started, and given up after the dial timeout (10 s). */
  dials: number;
  dialsTimedOut: number;
  /** Messages or entries from peers that were refused, by reason. */
  dropped: Record<string, number>;
}

/** A tweet's statistics, summed over all nodes. */
export interface TweetStats {
  likes: number;
  retweets: number;
  replies: number;
  views: number;
}

/** One node's share of a tweet's statistics (see `contributions`). */
export interface Contribution {
  /** The node that counted (its libp2p peer id). */
  nodeId: string;
  /** The generation of that node's store (32 hex digits): a fresh one each time a store is created. */
  generation: string;
  /** Whether it is this node (in this store's generation). */
  local: boolean;
  likes: number;
  retweets: number;
  replies: number;
  views: number;
}

/** `detail` of the "change" event. */
export interface StatsChange {
  tweetId: string;
  stats: TweetStats;
  /** "local": an action on this node; "tab": another tab of this origin; "remote": a peer. */
  source: "local" | "tab" | "remote";
}
"#;

/// An offline-first statistics node in a browser tab.
///
/// ```js
/// import init, { StatsNode } from "warpnet-stats";
/// await init();
/// const node = await StatsNode.open({ namespace: "mainnet", bootstrap: edgeNodeAddresses });
/// node.addEventListener("change", (e) => render(e.detail.tweetId, e.detail.stats));
/// await node.like("tweet-1", "alice"); // resolves to 1 once stored
/// node.stats("tweet-1");                 // { likes: 1, retweets: 0, replies: 0, views: 0 }
/// ```
#[wasm_bindgen]
pub struct StatsNode {
    inner: Rc<BrowserNode>,
    events: EventTarget,
    closed: Rc<Cell<bool>>,
}

#[wasm_bindgen]
impl StatsNode {
    /// Opens the node of this origin for `options.namespace`, creating it on first use. Falls
    /// back to memory (with `persistent === false` and a "warning" event) if IndexedDB cannot
    /// be opened.
    #[wasm_bindgen(unchecked_return_type = "Promise<StatsNode>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "StatsNodeOptions")] options: JsValue,
    ) -> Result<Promise, JsValue> {
        let options = convert::options(&options)?;
        Ok(future_to_promise(async move { Ok(StatsNode::open_checked(options).await?.into()) }))
    }

    /// Likes `tweetId` as `userId` (once per user); resolves to the new like count once stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn like(&self, tweet_id: JsValue, user_id: JsValue) -> Result<Promise, JsValue> {
        self.submit(&tweet_id, Action::Like(convert::id::<UserId>("userId", &user_id)?))
    }

    /// Takes back `userId`'s like; resolves to the new like count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn unlike(&self, tweet_id: JsValue, user_id: JsValue) -> Result<Promise, JsValue> {
        self.submit(&tweet_id, Action::Unlike(convert::id::<UserId>("userId", &user_id)?))
    }

    /// Retweets `tweetId` as `userId` (once per user); resolves to the new retweet count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn retweet(&self, tweet_id: JsValue, user_id: JsValue) -> Result<Promise, JsValue> {
        self.submit(&tweet_id, Action::Retweet(convert::id::<UserId>("userId", &user_id)?))
    }

    /// Takes back `userId`'s retweet; resolves to the new retweet count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn unretweet(&self, tweet_id: JsValue, user_id: JsValue) -> Result<Promise, JsValue> {
        self.submit(&tweet_id, Action::Unretweet(convert::id::<UserId>("userId", &user_id)?))
    }

    /// Counts reply `replyId` to `tweetId` (once per reply id); resolves to the reply count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn reply(&self, tweet_id: JsValue, reply_id: JsValue) -> Result<Promise, JsValue> {
        self.submit(&tweet_id, Action::Reply(convert::id::<ReplyId>("replyId", &reply_id)?))
    }

    /// Uncounts reply `replyId`; resolves to the reply count.
    #[wasm_bindgen(js_name = deleteReply, unchecked_return_type = "Promise<number>")]
    pub fn delete_reply(&self, tweet_id: JsValue, reply_id: JsValue) -> Result<Promise, JsValue> {
        self.submit(&tweet_id, Action::DeleteReply(convert::id::<ReplyId>("replyId", &reply_id)?))
    }

    /// Counts a view of `tweetId` (every call counts); resolves to the view count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn view(&self, tweet_id: JsValue) -> Result<Promise, JsValue> {
        self.submit(&tweet_id, Action::View)
    }

    /// The tweet's statistics: `{ likes, retweets, replies, views }`.
    #[wasm_bindgen(unchecked_return_type = "TweetStats")]
    pub fn stats(&self, tweet_id: JsValue) -> Result<JsValue, JsValue> {
        Ok(convert::stats(self.inner.node().stats(&convert::id::<TweetId>("tweetId", &tweet_id)?)))
    }

    /// The tweet's like count.
    #[wasm_bindgen(js_name = likesCount)]
    pub fn likes_count(&self, tweet_id: JsValue) -> Result<f64, JsValue> {
        self.count(&tweet_id, StatKind::Likes)
    }

    /// The tweet's retweet count.
    #[wasm_bindgen(js_name = retweetsCount)]
    pub fn retweets_count(&self, tweet_id: JsValue) -> Result<f64, JsValue> {
        self.count(&tweet_id, StatKind::Retweets)
    }

    /// The tweet's reply count.
    #[wasm_bindgen(js_name = repliesCount)]
    pub fn replies_count(&self, tweet_id: JsValue) -> Result<f64, JsValue> {
        self.count(&tweet_id, StatKind::Replies)
    }

    /// The tweet's view count.
    #[wasm_bindgen(js_name = viewsCount)]
    pub fn views_count(&self, tweet_id: JsValue) -> Result<f64, JsValue> {
        self.count(&tweet_id, StatKind::Views)
    }

    /// Whether `userId` liked `tweetId` on this node.
    #[wasm_bindgen(js_name = hasLiked)]
    pub fn has_liked(&self, tweet_id: JsValue, user_id: JsValue) -> Result<bool, JsValue> {
        self.has_mark(Mark::Liked, &tweet_id, &user_id)
    }

    /// Whether `userId` retweeted `tweetId` on this node.
    #[wasm_bindgen(js_name = hasRetweeted)]
    pub fn has_retweeted(&self, tweet_id: JsValue, user_id: JsValue) -> Result<bool, JsValue> {
        self.has_mark(Mark::Retweeted, &tweet_id, &user_id)
    }

    /// This node's id (its libp2p PeerId).
    #[wasm_bindgen(getter, js_name = nodeId)]
    pub fn node_id(&self) -> String {
        self.inner.node().node_id().to_string()
    }

    /// Who contributed what to a tweet's statistics: one item per node (and generation of its
    /// store) that counted anything for it; for each statistic the items add up to `stats`.
    ///
    /// ```js
    /// node.contributions("tweet-1"); // [{ nodeId: "12D3Koo…", generation: "…", local: true, likes: 1, … }]
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Contribution[]")]
    pub fn contributions(&self, tweet_id: JsValue) -> Result<js_sys::Array, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        let node = self.inner.node();
        let local = node.with_replica(|r| r.local_writer());
        let shares = node.with_replica(|r| r.contributions(&tweet));
        Ok(shares.iter().map(|share| convert::contribution(share, share.writer == local)).collect())
    }

    /// Whether counts are kept in IndexedDB (`false`: memory only, for this session).
    #[wasm_bindgen(getter)]
    pub fn persistent(&self) -> bool {
        self.inner.node().persistent()
    }

    /// The peers connected now.
    #[wasm_bindgen(unchecked_return_type = "PeerInfo[]")]
    pub fn peers(&self) -> js_sys::Array {
        let peers = self.inner.network().map(|n| n.peers()).unwrap_or_default();
        peers.iter().map(convert::peer).collect()
    }

    /// What the network did: connection, last catch-up, pending and refused entries.
    #[wasm_bindgen(js_name = syncStatus, unchecked_return_type = "SyncStatus")]
    pub fn sync_status(&self) -> JsValue {
        let network = self.inner.network();
        let stats = network.as_ref().map(|n| n.stats()).unwrap_or_default();
        let peers = network.as_ref().map_or(0, |n| n.peers().len());
        let online = network.as_ref().is_some_and(|n| n.online());
        convert::sync_status(&stats, peers, online)
    }

    /// Goes offline (`false`: closes every connection and dials nothing, while counting goes on
    /// locally) or back online (`true`: redials the edge nodes at once and catches up).
    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(&self, online: JsValue) -> Result<(), JsValue> {
        let Some(online) = online.as_bool() else {
            return Err(js_sys::TypeError::new("setOnline needs a boolean").into());
        };
        self.check_open()?;
        match self.inner.network() {
            Some(network) => {
                network.set_online(online);
                Ok(())
            }
            None => Err(convert::error("this StatsNode has no network: open it with a bootstrap")),
        }
    }

    /// Listens for "change" (`detail`: `StatsChange`) or "warning" (`detail`: a message).
    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(&self, kind: &str, listener: &Function) -> Result<(), JsValue> {
        self.events.add_event_listener_with_callback(kind, listener)
    }

    /// Stops listening.
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(&self, kind: &str, listener: &Function) -> Result<(), JsValue> {
        self.events.remove_event_listener_with_callback(kind, listener)
    }

    /// Leaves the network and the other tabs and closes the database; later calls throw.
    pub fn close(&self) {
        if !self.closed.replace(true) {
            self.inner.close();
        }
    }

    fn submit(&self, tweet_id: &JsValue, action: Action) -> Result<Promise, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", tweet_id)?;
        self.check_open()?;
        let node = self.inner.node().clone();
        Ok(future_to_promise(async move {
            let applied = node.submit(tweet, action).await.map_err(|error| match error {
                ActionError::OutOfBounds(bound) => {
                    JsValue::from(js_sys::RangeError::new(&bound.to_string()))
                }
                ActionError::Store(error) => convert::error(&error.to_string()),
            })?;
            Ok(convert::number(applied.count))
        }))
    }

    fn count(&self, tweet_id: &JsValue, stat: StatKind) -> Result<f64, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", tweet_id)?;
        Ok(convert::number(self.inner.node().stats(&tweet).get(stat)).as_f64().unwrap_or(0.0))
    }

    fn has_mark(&self, mark: Mark, tweet_id: &JsValue, user_id: &JsValue) -> Result<bool, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", tweet_id)?;
        let user = convert::id::<UserId>("userId", user_id)?;
        Ok(self.inner.node().has_mark(mark, &tweet, user.as_str()))
    }

    fn check_open(&self) -> Result<(), JsValue> {
        if self.closed.get() { Err(convert::error("this StatsNode is closed")) } else { Ok(()) }
    }
}

impl StatsNode {
    /// `StatsNode.open` for Rust callers: awaits the node instead of returning a Promise.
    pub async fn open_with(options: &JsValue) -> Result<StatsNode, JsValue> {
        Self::open_checked(convert::options(options)?).await
    }

    async fn open_checked(options: convert::Options) -> Result<StatsNode, JsValue> {
        let convert::Options { namespace, db_name, bootstrap } = options;
        let events = EventTarget::new()?;
        let target = events.clone();
        let on_change: OnChange = Rc::new(move |changed, source| {
            let source = match source {
                ChangeSource::Local => "local",
                ChangeSource::Tab => "tab",
                ChangeSource::Remote => "remote",
            };
            convert::dispatch_changes(&target, changed, source);
        });
        let inner = BrowserNode::open(namespace, &db_name, on_change)
            .await
            .map_err(|e| convert::error(&e.to_string()))?;
        if !bootstrap.is_empty() {
            inner.join(bootstrap).await.map_err(|e| convert::error(&e.to_string()))?;
        }
        if let Some(reason) = inner.fallback() {
            let message = format!("IndexedDB unavailable, counting in memory only: {reason}");
            web_sys::console::warn_1(&message.clone().into());
            convert::dispatch_later(&events, "warning", &message);
        }
        Ok(StatsNode { inner: Rc::new(inner), events, closed: Rc::default() })
    }
}

/// JS values to Rust and back; errors to JS `Error`s.
mod convert {
    use super::*;
    use crate::core::KeyError;
    use crate::network::protocol::{NetworkStats, PeerInfo};
    use crate::runtime::wall_clock;
    use libp2p::Multiaddr;
    use libp2p::multiaddr::Protocol;

    /// A checked id from a JS argument: `TypeError` if not a string, `RangeError` if invalid.
    pub(super) fn id<T: std::str::FromStr<Err = KeyError>>(
        name: &str,
        value: &JsValue,
    ) -> Result<T, JsValue> {
        let Some(text) = value.as_string() else {
            let got = value.js_typeof().as_string().unwrap_or_default();
            return Err(
                js_sys::TypeError::new(&format!("{name} must be a string, got {got}")).into()
            );
        };
        text.parse().map_err(|e: KeyError| js_sys::RangeError::new(&format!("{name}: {e}")).into())
    }

    /// What `StatsNode.open` was asked for.
    pub(super) struct Options {
        pub(super) namespace: Namespace,
        pub(super) db_name: String,
        pub(super) bootstrap: Vec<Multiaddr>,
    }

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
        let namespace = Namespace::new(&text).map_err(|e| {
            JsValue::from(js_sys::RangeError::new(&format!("options.namespace: {e}")))
        })?;
        let db_name = match field("dbName") {
            value if value.is_undefined() => format!("warpnet-stats/{namespace}"),
            value => match value.as_string().filter(|s| !s.is_empty()) {
                Some(name) => name,
                None => {
                    return Err(js_sys::TypeError::new(
                        "options.dbName must be a non-empty string",
                    )
                    .into());
                }
            },
        };
        let bootstrap = match field("bootstrap") {
            value if value.is_undefined() => Vec::new(),
            value => bootstrap(&value)?,
        };
        Ok(Options { namespace, db_name, bootstrap })
    }

    fn bootstrap(value: &JsValue) -> Result<Vec<Multiaddr>, JsValue> {
        if !js_sys::Array::is_array(value) {
            return Err(
                js_sys::TypeError::new("options.bootstrap must be an array of strings").into()
            );
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

    pub(super) fn sync_status(stats: &NetworkStats, peers: usize, online: bool) -> JsValue {
        let object = Object::new();
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
    pub(super) fn dispatch_changes(
        target: &EventTarget,
        changed: &[(TweetId, Stats)],
        source: &str,
    ) {
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
}
