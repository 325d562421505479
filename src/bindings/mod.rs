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
    Action, Caps, Contribution, Difficulty, Mark, Namespace, ReplyId, Rules, StatKind, Stats,
    TweetId, UserId,
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
  /**
   * The most one node adds to one tweet's statistic, the namespace's rule: every node of a
   * namespace must use the same caps. Defaults: 1000 likes, retweets and replies, 1000000
   * views. An action beyond a cap rejects with a RangeError.
   */
  caps?: { likes?: number; retweets?: number; replies?: number; views?: number };
  /**
   * The namespace's identity difficulty: the leading zero bits a node's identity proof needs
   * (each doubles the work of minting it, once per store; default 23, about a second). Every
   * node of a namespace must use the same. The node counts at once and publishes once minted.
   */
  difficulty?: number;
  /**
   * A light node (default false): it holds its own counts always, and other nodes' only for the
   * tweets it shows (`watch`) or showed recently, up to `maxTweets`; its edge nodes send it
   * those tweets' counts (a popular tweet's as the edge node's signed tally) and push what
   * changes on them, nothing else. A full node receives every count of the namespace.
   */
  light?: boolean;
  /** A light node's bound on the tweets it holds other nodes' counts of (default 5000). */
  maxTweets?: number;
}

/** How minting this node's identity proof goes (`detail` of the "identity" event). */
export interface IdentityStatus {
  /** Whether the proof is minted (the node's own counts are published). */
  minted: boolean;
  /** Attempts made so far. */
  attempts: number;
  /** Attempts a proof takes on average. */
  expected: number;
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
  /** Minting the node's identity proof (it publishes once minted). */
  identity: IdentityStatus;
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
  /** Catch-up requests held back until the peer's intake allowance held another answer. */
  catchUpWaits: number;
  /** Bytes of messages received from peers (gossip, catch-up, light-node answers and pushes). */
  receivedBytes: number;
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
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        Ok(convert::stats(self.inner.node().shown(&tweet).stats))
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
    pub fn watch(&self, tweet_ids: JsValue) -> Result<JsValue, JsValue> {
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
                convert::dispatch_later(&events, "warning", &format!("keeping a watch: {error}"));
            }
        });
        let node = self.inner.node().clone();
        let mut once = Some(tweets);
        let unwatch = Closure::<dyn FnMut()>::new(move || {
            if let Some(tweets) = once.take() {
                node.unwatch(&tweets);
                if let Some(network) = &network {
                    network.unwatch(&tweets);
                }
            }
        });
        Ok(unwatch.into_js_value())
    }

    /// Whether `tweetId`'s counts are made from every node's signed entries held here (`true`)
    /// or are a light node's edge node's signed tally of a popular tweet (`false`).
    pub fn verified(&self, tweet_id: JsValue) -> Result<bool, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        Ok(self.inner.node().shown(&tweet).verified)
    }

    /// Checks the counts shown of `tweetId` against every node's signed entries of it,
    /// fetched from an edge node and checked here: resolves to `true` if they make the edge
    /// node's tally (`verified` is then true until the next tally; a tweet shown from entries
    /// held here is verified already), `false` if they do not; rejects if no check could be
    /// made (no edge node connected).
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn verify(&self, tweet_id: JsValue) -> Result<Promise, JsValue> {
        let tweet = convert::id::<TweetId>("tweetId", &tweet_id)?;
        self.check_open()?;
        let Some(network) = self.inner.network() else {
            return Err(convert::error("this StatsNode has no network: open it with a bootstrap"));
        };
        let checked = network.verify(tweet);
        Ok(future_to_promise(async move {
            checked.await.map(JsValue::from).map_err(|error| convert::error(&error))
        }))
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
        let minting = network.as_ref().map_or_else(|| self.inner.node().minting(), |n| n.minting());
        convert::sync_status(&stats, peers, online, minting)
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

    /// Listens for "change" (`detail`: `StatsChange`), "identity" (`detail`: `IdentityStatus`,
    /// while the identity proof is minted) or "warning" (`detail`: a message).
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
        let shown = self.inner.node().shown(&tweet).stats;
        Ok(convert::number(shown.get(stat)).as_f64().unwrap_or(0.0))
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
        let convert::Options { namespace, rules, db_name, bootstrap, max_tweets } = options;
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
        let inner = BrowserNode::open(namespace, rules, &db_name, max_tweets, on_change)
            .await
            .map_err(|e| convert::error(&e.to_string()))?;
        if !bootstrap.is_empty() {
            let target = events.clone();
            let on_minting = move |minting| {
                let init = CustomEventInit::new();
                init.set_detail(&convert::minting(minting));
                if let Ok(event) = CustomEvent::new_with_event_init_dict("identity", &init) {
                    let _ = target.dispatch_event(&event);
                }
            };
            inner.join(bootstrap, on_minting).await.map_err(|e| convert::error(&e.to_string()))?;
        }
        if let Some(reason) = inner.fallback() {
            let message = format!("IndexedDB unavailable, counting in memory only: {reason}");
            web_sys::console::warn_1(&message.clone().into());
            convert::dispatch_later(&events, "warning", &message);
        }
        Ok(StatsNode { inner: Rc::new(inner), events, closed: Rc::default() })
    }
}

mod convert;
