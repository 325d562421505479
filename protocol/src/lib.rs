//! The network protocol as a deterministic state machine, like quinn-proto's `Connection`:
//! inputs are `handle_*(…, now)` calls, outputs are polled ([`Protocol::poll_action`],
//! [`Protocol::poll_timeout`]). It owns every network policy: per-peer catch-up sessions and
//! their scheduling and retries, ingest limits (per peer, per address, in all), coalescing and
//! splitting of published batches, unsent-entry tracking, kept connections with dial timeouts
//! and backoff, and the statistics. It depends on the core only (and names libp2p's peer,
//! address, connection and message ids): no swarm, no clock, no async, no store, and never
//! the runtime; it borrows a [`Replica`] where it must read or sign entries, and returns what
//! should be merged ([`Action::Merge`]) rather than merging.

mod catch_up;
mod catch_up_messages;
mod gossip;
mod ingest;
mod interface;
mod light;
mod limits;
mod links;
mod liveness;
mod split;
mod stats;
mod watching;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use catch_up::CatchUp;
pub use catch_up::{RequestId, SyncFailure};
pub use gossip::GOSSIP_CACHE;
pub use ingest::network_of;
use ingest::{Ingest, Who};
pub use interface::{
    Action, Allowance, ConnectionCaps, IngestLimits, MergeFrom, PeerConfig, Reply, Shares, Verdict,
    VerifyError, WatchCaps,
};
use light::Light;
use liveness::Liveness;
use warpnet_stats_core::{
    EntryKey, MergeReport, Namespace, Replica, TweetId, light::served_by_tally,
};

/// The most edge nodes a light node distrusts at once (see [`Protocol::distrust`]).
const MAX_DISTRUSTED: usize = 64;

/// Requests refused in a row for its answer allowance after which a peer is hung up on.
const MAX_REFUSED: u32 = 64;
pub use light::{MAX_WATCHED_PER_PEER, TALLY_ANSWER_ITEMS};
use limits::Backoff;
pub use links::DialId;
use links::{LinkAction, Links};
pub use stats::{DropReason, NetworkStats, PeerInfo};

#[derive(Debug)]
struct Connection {
    id: ConnectionId,
    address: Multiaddr,
    inbound: bool,
    since: Instant,
}

/// A connected peer.
#[derive(Debug)]
struct Link {
    connections: Vec<Connection>,
    catch_up: CatchUp,
    /// Requests refused in a row for the peer's answer allowance (see [`Protocol::refuse`]).
    refused: u32,
    /// Local changes published before its catch-up started: held by the peer unless found
    /// lacking before it ends.
    confirming: BTreeSet<EntryKey>,
    /// Whether it told its subscription to the namespace's topic (see `liveness.rs`).
    subscribed: bool,
}

impl Link {
    /// The address of its first connection, which its allowances are counted by.
    fn address(&self) -> Option<&Multiaddr> {
        self.connections.first().map(|connection| &connection.address)
    }
}

/// One node's network protocol. See the module docs.
#[derive(Debug)]
pub struct Protocol {
    config: PeerConfig,
    namespace: Namespace,
    online: bool,
    peers: BTreeMap<PeerId, Link>,
    links: Links,
    ingest: Ingest,
    light: Light,
    liveness: Liveness,
    /// Tallies this node signed for its light nodes, kept while they hold.
    tallies: warpnet_stats_core::light::SignedTallies,
    /// Edge nodes whose tallies this light node refuses ([`Protocol::distrust`]).
    distrusted: BTreeSet<PeerId>,
    /// A light node's tally checks under way, by the request of their next page.
    verifications: BTreeMap<RequestId, (PeerId, warpnet_stats_core::light::Verification)>,
    gathered: BTreeSet<EntryKey>,
    publish_at: Option<Instant>,
    /// Local changes no peer is known to hold, and when a catch-up is to confirm they arrived.
    unsent: BTreeSet<EntryKey>,
    confirm_at: Option<Instant>,
    next_tick: Instant,
    next_request: u64,
    stats: NetworkStats,
    actions: VecDeque<Action>,
}

