//! The network driver, where the runtime meets the swarm: it publishes the node's committed
//! changes as coalesced signed batches, validates and merges incoming gossip (reporting the
//! verdict to gossipsub, so peers that send garbage are scored down), rate-limits each origin,
//! and runs a catch-up with every newly connected peer and periodically. Time comes from here.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use futures_timer::Delay;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, PublishError};
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm};
use web_time::{Instant, SystemTime};

use super::behaviour::{Behaviour, BehaviourEvent, topic};
use super::codec::Frame;
#[cfg(doc)]
use super::codec::WRITE_CHUNK;
use super::{NetworkError, build_swarm};
use crate::core::{
    Batch, Entry, EntryKey, MAX_MESSAGE_BYTES, MAX_RESPONSE_ENTRIES, Namespace, SignedEntry,
    SyncRequest, SyncResponse, SyncSession, WireError,
};
use crate::runtime::{ChangeSource, Changes, EntryRow, Node, YieldOnce};
use crate::storage::{Store, StoreError};

/// How a peer behaves on the network.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// How long local changes are gathered before they are published as one batch.
    pub coalesce: Duration,
    /// How often a catch-up runs with every connected peer (besides one on each connection).
    pub sync_interval: Duration,
    /// Gossip messages per second each origin may send on average...
    pub rate: f64,
    /// ...and in one burst. Messages beyond are dropped (and counted), not merged.
    pub burst: f64,
    /// The largest gossip message this peer publishes: batches above are split. Browsers use
    /// [`WRITE_CHUNK`]-sized messages, the most the native WebRTC transport reads at once.
    pub max_message_bytes: usize,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            coalesce: Duration::from_millis(5),
            sync_interval: Duration::from_secs(30),
            rate: 100.0,
            burst: 400.0,
            max_message_bytes: MAX_MESSAGE_BYTES,
        }
    }
}

/// What the network did, for metrics and troubleshooting.
#[derive(Debug, Clone, Default)]
pub struct NetworkStats {
    /// Batches published.
    pub published_batches: u64,
    /// Entries published.
    pub published_entries: u64,
    /// Entries not published because no peer was listening (catch-up delivers them later).
    pub unpublished_entries: u64,
    /// Local changes no peer has received yet: gathered for the next batch, or unpublished and
    /// not yet fetched by a peer's catch-up.
    pub pending_entries: u64,
    /// Gossip messages accepted.
    pub accepted_messages: u64,
    /// Entries from gossip that changed a counter here.
    pub gossip_entries: u64,
    /// Entries from catch-up that changed a counter here.
    pub synced_entries: u64,
    /// Entries from catch-up passed on to the other peers by gossip.
    pub relayed_entries: u64,
    /// Messages or entries dropped, by reason.
    pub dropped: BTreeMap<&'static str, u64>,
    /// Catch-ups completed, and failed.
    pub syncs_completed: u64,
    /// Catch-ups that failed (peer gone, bad response, timeout).
    pub syncs_failed: u64,
    /// When the last catch-up completed.
    pub last_sync: Option<SystemTime>,
}

impl NetworkStats {
    fn drop(&mut self, reason: &'static str, count: u64) {
        if count > 0 {
            *self.dropped.entry(reason).or_default() += count;
        }
    }
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its id.
    pub id: PeerId,
    /// The address of the first connection to it.
    pub address: Multiaddr,
    /// When that connection was established.
    pub since: SystemTime,
}

impl PeerInfo {
    /// The transport of the connection: "webrtc-direct", "websocket", "tcp" or "other".
    pub fn transport(&self) -> &'static str {
        use libp2p::multiaddr::Protocol;
        let mut transport = "other";
        for protocol in self.address.iter() {
            transport = match protocol {
                Protocol::WebRTCDirect => return "webrtc-direct",
                Protocol::Ws(_) | Protocol::Wss(_) => return "websocket",
                Protocol::Tcp(_) => "tcp",
                _ => transport,
            };
        }
        transport
    }
}

/// What the driver shares with its handles.
#[derive(Debug)]
struct Shared {
    stats: NetworkStats,
    listen_addrs: Vec<Multiaddr>,
    peers: BTreeMap<PeerId, PeerInfo>,
    online: bool,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            stats: NetworkStats::default(),
            listen_addrs: Vec::new(),
            peers: BTreeMap::new(),
            online: true,
        }
    }
}

