//! The browser node: a node over IndexedDB (or memory, when IndexedDB cannot be opened), kept in
//! step with the other tabs of the origin through a BroadcastChannel, reporting every change of
//! a tweet's stats (its own, another tab's, or a peer's) to one callback, a commit at a time.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use libp2p::Multiaddr;

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::{ChangeSource, Changes, Minting, Node, OpenError, Peer, PeerHandle, Shown};
use warpnet_stats_core::{Namespace, Rules, Stats, TweetId};
use warpnet_stats_net::{NetworkError, WRITE_CHUNK};
use warpnet_stats_protocol::PeerConfig;
use warpnet_stats_store::{BrowserStore, StoreError};

/// Told of the tweets whose stats one commit changed, each once with its new stats.
pub type OnChange = Rc<dyn Fn(&[(TweetId, Stats)], ChangeSource)>;

/// The node's peer on the network: its handle, what stops it, and what tells it stopped.
type Joined = (PeerHandle, oneshot::Sender<()>, oneshot::Receiver<()>);

/// A node in a browser tab.
pub struct BrowserNode {
    node: Rc<Node<BrowserStore>>,
    channel: Option<BroadcastChannel>,
    _listener: Option<Closure<dyn FnMut(MessageEvent)>>,
    fallback: Option<StoreError>,
    network: RefCell<Option<Joined>>,
    /// Whether it joined the network (its peer is gone once closed).
    joined: std::cell::Cell<bool>,
    light: bool,
}

impl BrowserNode {
    /// Opens the node kept in IndexedDB database `db_name` (memory if that fails; see
    /// [`BrowserNode::fallback`]) under the namespace's `rules`, and joins the other tabs
    /// using the same database. With `max_tweets` it is a light node holding other nodes'
    /// counts of at most that many tweets ([`Node::hold_at_most`]).
    pub async fn open(
        namespace: Namespace,
        rules: Rules,
        db_name: &str,
        max_tweets: Option<usize>,
        on_change: OnChange,
    ) -> Result<Self, OpenError> {
        let (store, fallback) = BrowserStore::open(db_name).await;
        let node = Rc::new(Node::open(namespace.clone(), rules, store).await?);
        if let Some(max) = max_tweets {
            node.hold_at_most(max).await?;
            let (weak, notify) = (Rc::downgrade(&node), on_change.clone());
            node.on_shown(move |tweets| {
                let Some(node) = weak.upgrade() else { return };
                let shown: Vec<(TweetId, Stats)> =
                    tweets.iter().map(|t| (t.clone(), node.shown(t).stats)).collect();
                notify(&shown, ChangeSource::Remote);
            });
        }
        let channel = BroadcastChannel::new(&format!("warpnet-stats/{db_name}")).ok();

        let (weak, tab_channel, notify) =
            (Rc::downgrade(&node), channel.clone(), on_change.clone());
        let ns = namespace.clone();
        node.on_commit(move |changes, source| {
            // Local actions and peers' entries alike: the other tabs hold the same node.
            if let Some(channel) = &tab_channel {
                let _ = channel.post_message(&Uint8Array::from(changes.encode(&ns).as_slice()));
            }
            if let Some(node) = weak.upgrade() {
                notify(&node.changed_stats(changes), source);
            }
        });

        let listener = channel.as_ref().map(|channel| {
            let weak = Rc::downgrade(&node);
            let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(node) = weak.upgrade() else { return };
                let Ok(bytes) = event.data().dyn_into::<Uint8Array>() else { return };
                let changes = Changes::decode(&namespace, &bytes.to_vec());
                node.merge_changes(&changes);
                on_change(&node.changed_stats(&changes), ChangeSource::Tab);
            });
            channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
            listener
        });
        let light = max_tweets.is_some();
        Ok(Self {
            node,
            channel,
            _listener: listener,
            fallback,
            network: RefCell::default(),
            joined: Default::default(),
            light,
        })
    }

    /// The node.
    pub fn node(&self) -> &Rc<Node<BrowserStore>> {
        &self.node
    }

    /// Why IndexedDB could not be used, if the node fell back to memory.
    pub fn fallback(&self) -> Option<&StoreError> {
        self.fallback.as_ref()
    }

    /// Puts the node on the network, keeping a connection to each of the `bootstrap` edge nodes
    /// (redialled with backoff after a drop). The peer runs on the page's event loop until
    /// [`BrowserNode::close`], minting the node's identity proof first if it has none
    /// (`on_minting` hears how that goes); `on_status` hears when it connects, disconnects,
    /// goes on or offline, or finishes a catch-up.
    pub async fn join(
        &self,
        bootstrap: Vec<Multiaddr>,
        on_minting: impl Fn(Minting) + 'static,
        on_status: impl Fn(&PeerHandle) + 'static,
    ) -> Result<PeerHandle, NetworkError> {
        let config = PeerConfig {
            max_message_bytes: WRITE_CHUNK,
            light: self.light,
            ..PeerConfig::default()
        };
        let mut peer = Peer::new(self.node.clone(), config).await?;
        peer.on_minting(on_minting);
        peer.on_status(on_status);
        let handle = peer.handle();
        for address in bootstrap {
            handle.keep_connected(address);
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let (done, finished) = oneshot::channel::<()>();
        wasm_bindgen_futures::spawn_local(async move {
            peer.run(async move {
                let _ = stopped.await;
            })
            .await;
            let _ = done.send(());
        });
        *self.network.borrow_mut() = Some((handle.clone(), stop, finished));
        self.joined.set(true);
        Ok(handle)
    }

    /// `tweet`'s statistics as shown ([`Node::shown`]); a full node's are loaded once it
    /// caught up with a peer (no longer once closed), or at once if it never joined the
    /// network (what it holds is all there is).
    pub fn shown(&self, tweet: &TweetId) -> Shown {
        let mut shown = self.node.shown(tweet);
        if !self.light && self.joined.get() {
            shown.loaded = self.network().is_some_and(|network| network.synced());
        }
        shown
    }

    /// Whether this is a light node.
    pub fn is_light(&self) -> bool {
        self.light
    }

    /// The node's peer, if it joined the network.
    pub fn network(&self) -> Option<PeerHandle> {
        self.network.borrow().as_ref().map(|(handle, ..)| handle.clone())
    }

    /// Leaves the other tabs at once, and the network once the peer has published what is
    /// pending (at most 3 s) and stored what it took in; then closes the database connection.
    /// The returned future resolves when all that is done.
    pub fn close(&self) -> impl Future<Output = ()> + use<> {
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        let network = self.network.borrow_mut().take();
        let node = self.node.clone();
        async move {
            if let Some((_, stop, finished)) = network {
                // Dropping the sender stops the peer.
                drop(stop);
                let _ = finished.await;
            }
            if let BrowserStore::IndexedDb(store) = node.store() {
                store.close();
            }
        }
    }
}
