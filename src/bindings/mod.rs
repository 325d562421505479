//! The JavaScript API: the `StatsNode` class, thin over the browser runtime. This module only
//! converts: arguments in `convert`, options and results as serde types in `types` (their
//! TypeScript declarations generated from them), errors in `errors`; no logic lives here.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::Promise;
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

use crate::core::{
    Action, Caps, Difficulty, Mark, Namespace, ReplyId, Rules, Stats, TweetId, UserId,
};
use crate::runtime::{BrowserNode, Minting, OnChange, PeerHandle};
use convert::to_js;
use types::{
    ChangeSource, Contribution, IdentityStatus, PeerInfo, SyncStatus, TweetStats, WarningCode,
};

/// `Symbol.dispose` and `Symbol.asyncDispose`, which the class's declaration names, declared as
/// TypeScript's `ESNext.Disposable` lib declares them (identical declarations merge), so the
/// declarations check under tsconfigs without that lib (create-vite's: ES2023, DOM) and
/// `skipLibCheck` off.
#[wasm_bindgen(typescript_custom_section)]
const DISPOSE: &str = r#"
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
    readonly asyncDispose: unique symbol;
  }
}
"#;

#[wasm_bindgen(typescript_custom_section)]
const EVENTS: &str = r#"
/** A `StatsNode` is an `EventTarget`: its events, with their `detail` types. Listener options
 * (`once`, `signal`, ...) work as on any `EventTarget`. */
export interface StatsNode extends EventTarget {
  /** A tweet's statistics changed (here, in another tab, or from a peer). */
  addEventListener(kind: "change", listener: (event: CustomEvent<StatsChange>) => void, options?: boolean | AddEventListenerOptions): void;
  /** The node connected to its first peer or lost its last, went on or offline, finished a
   * catch-up (a light node: an edge node answered its watched tweets) or minted its identity:
   * `detail` is `syncStatus()` then. */
  addEventListener(kind: "status", listener: (event: CustomEvent<SyncStatus>) => void, options?: boolean | AddEventListenerOptions): void;
  /** How minting the node's identity proof goes, while it is minted. */
  addEventListener(kind: "identity", listener: (event: CustomEvent<IdentityStatus>) => void, options?: boolean | AddEventListenerOptions): void;
  /** Something the page should know, with a code: IndexedDB unavailable (counting in memory
   * only), no bootstrap address this page can dial, no edge node answering. */
  addEventListener(kind: "warning", listener: (event: CustomEvent<Warning>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(kind: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  /** Calls `listener` whenever `tweetId`'s snapshot changes; returns what stops it. With
   * `snapshot`, a store for React's `useSyncExternalStore`, Svelte's and Vue's. */
  subscribe(tweetId: string, listener: () => void): () => void;
  /** `tweetId`'s statistics, whether they are loaded and verified: the same frozen object
   * until they change (a "change" event of the tweet, or a "status" event that loaded it). */
  snapshot(tweetId: string): TweetSnapshot;
  /** Closes the node (see `close`): `await using node = await StatsNode.open(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What `snapshot` returns. */
export interface TweetSnapshot extends Readonly<TweetStats> {
  /** `loaded(tweetId)`: false while the counts are not current yet (show a loading state). */
  readonly loaded: boolean;
  readonly verified: boolean;
}
"#;

#[wasm_bindgen(module = "/src/bindings/class.js")]
extern "C" {
    /// Makes `StatsNode`'s prototype an `EventTarget`'s (`node instanceof EventTarget`; its
    /// own methods forward to the node's event target), with `Symbol.asyncDispose`,
    /// `subscribe` and `snapshot` (src/bindings/class.js).
    fn adopt(node: JsValue) -> JsValue;

    /// `target.addEventListener(kind, listener, options)`, whatever the options.
    fn listen(target: &EventTarget, kind: &JsValue, listener: &JsValue, options: &JsValue);

    fn unlisten(target: &EventTarget, kind: &JsValue, listener: &JsValue, options: &JsValue);

    #[wasm_bindgen(js_name = dispatchTo, catch)]
    fn dispatch_to(target: &EventTarget, event: &JsValue) -> Result<bool, JsValue>;
}

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
    ) -> Promise {
        if !convert::in_browser() {
            let message = "warpnet-stats runs in a browser (a page or a worker), not here";
            return Promise::reject(&errors::error(errors::Code::UnsupportedEnvironment, message));
        }
        settled(convert::options(&options).map(|options| {
            future_to_promise(
                async move { Ok(adopt(StatsNode::open_checked(options).await?.into())) },
            )
        }))
    }

    /// Likes `tweetId` as `userId` (once per user); resolves to the new like count once stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn like(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Promise {
        let id = convert::id::<UserId>("userId", &user_id);
        settled(id.and_then(|id| self.submit(&tweet_id, Action::Like(id))))
    }

    /// Takes back `userId`'s like; resolves to the new like count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn unlike(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Promise {
        let id = convert::id::<UserId>("userId", &user_id);
        settled(id.and_then(|id| self.submit(&tweet_id, Action::Unlike(id))))
    }

