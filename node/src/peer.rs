//! A node on the network: composes the node, the network [`Protocol`] and the libp2p driver
//! on one event loop. It owns time (every input is stamped with `Instant::now()`) and the
//! timers, carries out merges (verify, take in, store in the background) and passes the node's
//! committed local changes to the protocol. Natively the signature checks of a merge run on
//! tokio's blocking threads, so the loop (and what shares its thread, like an edge node's HTTP
//! server) stays responsive under a flood. Merges are then taken in a slice at a time, in turn
//! ([`MergeQueue`]), and catch-up requests answered one at a time, a slice and an answer per
//! turn of the loop, with network events handled between turns. What to send, ask and refuse
//! is the protocol's; how the loop shares its thread is [`Pacing`]'s (minting waits while a
//! fresh node catches up, merges go a slice at a time, the journal is folded after a
//! catch-up), both sans-io and tested without a loop.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::future::LocalBoxFuture;
use futures::stream::{FuturesOrdered, FuturesUnordered};
use futures::{FutureExt, StreamExt};
use futures_timer::Delay;
use libp2p::{Multiaddr, PeerId};
use web_time::{Instant, SystemTime};

#[cfg(target_arch = "wasm32")]
use super::YieldOnce;
use super::merge_queue::MergeQueue;
use super::pacing::{Busy, Pacing, Writes};
use super::peer_handle::{PeerHandle, Shared};
use super::{ChangeSource, Minting, Node};
use warpnet_stats_core::{
    EntryKey, Identity, MergeReport, Merging,
    seal::{Sealed, Verified},
};
use warpnet_stats_net::{Driver, Event, NetworkError, build_driver};
#[cfg(not(target_arch = "wasm32"))]
use warpnet_stats_net::{NetworkMetrics, Transports, build_driver_with};
#[cfg(doc)]
use warpnet_stats_protocol::NetworkStats;
use warpnet_stats_protocol::{Action, MergeFrom, PeerConfig, Protocol};
use warpnet_stats_store::{Store, StoreError};

/// The wall-clock time of an instant the network reported (e.g. [`NetworkStats::last_sync`]).
pub fn wall_clock(at: Instant) -> SystemTime {
    SystemTime::now() - Instant::now().saturating_duration_since(at)
}

/// A node on the network: the node, its protocol and its swarm.
pub struct Peer<S: Store> {
    node: Rc<Node<S>>,
    driver: Driver,
    shared: Rc<Shared>,
    handle: PeerHandle,
    changes: mpsc::UnboundedReceiver<Vec<EntryKey>>,
    wakes: mpsc::UnboundedReceiver<()>,
    storing: FuturesUnordered<LocalBoxFuture<'static, Result<(), StoreError>>>,
    /// Merges being taken in, a slice per turn of the loop (so the next catch-up request,
    /// already handed to the swarm, leaves first), with what their slices did so far.
    merging: MergeQueue<(Merging, MergeReport)>,
    /// Catch-up responses whose signatures are being checked off the loop, queued in the
    /// order they came.
    checking: FuturesOrdered<LocalBoxFuture<'static, Checked>>,
    /// Gossip messages whose signatures are being checked off the loop, queued as their
    /// checks end (a like's need not wait for a flood's before it).
    checking_gossip: FuturesUnordered<LocalBoxFuture<'static, Checked>>,
    #[cfg(not(target_arch = "wasm32"))]
    checkers: std::sync::Arc<tokio::sync::Semaphore>,
    pacing: Pacing,
    on_minting: Option<Rc<dyn Fn(Minting)>>,
    on_status: Option<OnStatus>,
    /// What `on_status` was last called for: online, connected, last catch-up, minted.
    status: Option<(bool, bool, Option<Instant>, bool)>,
}

/// Told when the peer's status changes ([`Peer::on_status`]).
type OnStatus = Box<dyn Fn(&PeerHandle)>;

/// A merge: where its entries came from, and the entries with what checking their seals found
/// (or the entries alone, to check as they are taken in).
type Checked = (MergeFrom, Result<Verified, Vec<Sealed>>);

enum Wake {
    Checked(Box<Checked>),
    Minted,
    Swarm(Box<Event>),
    Changes(Vec<EntryKey>),
    Poked,
    Stored(Result<(), StoreError>),
    /// A slice of a merge and an answer to a catch-up request are due.
    Turn,
    Timeout,
    Stop,
}