enum Command {
    Dial(Multiaddr),
    Keep(Multiaddr),
    Disconnect(PeerId),
    Online(bool),
}

/// An address the peer keeps a connection to, redialling with backoff after a drop.
#[derive(Debug)]
struct Kept {
    address: Multiaddr,
    peer: Option<PeerId>,
    backoff: Duration,
    next_attempt: Instant,
}

/// The first and the longest wait before redialling a kept address.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(30));

/// The wait before retrying a failed catch-up; it doubles with each failure in a row.
const SYNC_RETRY: Duration = Duration::from_secs(1);

/// Talks to a running [`Peer`]: dial, disconnect, and read its state.
#[derive(Clone)]
pub struct PeerHandle {
    id: PeerId,
    shared: Rc<RefCell<Shared>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for PeerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerHandle").field("shared", &self.shared).finish_non_exhaustive()
    }
}

impl PeerHandle {
    /// The peer's id.
    pub fn peer_id(&self) -> PeerId {
        self.id
    }

    /// Dials `address` (the driver reports failures in its logs and retries nothing itself).
    pub fn dial(&self, address: Multiaddr) {
        let _ = self.commands.unbounded_send(Command::Dial(address));
    }

    /// Keeps a connection to `address` (which should end in `/p2p/<id>`): dials it now and
    /// again after every drop, waiting longer after each failure (0.5 s doubling to 30 s).
    pub fn keep_connected(&self, address: Multiaddr) {
        let _ = self.commands.unbounded_send(Command::Keep(address));
    }

    /// Closes every connection to `peer`.
    pub fn disconnect(&self, peer: PeerId) {
        let _ = self.commands.unbounded_send(Command::Disconnect(peer));
    }

    /// Goes offline (closes every connection and dials nothing; the node keeps counting
    /// locally) or back online (redials the kept addresses at once, which catches up).
    pub fn set_online(&self, online: bool) {
        self.shared.borrow_mut().online = online;
        let _ = self.commands.unbounded_send(Command::Online(online));
    }

    /// Whether the peer is online (see [`PeerHandle::set_online`]).
    pub fn online(&self) -> bool {
        self.shared.borrow().online
    }

    /// What the network did so far.
    pub fn stats(&self) -> NetworkStats {
        self.shared.borrow().stats.clone()
    }

    /// The addresses the peer listens on, each ending in its `/p2p/` id.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared.borrow().listen_addrs.clone()
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared.borrow().peers.values().cloned().collect()
    }
}

/// A token bucket per origin.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    tokens: f64,
    at: Instant,
}

/// A node on the network: its runtime and its swarm.
pub struct Peer<S: Store> {
    node: Rc<Node<S>>,
    swarm: Swarm<Behaviour>,
    namespace: Namespace,
    topic: IdentTopic,
    config: PeerConfig,
    changes: mpsc::UnboundedReceiver<Changes>,
    pending: Vec<Changes>,
    unsent: BTreeSet<EntryKey>,
    sessions: HashMap<PeerId, (OutboundRequestId, SyncSession)>,
    again: HashSet<PeerId>,
    /// Peers whose last catch-up failed: how long to wait after the next failure, and when to
    /// try again (1 s, doubling up to the sync interval; cleared when one completes).
    retries: HashMap<PeerId, (Duration, Instant)>,
    inbound: HashMap<PeerId, ConnectionId>,
    allowances: HashMap<PeerId, Allowance>,
    shared: Rc<RefCell<Shared>>,
    commands: mpsc::UnboundedReceiver<Command>,
    handle: PeerHandle,
    kept: Vec<Kept>,
    storing: FuturesUnordered<LocalBoxFuture<'static, Result<(), StoreError>>>,
    /// Catch-up responses' entries waiting to be verified and taken in, after the next request
    /// went out (see [`Peer::continue_sync`]).
    fetched: VecDeque<Fetched>,
    fold_journal: bool,
    pub(super) recorder: Option<Recorder>,
}