impl Protocol {
    /// The protocol of a node in `namespace`, online, with no peers yet.
    pub fn new(namespace: Namespace, config: PeerConfig, now: Instant) -> Self {
        let (first, max) = config.redial_backoff;
        Self {
            links: Links::new(config.dial_timeout, Backoff::new(first, max)),
            next_tick: now + config.sync_interval,
            ingest: Ingest::new(config.ingest, now),
            light: Light::default(),
            liveness: Liveness::default(),
            tallies: warpnet_stats_core::light::SignedTallies::default(),
            distrusted: BTreeSet::new(),
            verifications: BTreeMap::new(),
            config,
            namespace,
            online: true,
            peers: BTreeMap::new(),
            gathered: BTreeSet::new(),
            publish_at: None,
            unsent: BTreeSet::new(),
            confirm_at: None,
            next_request: 0,
            stats: NetworkStats::default(),
            actions: VecDeque::new(),
        }
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Protocol::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retries = self.peers.values().filter_map(|link| link.catch_up.due_at());
        [
            self.publish_at,
            self.confirm_at,
            self.liveness.due_at(),
            self.links.next_due(self.online),
            Some(self.next_tick),
            self.light.due_at(),
        ]
        .into_iter()
        .flatten()
        .chain(retries)
        .min()
    }