/// Resolves when the future in `slot` does; never while it holds none.
fn when_set<F: Future<Output = ()> + Unpin>(
    slot: &mut Option<F>,
) -> futures::future::Fuse<LocalBoxFuture<'_, ()>> {
    async move {
        match slot {
            Some(future) => future.await,
            None => std::future::pending().await,
        }
    }
    .boxed_local()
    .fuse()
}

/// Resolves on the loop's next turn. Natively after the runtime polled its timers and sockets
/// (a task that wakes itself at once is polled again first, up to 61 times under tokio's
/// `LocalSet`: the network would wait for a whole merge); in the browser after the other
/// tasks of this turn.
fn next_turn() -> LocalBoxFuture<'static, ()> {
    #[cfg(not(target_arch = "wasm32"))]
    return tokio::task::yield_now().boxed_local();
    #[cfg(target_arch = "wasm32")]
    return YieldOnce::default().boxed_local();
}

/// How long the loop sleeps when the protocol has nothing due.
const IDLE: Duration = Duration::from_secs(3600);
/// How long a stopped peer stays on for a peer to hold what it counted (a full node's last
/// changes: a catch-up confirms they arrived, and sends them again if not).
const LINGER: Duration = Duration::from_secs(3);

/// The identity `node` has on the network. A native full node's is its store's (its address
/// names it; its peers know it by it). A browser node's or a light node's is its own, fresh for
/// each run: the tabs sharing a store are then distinct peers, which an edge node keeps
/// connected side by side (a second connection of the same peer it takes for a redial over a
/// dead one, and closes both); a light node names its store's writer in its `Watch`.
fn network_identity<S: Store>(node: &Node<S>, light: bool) -> Identity {
    let store = node.with_replica(|r| r.identity().clone());
    if !light && !cfg!(target_arch = "wasm32") {
        return store;
    }
    let mut secret = [0; 32];
    if let Err(error) = getrandom::fill(&mut secret) {
        tracing::warn!(%error, "no randomness for a network identity: the store's is used");
        return store;
    }
    Identity::from_secret(secret)
}