/// Entries one catch-up response delivered.
struct Fetched {
    peer: PeerId,
    entries: Vec<SignedEntry>,
    /// Whether the response was the catch-up's last.
    last: bool,
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

/// Told of every swarm event (for metrics).
pub(super) type Recorder = Box<dyn FnMut(&SwarmEvent<BehaviourEvent>)>;

enum Wake {
    Swarm(Box<SwarmEvent<BehaviourEvent>>),
    Changes(Changes),
    Publish,
    Tick,
    Redial,
    Command(Command),
    Stored(Result<(), StoreError>),
    TakeIn,
    Stop,
}

impl<S: Store + 'static> Peer<S> {
    /// Puts `node` on the network (natively TCP and WebSocket, inside a tokio runtime; in the
    /// browser WebSocket and WebRTC-direct) and publishes its local changes from now on.
    pub async fn new(node: Rc<Node<S>>, config: PeerConfig) -> Result<Self, NetworkError> {
        let identity = node.with_replica(|r| r.identity().clone());
        let swarm = build_swarm(&identity, &node.namespace()).await?;
        Ok(Self::with_swarm(node, swarm, config))
    }

    pub(super) fn with_swarm(
        node: Rc<Node<S>>,
        swarm: Swarm<Behaviour>,
        config: PeerConfig,
    ) -> Self {
        let (sender, changes) = mpsc::unbounded();
        node.on_commit(move |changes, source| {
            // Only this node's own changes are published: peers' entries came by gossip (which
            // relays them itself) or by catch-up. After the peer is gone nothing is published.
            if source == ChangeSource::Local {
                let _ = sender.unbounded_send(changes.clone());
            }
        });
        let namespace = node.namespace();
        let shared = Rc::<RefCell<Shared>>::default();
        let (sender, commands) = mpsc::unbounded();
        let handle =
            PeerHandle { id: *swarm.local_peer_id(), shared: shared.clone(), commands: sender };
        Self {
            topic: topic(&namespace),
            namespace,
            node,
            swarm,
            config,
            changes,
            pending: Vec::new(),
            unsent: BTreeSet::new(),
            sessions: HashMap::new(),
            again: HashSet::new(),
            retries: HashMap::new(),
            inbound: HashMap::new(),
            allowances: HashMap::new(),
            shared,
            commands,
            handle,
            kept: Vec::new(),
            storing: FuturesUnordered::new(),
            fetched: VecDeque::new(),
            fold_journal: false,
            recorder: None,
        }
    }

    /// Starts listening on `address` (e.g. `/ip4/127.0.0.1/tcp/0/ws`); the actual addresses
    /// show in [`Peer::listen_addrs`] once the driver runs.
    pub fn listen(&mut self, address: Multiaddr) -> Result<(), NetworkError> {
        self.swarm
            .listen_on(address.clone())
            .map(drop)
            .map_err(|e| NetworkError::Transport(format!("cannot listen on {address}: {e}")))
    }

    /// Dials a peer at `address`.
    pub fn dial(&mut self, address: Multiaddr) -> Result<(), NetworkError> {
        self.swarm
            .dial(address.clone())
            .map_err(|e| NetworkError::Transport(format!("cannot dial {address}: {e}")))
    }

    /// A handle to the peer, usable while it runs.
    pub fn handle(&self) -> PeerHandle {
        self.handle.clone()
    }