    /// Does what is due at `now`: publishes gathered changes (signed from `replica`), dials
    /// and gives up dials, retries failed catch-ups, and runs the periodic catch-up.
    pub fn handle_timeout(&mut self, now: Instant, replica: &mut Replica) {
        if self.publish_at.is_some_and(|at| at <= now) {
            self.publish(replica);
            self.confirm_later(now);
        }
        self.confirm_due(now);
        self.close_dead(now);
        let peers = &self.peers;
        for action in self.links.poll(now, self.online, |peer| peers.contains_key(peer)) {
            self.link_action(action, true);
        }
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, link)| link.catch_up.due_at().is_some_and(|at| at <= now))
            .map(|(peer, _)| *peer)
            .collect();
        for peer in due {
            match self.peers.get_mut(&peer).and_then(|link| link.catch_up.take_due(now)) {
                Some((session, request)) => self.send_next(peer, session, request),
                None => self.catch_up(peer),
            }
        }
        self.light_due(replica, now);
        if self.next_tick <= now {
            self.next_tick = now + self.config.sync_interval;
            let peers: Vec<PeerId> = self.peers.keys().copied().collect();
            for peer in peers {
                self.catch_up(peer);
            }
            self.ingest.forget_full(now);
        }
    }

    /// Publishes everything gathered now, whatever the coalescing wait (before stopping).
    pub fn flush(&mut self, replica: &mut Replica) {
        self.publish(replica);
    }

    /// Keeps a connection to `address` (ending in `/p2p/<id>`): dials it when due and again
    /// after every drop, with backoff after failures.
    pub fn keep_connected(&mut self, address: Multiaddr, now: Instant) {
        self.links.keep(address, now);
        self.handle_links(now);
    }

    /// Dials `address` once (unless a dial to it is in flight, or the node is offline).
    pub fn dial(&mut self, address: Multiaddr, now: Instant) {
        if self.online
            && let Some(action) = self.links.dial(address, now)
        {
            self.link_action(action, false);
        }
    }

    /// Closes every connection to `peer`.
    pub fn disconnect(&mut self, peer: PeerId) {
        self.actions.push_back(Action::Disconnect(peer));
    }

    /// Goes offline (cancels every dial in flight, closes every connection, dials nothing) or
    /// back online (dials the kept addresses at once).
    pub fn set_online(&mut self, online: bool, now: Instant) {
        self.online = online;
        if online {
            self.links.go_online(now);
            self.handle_links(now);
        } else {
            for action in self.links.go_offline(now) {
                self.link_action(action, false);
            }
            for peer in self.peers.keys() {
                self.actions.push_back(Action::Disconnect(*peer));
            }
        }
    }

    /// Whether the node is online (see [`Protocol::set_online`]).
    pub fn online(&self) -> bool {
        self.online
    }

    /// What the network did so far.
    pub fn stats(&self) -> &NetworkStats {
        &self.stats
    }

    /// Whether a catch-up with some peer is under way.
    pub fn catching_up(&self) -> bool {
        self.peers.values().any(|link| link.catch_up.running())
    }

    /// Whether some peer is connected.
    pub fn connected(&self) -> bool {
        !self.peers.is_empty()
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.peers
            .iter()
            .filter_map(|(id, link)| {
                let first = link.connections.first()?;
                Some(PeerInfo { id: *id, address: first.address.clone(), since: first.since })
            })
            .collect()
    }

    /// Local changes committed: gathered, and published as one batch after the coalescing wait.
    pub fn handle_local_changes(&mut self, keys: impl IntoIterator<Item = EntryKey>, now: Instant) {
        let keys: Vec<EntryKey> = keys.into_iter().collect();
        // This node's own writer serves no light node.
        self.light.changed(&keys, now + self.config.light_push, |_, _| false);
        self.gathered.extend(keys);
        if !self.gathered.is_empty() {
            self.publish_at.get_or_insert(now + self.config.coalesce);
        }
        self.count_pending();
    }

    /// A connection to `peer` is up (`dial` names it if it was one of ours). A catch-up starts.
    pub fn handle_connected(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        address: Multiaddr,
        inbound: bool,
        dial: Option<DialId>,
        now: Instant,
    ) {
        if !self.online {
            // A dial that was under way when the node went offline.
            self.actions.push_back(Action::HangUp(connection));
            return;
        }
        let config = &self.config;
        let link = self.peers.entry(peer).or_insert_with(|| Link {
            connections: Vec::new(),
            catch_up: CatchUp::new(Backoff::new(config.sync_retry, config.sync_interval)),
            refused: 0,
            confirming: BTreeSet::new(),
            subscribed: false,
        });
        if inbound && link.connections.iter().any(|c| c.inbound) {
            // The peer dialled again, so its earlier connection is dead even if that has not
            // shown yet (a WebRTC connection can take half a minute to). Both are closed: it
            // redials at once and starts clean, as gossipsub tells a peer its subscriptions on
            // its first connection only (beside a dead one, the new one would never carry them
            // and the peer's gossip would find no one subscribed).
            self.actions.push_back(Action::Disconnect(peer));
        }
        link.connections.push(Connection { id: connection, address, inbound, since: now });
        self.liveness.connected(connection, now);
        link.catch_up.new_connection();
        self.links.connected(peer, dial, now);
        if self.config.light {
            self.light.edge_connected(peer, now);
        }
        self.catch_up(peer);
    }

    /// A connection closed. When it was the peer's last, its kept address is redialled.
    pub fn handle_closed(&mut self, peer: PeerId, connection: ConnectionId, now: Instant) {
        let Some(link) = self.peers.get_mut(&peer) else { return };
        link.connections.retain(|c| c.id != connection);
        self.liveness.closed(connection);
        if link.connections.is_empty() {
            self.peers.remove(&peer);
            self.light.unwatch(peer, None);
            self.light.edge_closed(&peer);
            self.stats.watches = self.light.watches() as u64;
            self.links.disconnected(peer, now);
            self.handle_links(now);
        }
    }

    /// A dial failed: its kept address waits before the next attempt.
    pub fn handle_dial_failed(&mut self, dial: DialId, now: Instant) {
        if self.links.is_dialling(dial) {
            self.links.failed(dial, now);
        }
    }

    /// `peer` subscribed to the namespace's topic: gossip reaches it from now on, and a
    /// catch-up fetches what came before (the one on connecting may have been answered
    /// before the subscription).
    pub fn handle_subscribed(&mut self, peer: PeerId) {
        if let Some(link) = self.peers.get_mut(&peer) {
            link.subscribed = true;
        }
        self.catch_up(peer);
    }

    /// A request from `peer` is refused for its answer allowance (counted as `rate_limited`).
    /// Refusing costs a stream and a read: a peer that goes on asking regardless (an honest one
    /// backs off and retries later) is hung up on after [`MAX_REFUSED`] in a row.
    fn refuse(&mut self, peer: PeerId) {
        self.stats.drop(DropReason::RateLimited, 1);
        let Some(link) = self.peers.get_mut(&peer) else { return };
        link.refused += 1;
        if link.refused >= MAX_REFUSED {
            tracing::warn!(%peer, "hung up on: it kept asking beyond its answer allowance");
            link.refused = 0;
            self.actions.push_back(Action::Disconnect(peer));
        }
    }

    /// A request from `peer` was answered: its refusals in a row start again.
    fn answering(&mut self, peer: PeerId) {
        if let Some(link) = self.peers.get_mut(&peer) {
            link.refused = 0;
        }
    }

    /// The address `peer` is counted by (an IPv4 address or an IPv6 /64; `None` if not
    /// connected over IP): what requests waiting for an answer take turns by.
    pub fn address_of(&self, peer: &PeerId) -> Option<std::net::IpAddr> {
        self.who(*peer).ip
    }

    /// `peer` as the allowances count it (by the address of its first connection).
    fn who(&self, peer: PeerId) -> Who {
        Who::at(peer, self.peers.get(&peer).and_then(Link::address))
    }

    /// That merging (a slice of) an [`Action::Merge`]'s entries added `added` counters this
    /// node did not hold: for a catch-up response, spent from the sender's allowance of new
    /// counters at once, as a large merge goes, not once it is done (a gossip message's leaves
    /// were spent when it came).
    pub fn handle_added(&mut self, from: &MergeFrom, added: usize, now: Instant) {
        if let MergeFrom::CatchUp { peer, .. } = from {
            let who = self.who(*peer);
            self.ingest.added(who, added, now);
        }
    }

    /// What merging an [`Action::Merge`]'s entries did (the counters it added told already
    /// with [`Protocol::handle_added`]): gossip gets its verdict, and what of its leaves added
    /// no counter is given back to its sender's allowance; entries caught up from one peer are
    /// relayed to the others (signed as held in `replica`); a catch-up's last response
    /// completes it.
    pub fn handle_merged(
        &mut self,
        from: MergeFrom,
        report: &MergeReport,
        replica: &mut Replica,
        now: Instant,
    ) {
        let changed = report.changed.iter().map(|entry| &entry.key);
        let tallied = |tweet: &TweetId, asker| served_by_tally(replica, tweet, asker);
        self.light.changed(changed, now + self.config.light_push, tallied);
        for (_, rejection) in &report.rejected {
            self.stats.drop(DropReason::of_rejection(*rejection), 1);
        }
        match from {
            MergeFrom::Gossip { message, source, arrived } => {
                self.gossip_merged(message, source, arrived, report, replica, now);
            }
            MergeFrom::Light { .. } => self.stats.light_entries += report.changed.len() as u64,
            MergeFrom::CatchUp { peer, last } => {
                self.stats.synced_entries += report.changed.len() as u64;
                // Other peers may lack them too (a node that was offline brought them): pass
                // them on at once rather than at their next catch-up.
                if !report.changed.is_empty() && self.peers.keys().any(|p| *p != peer) {
                    self.relay(&report.changed, replica);
                }
                if last {
                    self.stats.syncs_completed += 1;
                    self.stats.last_sync = Some(now);
                    if let Some(link) = self.peers.get_mut(&peer)
                        && link.catch_up.completed()
                    {
                        self.catch_up(peer);
                    }
                }
            }
        }
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    /// Whether messages to `peer` go in small pieces (it is on WebRTC-direct).
    fn chunked(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|link| {
            link.connections.iter().any(|c| stats::transport(&c.address) == "webrtc-direct")
        })
    }

    fn handle_links(&mut self, now: Instant) {
        let peers = &self.peers;
        for action in self.links.poll(now, self.online, |peer| peers.contains_key(peer)) {
            self.link_action(action, true);
        }
    }

    fn link_action(&mut self, action: LinkAction, timed_out: bool) {
        match action {
            LinkAction::Dial(dial, address) => {
                self.stats.dials += 1;
                self.actions.push_back(Action::Dial { dial, address });
            }
            LinkAction::Cancel(dial) => {
                if timed_out {
                    self.stats.dials_timed_out += 1;
                }
                self.actions.push_back(Action::CancelDial(dial));
            }
        }
    }
}