impl<S: Store + 'static> Peer<S> {
    /// Puts `node` on the network (natively TCP and WebSocket, inside a tokio runtime; in the
    /// browser WebSocket and WebRTC-direct) and publishes its local changes from now on.
    pub async fn new(node: Rc<Node<S>>, config: PeerConfig) -> Result<Self, NetworkError> {
        let identity = network_identity(&node, config.light);
        let (namespace, caps) = (node.namespace(), config.connections);
        let driver = build_driver(&identity, &namespace, caps, config.light).await?;
        Ok(Self::with_driver(node, driver, config))
    }

    /// Like [`Peer::new`], and also able to listen on what `transports` allows: WebRTC-direct
    /// addresses (`/ip4/.../udp/<port>/webrtc-direct`), which browsers dial without TLS, and
    /// WebSocket over TLS (`/tcp/<port>/tls/ws`), which pages served over https dial.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn with_transports(
        node: Rc<Node<S>>,
        config: PeerConfig,
        transports: Transports,
    ) -> Result<Self, NetworkError> {
        let identity = network_identity(&node, config.light);
        let (namespace, caps) = (node.namespace(), config.connections);
        let driver =
            build_driver_with(&identity, &namespace, caps, config.light, transports).await?;
        Ok(Self::with_driver(node, driver, config))
    }

    fn with_driver(node: Rc<Node<S>>, driver: Driver, config: PeerConfig) -> Self {
        let (sender, changes) = mpsc::unbounded();
        node.on_commit(move |changes, source| {
            // Only this node's own changes are published: peers' entries came by gossip (which
            // relays them itself) or by catch-up. After the peer is gone nothing is published.
            if source == ChangeSource::Local {
                let keys = changes.keys().cloned().collect();
                let _ = sender.unbounded_send(keys);
            }
        });
        let protocol = Protocol::new(node.namespace(), config, Instant::now());
        let shared = Rc::new(Shared {
            protocol: RefCell::new(protocol),
            verifying: RefCell::default(),
            listen_addrs: RefCell::default(),
            minting: Cell::new(node.minting()),
        });
        let (wake, wakes) = mpsc::unbounded();
        let handle = PeerHandle { id: driver.peer_id(), shared: shared.clone(), wake };
        Self {
            node,
            driver,
            shared,
            handle,
            changes,
            wakes,
            storing: FuturesUnordered::new(),
            merging: MergeQueue::default(),
            checking: FuturesOrdered::new(),
            checking_gossip: FuturesUnordered::new(),
            #[cfg(not(target_arch = "wasm32"))]
            checkers: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, usize::from),
            )),
            pacing: Pacing::default(),
            on_minting: None,
            on_status: None,
            status: None,
        }
    }

    /// Calls `f` when the peer connects to its first peer or loses its last, goes online or
    /// offline, finishes a catch-up or is done minting its identity proof (its
    /// [`PeerHandle`]'s state, which `f` is given, then says how).
    pub fn on_status(&mut self, f: impl Fn(&PeerHandle) + 'static) {
        self.on_status = Some(Box::new(f));
    }

    /// Calls `f` as minting the node's identity proof goes (after each slice of attempts, and
    /// once done).
    pub fn on_minting(&mut self, f: impl Fn(Minting) + 'static) {
        self.on_minting = Some(Rc::new(f));
    }

    /// Starts listening on `address` (e.g. `/ip4/127.0.0.1/tcp/0/ws`); the actual addresses
    /// show in [`PeerHandle::listen_addrs`] once the peer runs.
    pub fn listen(&mut self, address: Multiaddr) -> Result<(), NetworkError> {
        self.driver.listen(address)
    }

    /// Tells peers (by identify) that this node is reachable at `address` (a public name,
    /// say `/dns4/stats.example.com/tcp/443/tls/ws`, where it listens behind a proxy or NAT).
    pub fn advertise(&mut self, address: Multiaddr) {
        self.driver.advertise(address);
    }

    /// A handle to the peer, usable while it runs.
    pub fn handle(&self) -> PeerHandle {
        self.handle.clone()
    }

    /// This peer's id.
    pub fn peer_id(&self) -> PeerId {
        self.driver.peer_id()
    }

    /// Starts recording metrics; read them with [`NetworkMetrics::encode`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn metrics(&mut self) -> NetworkMetrics {
        let handle = self.handle();
        let read = Box::new(move || (handle.stats(), handle.peers().len()));
        NetworkMetrics::record(&mut self.driver, read)
    }

    /// Runs until `stop` resolves, then publishes what is pending and stays on until a peer
    /// holds it (at most 3 s; at once if none is connected), stores what was merged, and
    /// returns. Mints the node's identity proof first if it has none, meanwhile taking in
    /// and serving peers' entries; its own are published once the proof is set.
    pub async fn run(mut self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop.fuse());
        let mut minting: Option<LocalBoxFuture<'static, ()>> =
            self.node.identity_proof().is_none().then(|| self.mint());
        let mut timer = Delay::new(Duration::ZERO);
        let mut armed: Option<Instant> = None;
        let mut turn: Option<LocalBoxFuture<'static, ()>> = None;
        self.pacing = Pacing::new(self.node.with_replica(|r| {
            let local = r.local_writer();
            r.entries().any(|entry| entry.key.writer == local)
        }));
        let mut stopping: Option<Instant> = None;
        loop {
            self.carry_out();
            self.tell_status();
            if let Some(deadline) = stopping {
                let protocol = self.shared.protocol.borrow();
                let held = protocol.stats().pending_entries == 0 || !protocol.connected();
                if held || Instant::now() >= deadline {
                    break;
                }
            }
            let due = self.shared.protocol.borrow().poll_timeout();
            let due = stopping.map_or(due, |end| Some(due.map_or(end, |at| at.min(end))));
            if due != armed {
                armed = due;
                let now = Instant::now();
                timer.reset(due.map_or(IDLE, |at| at.saturating_duration_since(now)));
            }
            if !self.merging.is_empty() || self.driver.is_asked() {
                turn.get_or_insert_with(next_turn);
            }
            let mut paused = None;
            let wait = {
                let protocol = self.shared.protocol.borrow();
                self.pacing.minting_waits(Busy {
                    merging: !self.merging.is_empty(),
                    checking: !self.checking.is_empty() || !self.checking_gossip.is_empty(),
                    connected: protocol.connected(),
                    catching_up: protocol.catching_up(),
                })
            };
            let wake = {
                let mut turn = when_set(&mut turn);
                let mut minted = when_set(if wait { &mut paused } else { &mut minting });
                futures::select_biased! {
                    () = stop => Wake::Stop,
                    () = minted => Wake::Minted,
                    event = self.driver.next_event().fuse() => Wake::Swarm(Box::new(event)),
                    keys = self.changes.select_next_some() => Wake::Changes(keys),
                    () = self.wakes.select_next_some() => Wake::Poked,
                    stored = self.storing.select_next_some() => Wake::Stored(stored),
                    checked = self.checking_gossip.select_next_some() => Wake::Checked(Box::new(checked)),
                    checked = self.checking.select_next_some() => Wake::Checked(Box::new(checked)),
                    () = turn => Wake::Turn,
                    () = (&mut timer).fuse() => Wake::Timeout,
                }
            };
            let now = Instant::now();
            match wake {
                Wake::Stop => {
                    // It stays on (at most `LINGER`) until a peer holds what it counted.
                    stopping = Some(now + LINGER);
                    while let Ok(keys) = self.changes.try_recv() {
                        self.shared.protocol.borrow_mut().handle_local_changes(keys, now);
                    }
                    let protocol = &mut self.shared.protocol.borrow_mut();
                    self.node.with_replica_mut(|r| protocol.flush(r));
                    protocol.confirm_now(now);
                }
                Wake::Checked(checked) => {
                    let (from, entries) = *checked;
                    self.queue_merge(from, entries);
                }
                Wake::Minted => {
                    minting = None;
                    // Everything counted so far goes out now.
                    let keys: Vec<EntryKey> = self.node.with_replica(|r| {
                        let local = r.local_writer();
                        r.entries().filter(|e| e.key.writer == local).map(|e| e.key).collect()
                    });
                    self.shared.protocol.borrow_mut().handle_local_changes(keys, now);
                }
                Wake::Swarm(event) => {
                    let protocol = &mut self.shared.protocol.borrow_mut();
                    let driver = &mut self.driver;
                    self.node.with_replica_mut(|r| driver.handle_event(*event, protocol, r, now));
                    // Copied for the handles only when it changed (rare), not per event.
                    if self.shared.listen_addrs.borrow().as_slice() != self.driver.listen_addrs() {
                        *self.shared.listen_addrs.borrow_mut() =
                            self.driver.listen_addrs().to_vec();
                    }
                }
                Wake::Changes(keys) => {
                    self.pacing.counted();
                    self.shared.protocol.borrow_mut().handle_local_changes(keys, now);
                }
                Wake::Poked => {}
                Wake::Stored(result) => {
                    if let Err(error) = result {
                        // Kept in memory, so served to peers; fetched again after a restart.
                        tracing::error!(%error, "storing peers' entries failed");
                    }
                    self.compact();
                }
                Wake::Turn => {
                    turn = None;
                    self.merge_slice(self.pacing.budget(false));
                    let protocol = &mut self.shared.protocol.borrow_mut();
                    let driver = &mut self.driver;
                    self.node.with_replica_mut(|r| driver.answer_next(protocol, r, now));
                }
                Wake::Timeout => {
                    armed = None;
                    let protocol = &mut self.shared.protocol.borrow_mut();
                    self.node.with_replica_mut(|r| protocol.handle_timeout(now, r));
                }
            }
        }
        // Minting is left (minted again at the next start): a mint stopped halfway through
        // storing its proof holds the store's writer until it is dropped, and every write
        // below would wait behind it for good.
        drop(minting);
        while let Some((from, entries)) = self.checking_gossip.next().await {
            self.queue_merge(from, entries);
        }
        while let Some((from, entries)) = self.checking.next().await {
            self.queue_merge(from, entries);
        }
        while !self.merging.is_empty() {
            self.merge_slice(self.pacing.budget(true));
        }
        while let Ok(keys) = self.changes.try_recv() {
            self.shared.protocol.borrow_mut().handle_local_changes(keys, Instant::now());
        }
        {
            let protocol = &mut self.shared.protocol.borrow_mut();
            self.node.with_replica_mut(|r| protocol.flush(r));
        }
        self.carry_out();
        // Entries taken in are stored before the peer returns.
        while let Some(stored) = self.storing.next().await {
            if let Err(error) = stored {
                tracing::error!(%error, "storing peers' entries failed");
            }
        }
    }

    /// Calls `on_status` if what it reports changed since it was last called.
    fn tell_status(&mut self) {
        let Some(on_status) = &self.on_status else { return };
        let status = {
            let protocol = self.shared.protocol.borrow();
            let stats = protocol.stats();
            let minted = self.shared.minting.get().done;
            (protocol.online(), protocol.connected(), stats.last_sync, minted)
        };
        if self.status.replace(status) != Some(status) {
            on_status(&self.handle);
        }
    }

    /// Mints the node's identity proof, reporting progress to the handles and `on_minting`.
    fn mint(&self) -> LocalBoxFuture<'static, ()> {
        let (node, shared, callback) =
            (self.node.clone(), self.shared.clone(), self.on_minting.clone());
        async move {
            let progress = |minting: Minting| {
                shared.minting.set(minting);
                if let Some(callback) = &callback {
                    callback(minting);
                }
            };
            node.mint_identity(progress).await;
        }
        .boxed_local()
    }

    /// Carries out the protocol's actions: merges here, the rest through the driver.
    fn carry_out(&mut self) {
        loop {
            let action = self.shared.protocol.borrow_mut().poll_action();
            match action {
                None => break,
                #[cfg(not(target_arch = "wasm32"))]
                Some(Action::Merge { from, entries }) => {
                    let namespace = self.node.namespace();
                    let checkers = self.checkers.clone();
                    let gossip = matches!(from, MergeFrom::Gossip { .. });
                    let check = async move {
                        // As many checks at once as there are cores, not a thread each.
                        let _permit = checkers.acquire_owned().await;
                        let checking = tokio::task::spawn_blocking(move || {
                            Verified::check(&namespace, entries)
                        });
                        match checking.await {
                            Ok(verified) => (from, Ok(verified)),
                            // Cancelled, which happens only as the runtime stops, or a check
                            // that panicked: nothing is taken in (catch-up brings it again).
                            Err(_) => (from, Err(Vec::new())),
                        }
                    }
                    .boxed_local();
                    if gossip {
                        self.checking_gossip.push(check);
                    } else {
                        self.checking.push_back(check);
                    }
                }
                #[cfg(target_arch = "wasm32")]
                Some(Action::Merge { from, entries }) => self.queue_merge(from, Err(entries)),
                Some(Action::Tallies { tallies, untallied, .. }) => {
                    // In memory now, before the answer's merge is done and its tweets loaded.
                    let writes = self.node.replace_tallies(&untallied, tallies);
                    let node = self.node.clone();
                    self.storing.push(async move { node.write(writes).await }.boxed_local());
                }
                Some(Action::Verified { tweet, edge, outcome }) => {
                    let verdict = outcome.map(|figures| self.node.confirm(&tweet, figures));
                    let mismatch = verdict == Ok(false);
                    let protocol = &mut self.shared.protocol.borrow_mut();
                    if !protocol.tally_checked(&tweet, edge, mismatch, Instant::now()) {
                        continue; // checked again once the edge node had time to move on
                    }
                    if mismatch {
                        // The tally is not what the entries served make: dropped (distrusted).
                        let node = self.node.clone();
                        let tweets = [tweet.clone()];
                        self.storing
                            .push(async move { node.drop_tallies(&tweets).await }.boxed_local());
                    }
                    let waiting = self.shared.verifying.borrow_mut().remove(&tweet);
                    for sender in waiting.into_iter().flatten() {
                        let _ = sender.send(verdict.clone());
                    }
                }
                Some(action) => {
                    let protocol = &mut self.shared.protocol.borrow_mut();
                    self.driver.execute(action, protocol, Instant::now());
                }
            }
        }
    }

    /// Verifies (unless they were checked already) entries from a peer and queues them to be
    /// taken in.
    fn queue_merge(&mut self, from: MergeFrom, entries: Result<Verified, Vec<Sealed>>) {
        let merging = self.node.start_merge(entries);
        self.merging.push(from, (merging, MergeReport::default()));
    }

    /// Takes in up to `budget` entries of the merge whose turn it is, stores them in the
    /// background, and once it is done tells the protocol what came of it.
    fn merge_slice(&mut self, budget: usize) {
        let Some(mut turn) = self.merging.take() else { return };
        let (merging, report) = &mut turn.job;
        let (slice, rows) = self.node.merge_some(merging, budget);
        if slice.added > 0 {
            let protocol = &mut self.shared.protocol.borrow_mut();
            protocol.handle_added(&turn.from, slice.added, Instant::now());
        }
        report.absorb(slice);
        if !rows.is_empty() {
            let node = self.node.clone();
            self.storing.push(async move { node.store_merged(rows).await }.boxed_local());
        }
        if !merging.is_done() {
            self.merging.put_back(turn);
            return;
        }
        let (from, report) = (turn.from, turn.job.1);
        self.pacing.merged(&from);
        if let MergeFrom::Light { answered, .. } = &from {
            self.node.answered(answered);
        }
        {
            let protocol = &mut self.shared.protocol.borrow_mut();
            let now = Instant::now();
            self.node.with_replica_mut(|r| protocol.handle_merged(from, &report, r, now));
        }
        self.compact();
    }

    /// Folds the node's journal into its buckets when [`Pacing::fold_now`] says.
    fn compact(&mut self) {
        let writes = Writes {
            storing: !self.storing.is_empty(),
            merging: !self.merging.is_empty(),
            journal: self.node.has_journal(),
        };
        if self.pacing.fold_now(writes) {
            let node = self.node.clone();
            self.storing.push(async move { node.compact().await }.boxed_local());
        }
    }
}