    /// This peer's id.
    pub fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// Runs until `stop` resolves, then publishes what is pending and returns.
    pub async fn run(mut self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop.fuse());
        let mut publish_at: Option<Delay> = None;
        let mut tick = Delay::new(self.config.sync_interval);
        let mut redial = Delay::new(BACKOFF.0);
        let mut take_in: Option<YieldOnce> = None;
        loop {
            if !self.fetched.is_empty() {
                take_in.get_or_insert_with(YieldOnce::default);
            }
            let wake = {
                let mut take_in = when_set(&mut take_in);
                let mut publish = when_set(&mut publish_at);
                futures::select_biased! {
                    () = stop => Wake::Stop,
                    event = self.swarm.select_next_some() => Wake::Swarm(Box::new(event)),
                    changes = self.changes.select_next_some() => Wake::Changes(changes),
                    command = self.commands.select_next_some() => Wake::Command(command),
                    stored = self.storing.select_next_some() => Wake::Stored(stored),
                    () = take_in => Wake::TakeIn,
                    () = publish => Wake::Publish,
                    () = (&mut tick).fuse() => Wake::Tick,
                    () = (&mut redial).fuse() => Wake::Redial,
                }
            };
            match wake {
                Wake::Stop => break,
                Wake::Swarm(event) => {
                    if let Some(record) = self.recorder.as_mut() {
                        record(&event);
                    }
                    self.on_swarm_event(*event)
                }
                Wake::Stored(Err(error)) => {
                    // Kept in memory, so served to peers; fetched again after a restart.
                    tracing::error!(%error, "storing peers' entries failed");
                    self.compact();
                }
                Wake::Stored(Ok(())) => self.compact(),
                Wake::Changes(changes) => {
                    self.pending.push(changes);
                    self.count_pending();
                    publish_at.get_or_insert_with(|| Delay::new(self.config.coalesce));
                }
                Wake::Publish => {
                    publish_at = None;
                    self.publish();
                }
                Wake::TakeIn => {
                    take_in = None;
                    if let Some(fetched) = self.fetched.pop_front() {
                        self.take_in(fetched);
                    }
                }
                Wake::Command(Command::Dial(address)) if self.shared.borrow().online => {
                    if let Err(error) = self.swarm.dial(address.clone()) {
                        tracing::warn!(%address, %error, "dial failed");
                    }
                }
                Wake::Command(Command::Dial(_)) => {}
                Wake::Command(Command::Keep(address)) => {
                    let peer = address.iter().find_map(|p| match p {
                        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
                        _ => None,
                    });
                    let now = Instant::now();
                    self.kept.push(Kept { address, peer, backoff: BACKOFF.0, next_attempt: now });
                    self.redial(now);
                }
                Wake::Redial => {
                    redial = Delay::new(BACKOFF.0);
                    let now = Instant::now();
                    self.redial(now);
                    self.retry_syncs(now);
                }
                Wake::Command(Command::Disconnect(peer)) => {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
                Wake::Command(Command::Online(false)) => {
                    let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                    for peer in peers {
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                }
                Wake::Command(Command::Online(true)) => {
                    let now = Instant::now();
                    for kept in &mut self.kept {
                        (kept.backoff, kept.next_attempt) = (BACKOFF.0, now);
                    }
                    self.redial(now);
                }
                Wake::Tick => {
                    tick = Delay::new(self.config.sync_interval);
                    self.fold_journal = true;
                    self.compact();
                    let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                    for peer in peers {
                        self.start_sync(peer);
                    }
                }
            }
        }
        while let Some(fetched) = self.fetched.pop_front() {
            self.take_in(fetched);
        }
        while let Ok(changes) = self.changes.try_recv() {
            self.pending.push(changes);
        }
        self.publish();
        // Entries taken in are stored before the peer returns.
        while let Some(stored) = self.storing.next().await {
            if let Err(error) = stored {
                tracing::error!(%error, "storing peers' entries failed");
            }
        }
    }

    /// Folds the node's journal into its buckets once a catch-up completed (or periodically)
    /// and every write before has finished.
    fn compact(&mut self) {
        if self.fold_journal && self.storing.is_empty() && self.node.has_journal() {
            self.fold_journal = false;
            let node = self.node.clone();
            self.storing.push(async move { node.compact().await }.boxed_local());
        }
    }

    /// Stores merged rows in the background (the node groups them into few transactions).
    fn store(&mut self, rows: Vec<EntryRow>) {
        if !rows.is_empty() {
            let node = self.node.clone();
            self.storing.push(async move { node.store_merged(rows).await }.boxed_local());
        }
    }

    /// Dials every kept address that is not connected and whose wait is over (none offline).
    fn redial(&mut self, now: Instant) {
        if !self.shared.borrow().online {
            return;
        }
        for kept in &mut self.kept {
            let connected = kept.peer.is_some_and(|p| self.swarm.is_connected(&p));
            if connected {
                kept.backoff = BACKOFF.0;
                continue;
            }
            if now < kept.next_attempt {
                continue;
            }
            tracing::debug!(address = %kept.address, "dialling");
            if let Err(error) = self.swarm.dial(kept.address.clone()) {
                tracing::debug!(address = %kept.address, %error, "dial refused");
            }
            kept.next_attempt = now + kept.backoff;
            kept.backoff = (kept.backoff * 2).min(BACKOFF.1);
        }
    }

    /// Publishes every pending change as signed batches.
    fn publish(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        let keys: BTreeSet<&EntryKey> =
            pending.iter().flat_map(|c| c.entries.iter().map(|row| &row.entry.key)).collect();
        let batch = self.node.signed_batch(keys);
        let sent = self.gossip(&batch);
        let stats = &mut self.shared.borrow_mut().stats;
        for (entries, published) in sent {
            let count = entries.len() as u64;
            for signed in entries {
                if published {
                    self.unsent.remove(&signed.entry.key);
                } else {
                    self.unsent.insert(signed.entry.key.clone());
                }
            }
            if published {
                stats.published_batches += 1;
                stats.published_entries += count;
            } else {
                stats.unpublished_entries += count;
            }
        }
        stats.pending_entries = self.unsent.len() as u64;
    }

    /// Publishes entries caught up from one peer to the others (gossip also reaches that peer,
    /// which finds them stale and spends nothing on them).
    fn relay(&mut self, entries: &[Entry]) {
        let batch = self.node.signed_batch(entries.iter().map(|entry| &entry.key));
        let relayed: usize =
            self.gossip(&batch).iter().filter(|(_, sent)| *sent).map(|(e, _)| e.len()).sum();
        self.shared.borrow_mut().stats.relayed_entries += relayed as u64;
    }

    /// Publishes `batch` as gossip messages of at most the configured size: each message's
    /// entries, and whether it went out (not when no peer is subscribed).
    fn gossip<'b>(&mut self, batch: &'b Batch) -> Vec<(&'b [SignedEntry], bool)> {
        let messages = split(batch, self.config.max_message_bytes);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        messages
            .into_iter()
            .map(|(entries, bytes)| {
                let sent = match gossipsub.publish(self.topic.clone(), bytes) {
                    Ok(_) => true,
                    Err(PublishError::NoPeersSubscribedToTopic) => false,
                    Err(error) => {
                        tracing::warn!(%error, "publishing failed; catch-up will deliver it");
                        false
                    }
                };
                (entries, sent)
            })
            .collect()
    }