    /// Retweets `tweetId` as `userId` (once per user); resolves to the new retweet count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn retweet(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Promise {
        let id = convert::id::<UserId>("userId", &user_id);
        settled(id.and_then(|id| self.submit(&tweet_id, Action::Retweet(id))))
    }

    /// Takes back `userId`'s retweet; resolves to the new retweet count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn unretweet(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Promise {
        let id = convert::id::<UserId>("userId", &user_id);
        settled(id.and_then(|id| self.submit(&tweet_id, Action::Unretweet(id))))
    }

    /// Counts reply `replyId` to `tweetId` (once per reply id); resolves to the reply count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn reply(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = replyId, unchecked_param_type = "string")] reply_id: JsValue,
    ) -> Promise {
        let id = convert::id::<ReplyId>("replyId", &reply_id);
        settled(id.and_then(|id| self.submit(&tweet_id, Action::Reply(id))))
    }

    /// Uncounts reply `replyId`; resolves to the reply count.
    #[wasm_bindgen(js_name = deleteReply, unchecked_return_type = "Promise<number>")]
    pub fn delete_reply(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = replyId, unchecked_param_type = "string")] reply_id: JsValue,
    ) -> Promise {
        let id = convert::id::<ReplyId>("replyId", &reply_id);
        settled(id.and_then(|id| self.submit(&tweet_id, Action::DeleteReply(id))))
    }

    /// Counts a view of `tweetId` (every call counts); resolves to the view count.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn view(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
    ) -> Promise {
        settled(self.submit(&tweet_id, Action::View))
    }

    /// The tweet's statistics: `{ likes, retweets, replies, views }`.
    pub fn stats(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
    ) -> Result<Ts<TweetStats>, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        Ok(to_js(&TweetStats::from(self.inner.shown(&tweet).stats)))
    }

    /// Whether `tweetId`'s counts are current, so a UI shows them rather than a loading
    /// state: on a light node once an edge node answered its watch of the tweet (a "change"
    /// event of the tweet tells, even when the counts stay the same) until it is no longer
    /// watched; on a full node once it caught up with a peer (a "status" event tells), or at
    /// once without bootstrap addresses. `snapshot(tweetId).loaded` is the same.
    pub fn loaded(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
    ) -> Result<bool, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        Ok(self.inner.shown(&tweet).loaded)
    }

    /// Shows `tweetIds` (a light node): their counts are fetched from the edge nodes and kept
    /// up to date from then on, and they are held while watched. Returns a function that
    /// stops watching them (call it when the rows leave the screen); watches nest. On a full
    /// node it does nothing (it receives everything).
    ///
    /// ```js
    /// const unwatch = node.watch(["tweet-1", "tweet-2"]);
    /// // ...rows unmounted:
    /// unwatch();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn watch(
        &self,
        #[wasm_bindgen(js_name = tweetIds, unchecked_param_type = "string[]")] tweet_ids: JsValue,
    ) -> Result<JsValue, JsValue> {
        let tweets = convert::tweet_ids(&tweet_ids)?;
        self.check_open()?;
        let (node, network, events) =
            (self.inner.node().clone(), self.inner.network(), self.events.clone());
        if let Some(network) = &network {
            network.watch(&tweets);
        }
        let watched = tweets.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = node.watch(&watched).await {
                let message = format!("keeping a watch: {error}");
                convert::warn_later(&events, WarningCode::WatchFailed, message);
            }
        });
        let node = self.inner.node().clone();
        let mut once = Some(tweets);
        let unwatch = Closure::<dyn FnMut()>::new(move || {
            if let Some(tweets) = once.take() {
                if let Some(network) = &network {
                    network.unwatch(&tweets);
                }
                // After the watch it ends, which is taken in by a task of its own: `watch` and
                // its unwatch in one go (a component mounted and unmounted) leave nothing held.
                let node = node.clone();
                wasm_bindgen_futures::spawn_local(async move { node.unwatch(&tweets) });
            }
        });
        Ok(unwatch.into_js_value())
    }

    /// Whether `tweetId`'s counts are made from every node's signed entries held here (`true`)
    /// or are a light node's edge node's signed tally of a popular tweet, or not loaded yet
    /// (`false`: a light node's watched tweet before its edge node answered, see `loaded`).
    pub fn verified(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
    ) -> Result<bool, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        Ok(self.inner.shown(&tweet).verified)
    }

    /// Checks the counts shown of `tweetId` against every node's signed entries of it,
    /// fetched from an edge node and checked here: resolves to `true` if they make the edge
    /// node's tally (`verified` is then true until the next tally, once the tweet is loaded; a
    /// tweet without a tally, and every tweet of a full node, resolves `true` at once), `false`
    /// if they do not (checked again twice first: the tweet may have moved since the tally);
    /// rejects if no check could be made (no edge node connected).
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn verify(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
    ) -> Promise {
        let checked = convert::id::<TweetId>("tweetId", &tweet_id).and_then(|tweet| {
            self.check_open()?;
            let network = self.inner.network().ok_or_else(errors::no_network)?;
            Ok(network.verify(tweet))
        });
        settled(checked.map(|checked| {
            future_to_promise(async move {
                let verified = checked.await;
                verified
                    .map(JsValue::from)
                    .map_err(|e| errors::error(errors::Code::VerifyFailed, &e.to_string()))
            })
        }))
    }

    /// Whether `userId` liked `tweetId` on this node.
    #[wasm_bindgen(js_name = hasLiked)]
    pub fn has_liked(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Result<bool, JsValue> {
        self.has_mark(Mark::Liked, &tweet_id, &user_id)
    }

    /// Whether `userId` retweeted `tweetId` on this node.
    #[wasm_bindgen(js_name = hasRetweeted)]
    pub fn has_retweeted(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Result<bool, JsValue> {
        self.has_mark(Mark::Retweeted, &tweet_id, &user_id)
    }

    /// This node's id: its store's writer, written as a libp2p PeerId (the tabs sharing a
    /// store have the same; each connects under a network identity of its own).
    #[wasm_bindgen(getter, js_name = nodeId)]
    pub fn node_id(&self) -> String {
        self.inner.node().node_id().to_string()
    }

    /// Who contributed what to a tweet's statistics: one item per node (and generation of its
    /// store) that counted anything for it; for each statistic the items add up to `stats`. A
    /// light node showing a popular tweet from its edge node's tally lists its own item and
    /// one for the rest (`tally: true`, `nodeId` the edge node's).
    ///
    /// ```js
    /// node.contributions("tweet-1"); // [{ nodeId: "12D3Koo…", generation: "…", local: true, tally: false, likes: 1, … }]
    /// ```
    pub fn contributions(
        &self,
        #[wasm_bindgen(js_name = tweetId, unchecked_param_type = "string")] tweet_id: JsValue,
    ) -> Result<Vec<Ts<Contribution>>, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        let node = self.inner.node();
        let local = node.with_replica(|r| r.local_writer());
        let shares = node.with_replica(|r| r.contributions(&tweet));
        let tallied = node.tally(&tweet);
        // Shown from a tally, the tweet's counts are the node's own and the tally's rest.
        let shown = |share: &&crate::core::Contribution| tallied.is_none() || share.writer == local;
        let mut items: Vec<Contribution> = shares
            .iter()
            .filter(shown)
            .map(|share| Contribution::new(share, share.writer == local))
            .collect();
        if let Some(tallied) = tallied {
            let own = node.with_replica(|r| r.writer_values(&tweet, local));
            let edge = tallied.tally.signer.to_string();
            items.push(Contribution::rest(edge, self.inner.shown(&tweet).stats, own));
        }
        Ok(items.iter().map(to_js).collect())
    }

    /// Whether counts are kept in IndexedDB (`false`: memory only, for this session).
    #[wasm_bindgen(getter)]
    pub fn persistent(&self) -> bool {
        self.inner.node().persistent()
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<Ts<PeerInfo>> {
        let peers = self.inner.network().map(|n| n.peers()).unwrap_or_default();
        peers.iter().map(|peer| to_js(&PeerInfo::from(peer))).collect()
    }

    /// What the network did: connection, last catch-up, pending and refused entries.
    #[wasm_bindgen(js_name = syncStatus)]
    pub fn sync_status(&self) -> Ts<SyncStatus> {
        match self.inner.network() {
            Some(network) if !self.closed.get() => sync_status(&network),
            _ => offline_status(self.inner.node().minting()),
        }
    }

    /// Goes offline (`false`: closes every connection and dials nothing, while counting goes on
    /// locally) or back online (`true`: redials the edge nodes at once and catches up).
    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(
        &self,
        #[wasm_bindgen(js_name = online, unchecked_param_type = "boolean")] online: JsValue,
    ) -> Result<(), JsValue> {
        let Some(online) = online.as_bool() else {
            return Err(errors::type_error("setOnline needs a boolean"));
        };
        self.check_open()?;
        match self.inner.network() {
            Some(network) => {
                network.set_online(online);
                Ok(())
            }
            None => Err(errors::no_network()),
        }
    }

    /// Listens for "change" (`detail`: `StatsChange`), "status" (`detail`: `SyncStatus`),
    /// "identity" (`detail`: `IdentityStatus`, while the identity proof is minted) or "warning"
    /// (`detail`: `Warning`), with `EventTarget`'s options.
    #[wasm_bindgen(js_name = addEventListener, skip_typescript)]
    pub fn add_event_listener(&self, kind: &JsValue, listener: &JsValue, options: &JsValue) {
        listen(&self.events, kind, listener, options);
    }

    /// Stops listening.
    #[wasm_bindgen(js_name = removeEventListener, skip_typescript)]
    pub fn remove_event_listener(&self, kind: &JsValue, listener: &JsValue, options: &JsValue) {
        unlisten(&self.events, kind, listener, options);
    }

    /// Dispatches `event` to this node's listeners.
    #[wasm_bindgen(js_name = dispatchEvent, skip_typescript)]
    pub fn dispatch_event(&self, event: &JsValue) -> Result<bool, JsValue> {
        dispatch_to(&self.events, event)
    }

    /// Leaves the other tabs, and the network once what is pending is published (at most 3 s)
    /// and what was taken in is stored; then closes the database. Later calls throw (code
    /// "closed"); closing again resolves at once. `free()` and `Symbol.dispose` close without
    /// waiting.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        if self.closed.replace(true) {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        let (network, minting) = (self.inner.network().is_some(), self.inner.node().minting());
        let closed = self.inner.close();
        let target = self.events.clone();
        future_to_promise(async move {
            closed.await;
            if network {
                convert::dispatch(&target, "status", &offline_status(minting).into());
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    fn submit(&self, tweet_id: &JsValue, action: Action) -> Result<Promise, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", tweet_id)?;
        self.check_open()?;
        let node = self.inner.node().clone();
        Ok(future_to_promise(async move {
            let applied = node.submit(tweet, action).await.map_err(|e| errors::action(&e))?;
            Ok(JsValue::from(applied.count as f64))
        }))
    }

    fn has_mark(&self, mark: Mark, tweet_id: &JsValue, user_id: &JsValue) -> Result<bool, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", tweet_id)?;
        let user = convert::id::<UserId>("userId", user_id)?;
        Ok(self.inner.node().has_mark(mark, &tweet, user.as_str()))
    }

    fn check_open(&self) -> Result<(), JsValue> {
        if self.closed.get() { Err(errors::closed()) } else { Ok(()) }
    }
}

impl Drop for StatsNode {
    /// `free()` and `Symbol.dispose`: closes without waiting.
    fn drop(&mut self) {
        if !self.closed.replace(true) {
            wasm_bindgen_futures::spawn_local(self.inner.close());
        }
    }
}

/// What `syncStatus()` says of a node off the network (closed, or opened without bootstrap).
fn offline_status(minting: Minting) -> Ts<SyncStatus> {
    to_js(&SyncStatus::new(&Default::default(), 0, false, minting))
}

impl StatsNode {
    /// `StatsNode.open` for Rust callers: awaits the node instead of returning a Promise.
    pub async fn open_with(options: &JsValue) -> Result<StatsNode, JsValue> {
        Self::open_checked(convert::options(options)?).await
    }

    async fn open_checked(options: convert::Options) -> Result<StatsNode, JsValue> {
        let convert::Options { namespace, rules, db_name, bootstrap, max_tweets } = options;
        let events = EventTarget::new()?;
        let target = events.clone();
        let on_change: OnChange = Rc::new(move |changed, source| {
            convert::dispatch_changes(&target, changed, ChangeSource::from(source));
        });
        let inner = BrowserNode::open(namespace, rules, &db_name, max_tweets, on_change)
            .await
            .map_err(|e| errors::open(&e))?;
        if !bootstrap.is_empty() {
            if let Some(message) = convert::undialable(&bootstrap) {
                convert::warn_later(&events, WarningCode::NoDialableAddress, message);
            }
            let target = events.clone();
            let on_minting = move |minting| {
                let status = to_js(&IdentityStatus::from(minting));
                convert::dispatch(&target, "identity", &status.into());
            };
            let target = events.clone();
            let on_status = move |network: &PeerHandle| {
                convert::dispatch(&target, "status", &sync_status(network).into());
            };
            let joined = inner.join(bootstrap, on_minting, on_status).await;
            let network =
                joined.map_err(|e| errors::error(errors::Code::Network, &e.to_string()))?;
            let target = events.clone();
            wasm_bindgen_futures::spawn_local(async move {
                futures_timer::Delay::new(NO_EDGE_NODE_AFTER).await;
                let stats = network.stats();
                if network.online() && network.peers().is_empty() {
                    let message = "no edge node answered within 10 seconds: still trying (see \
                                   syncStatus().dials)";
                    convert::warn_later(&target, WarningCode::NoEdgeNode, message.into());
                } else if stats.light_unsupported > 0 && stats.last_sync.is_none() {
                    let message = "the edge node does not speak /warpnet/stats-light/2: it is \
                                   older than this package, and a light node gets no counts \
                                   from it (update the edge node)";
                    convert::warn_later(&target, WarningCode::OldEdgeNode, message.into());
                }
            });
        }
        if let Some(reason) = inner.fallback() {
            let message = format!("IndexedDB unavailable, counting in memory only: {reason}");
            convert::warn_later(&events, WarningCode::NoIndexedDb, message);
        }
        Ok(StatsNode { inner: Rc::new(inner), events, closed: Rc::default() })
    }
}

/// A promise-returning method's promise, or its error as a rejected one: such methods never
/// throw (a bad argument, a closed node: the promise rejects), as on the worker node.
fn settled(promise: Result<Promise, JsValue>) -> Promise {
    promise.unwrap_or_else(|error| Promise::reject(&error))
}

/// `syncStatus()` of a node on the network.
fn sync_status(network: &PeerHandle) -> Ts<SyncStatus> {
    let peers = network.peers().len();
    to_js(&SyncStatus::new(&network.stats(), peers, network.online(), network.minting()))
}

/// How long after opening a node with no edge node connected warns (`no-edge-node`).
const NO_EDGE_NODE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

mod convert;
mod errors;
mod types;