    /// Updates the count of local changes no peer has yet.
    fn count_pending(&mut self) {
        let gathered: usize = self.pending.iter().map(|c| c.entries.len()).sum();
        self.shared.borrow_mut().stats.pending_entries = (self.unsent.len() + gathered) as u64;
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let origin = message.source.unwrap_or(propagation_source);
                let verdict = self.validate(origin, propagation_source, &message.data);
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                    &message_id,
                    &propagation_source,
                    verdict,
                );
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request { request, channel, .. } => {
                    match self.answer(&request.bytes) {
                        Ok(response) => {
                            let response = self.frame(&peer, response);
                            let _ =
                                self.swarm.behaviour_mut().sync.send_response(channel, response);
                        }
                        Err(reason) => {
                            tracing::debug!(%peer, reason, "refused a catch-up request");
                            self.shared.borrow_mut().stats.drop(reason, 1);
                        }
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    self.continue_sync(peer, request_id, &response.bytes);
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed {
                peer_id,
                topic,
            })) if topic == self.topic.hash() => {
                // Gossip reaches the peer from now on; what came before its subscription is
                // fetched by a catch-up started after it (the one started on connecting may
                // have been answered before).
                self.resync(peer_id);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure { peer, request_id, error, .. },
            )) if self.sessions.get(&peer).is_some_and(|(id, _)| *id == request_id) => {
                self.sessions.remove(&peer);
                tracing::debug!(%peer, %error, "catch-up failed");
                self.sync_failed(peer);
                if self.again.remove(&peer) && self.swarm.is_connected(&peer) {
                    self.start_sync(peer);
                }
            }
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, .. } => {
                let info = PeerInfo {
                    id: peer_id,
                    address: endpoint.get_remote_address().clone(),
                    since: SystemTime::now(),
                };
                tracing::info!(peer = %peer_id, address = %info.address, "connected");
                self.shared.borrow_mut().peers.insert(peer_id, info);
                if endpoint.is_listener()
                    && let Some(stale) = self.inbound.insert(peer_id, connection_id)
                {
                    // The peer dialled again, so its earlier connection is dead even if that
                    // has not shown yet (a WebRTC connection can take half a minute to): close
                    // it, or gossip and catch-up would keep using it.
                    self.swarm.close_connection(stale);
                }
                self.resync(peer_id);
            }
            SwarmEvent::ConnectionClosed { peer_id, connection_id, num_established, .. }
                if num_established > 0 && self.inbound.get(&peer_id) == Some(&connection_id) =>
            {
                self.inbound.remove(&peer_id);
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                tracing::info!(peer = %peer_id, "disconnected");
                self.sessions.remove(&peer_id);
                self.again.remove(&peer_id);
                self.retries.remove(&peer_id);
                self.inbound.remove(&peer_id);
                self.shared.borrow_mut().peers.remove(&peer_id);
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                let address = address.with_p2p(*self.swarm.local_peer_id()).unwrap_or_else(|a| a);
                tracing::info!(%address, "listening");
                self.shared.borrow_mut().listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let address = address.with_p2p(*self.swarm.local_peer_id()).unwrap_or_else(|a| a);
                self.shared.borrow_mut().listen_addrs.retain(|a| *a != address);
            }
            _ => {}
        }
    }

    /// Checks and merges one gossip message from `origin`, passed on by `source`; the verdict
    /// tells gossipsub whether to relay it and whether to penalise the peer that sent it.
    fn validate(&mut self, origin: PeerId, source: PeerId, data: &[u8]) -> MessageAcceptance {
        if !self.allow(origin) {
            self.shared.borrow_mut().stats.drop("rate_limited", 1);
            // An honest burst loses nothing: what was dropped is fetched from the sender by a
            // catch-up (at most one running and one waiting per peer, whatever the flood).
            self.resync(source);
            return MessageAcceptance::Ignore;
        }
        let batch = match Batch::decode(data) {
            Ok(batch) => batch,
            Err(error) => {
                self.shared.borrow_mut().stats.drop(wire_reason(&error), 1);
                return MessageAcceptance::Reject;
            }
        };
        if batch.namespace != self.namespace {
            self.shared.borrow_mut().stats.drop("foreign_namespace", 1);
            return MessageAcceptance::Reject;
        }
        let (report, rows) = self.node.take_in(batch.entries);
        self.store(rows);
        let stats = &mut self.shared.borrow_mut().stats;
        stats.gossip_entries += report.changed.len() as u64;
        if report.rejected.is_empty() {
            stats.accepted_messages += 1;
            MessageAcceptance::Accept
        } else {
            stats.drop("bad_signature", report.rejected.len() as u64);
            MessageAcceptance::Reject
        }
    }

    /// Takes a token from `origin`'s allowance, if it has one.
    fn allow(&mut self, origin: PeerId) -> bool {
        let now = Instant::now();
        let (rate, burst) = (self.config.rate, self.config.burst);
        let allowance =
            self.allowances.entry(origin).or_insert(Allowance { tokens: burst, at: now });
        let elapsed = now.duration_since(allowance.at).as_secs_f64();
        allowance.tokens = (allowance.tokens + elapsed * rate).min(burst);
        allowance.at = now;
        if allowance.tokens >= 1.0 {
            allowance.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn answer(&mut self, request: &[u8]) -> Result<Vec<u8>, &'static str> {
        let (namespace, request) = SyncRequest::decode(request).map_err(|e| wire_reason(&e))?;
        if namespace != self.namespace {
            return Err("foreign_namespace");
        }
        let response = self.node.answer(&request).map_err(|_| "bad_sync_request")?;
        if let SyncResponse::Entries { entries, .. } = &response
            && !self.unsent.is_empty()
        {
            // The peer fetched these by catch-up: they are not pending any more.
            for signed in entries {
                self.unsent.remove(&signed.entry.key);
            }
            self.count_pending();
        }
        Ok(response.encode(&self.namespace))
    }

    /// Starts a catch-up with `peer`, or another one after the one running.
    fn resync(&mut self, peer: PeerId) {
        if self.sessions.contains_key(&peer) {
            self.again.insert(peer);
        } else {
            self.start_sync(peer);
        }
    }

    fn start_sync(&mut self, peer: PeerId) {
        if self.sessions.contains_key(&peer) {
            return;
        }
        let (session, request) = SyncSession::start();
        let request = self.frame(&peer, request.encode(&self.namespace));
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.sessions.insert(peer, (id, session));
    }

    /// A catch-up message to `peer`, written in small pieces if the connection is WebRTC.
    fn frame(&self, peer: &PeerId, bytes: Vec<u8>) -> Frame {
        let webrtc =
            self.shared.borrow().peers.get(peer).is_some_and(|p| p.transport() == "webrtc-direct");
        Frame::new(bytes, webrtc)
    }

    /// Counts a failed catch-up and schedules another with the same peer soon, rather than at
    /// the next periodic one.
    fn sync_failed(&mut self, peer: PeerId) {
        self.shared.borrow_mut().stats.syncs_failed += 1;
        let wait = self.retries.get(&peer).map_or(SYNC_RETRY, |(wait, _)| *wait);
        let next = (wait * 2).min(self.config.sync_interval.max(SYNC_RETRY));
        self.retries.insert(peer, (next, Instant::now() + wait));
    }

    /// Starts the catch-ups whose retry is due.
    fn retry_syncs(&mut self, now: Instant) {
        let due: Vec<PeerId> = self
            .retries
            .iter()
            .filter(|(peer, (_, at))| *at <= now && !self.sessions.contains_key(peer))
            .map(|(peer, _)| *peer)
            .collect();
        for peer in due {
            if self.swarm.is_connected(&peer) {
                self.start_sync(peer);
            } else {
                self.retries.remove(&peer);
            }
        }
    }

    fn continue_sync(&mut self, peer: PeerId, request_id: OutboundRequestId, bytes: &[u8]) {
        let Some((id, mut session)) = self.sessions.remove(&peer) else { return };
        if id != request_id {
            self.sessions.insert(peer, (id, session));
            return;
        }
        let step = SyncResponse::decode(bytes).map_err(|e| wire_reason(&e)).and_then(|response| {
            self.node
                .with_replica_mut(|replica| session.handle(replica, response))
                .map_err(|_| "bad_sync_response")
        });
        let step = match step {
            Ok(step) => step,
            Err(reason) => {
                self.shared.borrow_mut().stats.drop(reason, 1);
                self.sync_failed(peer);
                return;
            }
        };
        // The next request goes out before this response's entries are verified (they are
        // taken in once the request is on its way), so the peer prepares and sends the next
        // while this node checks signatures.
        let last = step.next.is_none();
        if let Some(next) = step.next {
            let next = self.frame(&peer, next.encode(&self.namespace));
            let id = self.swarm.behaviour_mut().sync.send_request(&peer, next);
            self.sessions.insert(peer, (id, session));
        }
        if last || !step.fetched.is_empty() {
            self.fetched.push_back(Fetched { peer, entries: step.fetched, last });
        }
    }

    /// Verifies and takes in one response's entries; after a catch-up's last, counts it done.
    fn take_in(&mut self, Fetched { peer, entries, last }: Fetched) {
        if !entries.is_empty() {
            let (report, rows) = self.node.take_in(entries);
            self.store(rows);
            {
                let stats = &mut self.shared.borrow_mut().stats;
                stats.synced_entries += report.changed.len() as u64;
                stats.drop("bad_signature", report.rejected.len() as u64);
            }
            // Other peers may lack them too (a node that was offline brought them): pass them
            // on at once rather than at their next catch-up.
            if !report.changed.is_empty() && self.swarm.connected_peers().any(|p| *p != peer) {
                self.relay(&report.changed);
            }
        }
        if last {
            let stats = &mut self.shared.borrow_mut().stats;
            stats.syncs_completed += 1;
            stats.last_sync = Some(SystemTime::now());
            self.fold_journal = true;
            self.retries.remove(&peer);
        }
        if !self.sessions.contains_key(&peer) && self.again.remove(&peer) {
            self.start_sync(peer);
        }
        self.compact();
    }
}

/// A batch as gossip messages of at most `max_bytes` (and [`MAX_RESPONSE_ENTRIES`]) each:
/// the entries of each message, and its bytes.
fn split(batch: &Batch, max_bytes: usize) -> Vec<(&[SignedEntry], Vec<u8>)> {
    let mut messages = Vec::new();
    let mut rest = batch.entries.as_slice();
    while !rest.is_empty() {
        let mut count = rest.len().min(MAX_RESPONSE_ENTRIES);
        loop {
            let piece =
                Batch { namespace: batch.namespace.clone(), entries: rest[..count].to_vec() };
            let bytes = piece.encode();
            if bytes.len() <= max_bytes || count == 1 {
                messages.push((&rest[..count], bytes));
                rest = &rest[count..];
                break;
            }
            // Shrink in proportion, with a margin for entries of uneven size.
            count = (count * max_bytes / bytes.len() * 9 / 10).clamp(1, count - 1);
        }
    }
    messages
}

/// The metric label of a decoding error.
fn wire_reason(error: &WireError) -> &'static str {
    match error {
        WireError::UnknownVersion(_) => "unknown_version",
        WireError::TooLarge { .. } | WireError::TooManyEntries { .. } => "oversized",
        _ => "undecodable",
    }
}
