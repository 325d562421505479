//! The light-node protocol (`/warpnet/stats-light/2`) as state: an edge node's watches of the
//! light nodes it serves (bounded per peer and in all) and the changes it owes each, pushed one
//! message in flight per peer at most every [`PeerConfig::light_push`]; and a light node's
//! watched tweets, asked of every edge node it connects to (one `Watch` in flight each, the
//! rest queued, retried after failures). Which requests go out and what came in is
//! [`Protocol`]'s; this holds the books.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use libp2p::PeerId;
use web_time::Instant;

use super::catch_up::RequestId;
use super::interface::WatchCaps;
use warpnet_stats_core::{
    EntryKey, TweetId, Writer,
    light::{Changed, MAX_WATCH_TWEETS},
};

#[cfg(doc)]
use super::{PeerConfig, Protocol};

/// The most tweets one light node may watch at an edge node at once.
pub const MAX_WATCHED_PER_PEER: usize = 4096;

/// What one tally in an answer to a light node spends of its answer allowance, in items (one
/// per entry answered): its signature, ~18 µs natively against ~0.4 µs per entry sent (`cargo
/// bench --bench core -- watch_answer`); its figures are kept with each change, not counted
/// per writer.
pub const TALLY_ANSWER_ITEMS: usize = 48;
/// Beyond this many changed keys owed to one light node, whole tweets are pushed instead.
const MAX_PENDING_KEYS: usize = 4096;

/// What changed on one watched tweet since the last push: these keys, or all of it.
type Owed = Option<BTreeSet<EntryKey>>;

/// A light node this edge node serves.
#[derive(Debug)]
struct Served {
    writer: Writer,
    /// The address its watches are counted by.
    ip: Option<IpAddr>,
    watched: BTreeSet<TweetId>,
    owed: BTreeMap<TweetId, Owed>,
    owed_keys: usize,
    in_flight: Option<RequestId>,
    push_at: Option<Instant>,
}

/// An edge node a light node asks. One request is in flight at a time, an `Unwatch` before
/// a `Watch`, so a feed scrolled fast opens no more streams and the edge node's books follow
/// the order of the light node's.
#[derive(Debug, Default)]
struct Edge {
    /// Tweets to ask (`Watch`).
    queue: BTreeSet<TweetId>,
    in_flight: Option<(RequestId, BTreeSet<TweetId>)>,
    ask_at: Option<Instant>,
    /// Tweets the edge node may watch for this light node that it no longer does (`Unwatch`).
    unwatching: BTreeSet<TweetId>,
    unwatch_in_flight: Option<(RequestId, Vec<TweetId>)>,
}

impl Edge {
    fn idle(&self) -> bool {
        self.in_flight.is_none() && self.unwatch_in_flight.is_none()
    }

    /// Whether nothing is left to tell it.
    fn told_all(&self) -> bool {
        self.queue.is_empty() && self.unwatching.is_empty()
    }
}

/// A request due to an edge node.
#[derive(Debug)]
pub(super) enum Ask {
    /// Watch these tweets (at most [`MAX_WATCH_TWEETS`]).
    Watch(Vec<TweetId>),
    /// Stop pushing these (at most [`MAX_WATCH_TWEETS`]).
    Unwatch(Vec<TweetId>),
}

/// Both sides' books. See the module docs.
#[derive(Debug, Default)]
pub(super) struct Light {
    served: BTreeMap<PeerId, Served>,
    watchers: HashMap<TweetId, Vec<PeerId>>,
    watches: usize,
    /// Watches held per address.
    per_ip: HashMap<IpAddr, usize>,
    /// The tweets this light node watches, each with how many watches of it are running
    /// (watches nest: a tweet is let go when its last watch ends).
    watched: BTreeMap<TweetId, u32>,
    edges: BTreeMap<PeerId, Edge>,
    /// Tweets to check with an edge node, each with when.
    to_verify: Vec<(Instant, TweetId)>,
    /// How many checks of a tweet did not make its tally, while it is checked again.
    mismatches: HashMap<TweetId, u32>,
}

impl Light {
    // ---- the edge node's side ----

    /// `peer` (writing as `writer`, connected at `ip`) watches `tweets`; returns how many
    /// could not be kept (beyond the bounds: [`MAX_WATCHED_PER_PEER`] per light node, `caps`
    /// per address and in all, the last quarter of all only for addresses holding fewer than a
    /// light node's bound).
    pub(super) fn watch(
        &mut self,
        peer: PeerId,
        ip: Option<IpAddr>,
        writer: Writer,
        tweets: &[TweetId],
        caps: WatchCaps,
    ) -> usize {
        let served = self.served.entry(peer).or_insert_with(|| Served {
            writer,
            ip,
            watched: BTreeSet::new(),
            owed: BTreeMap::new(),
            owed_keys: 0,
            in_flight: None,
            push_at: None,
        });
        served.writer = writer;
        let mut unknown = 0;
        let at_ip = match served.ip {
            Some(ip) => self.per_ip.entry(ip).or_default(),
            None => &mut unknown,
        };
        let mut refused = 0;
        for tweet in tweets {
            if served.watched.contains(tweet) {
                continue;
            }
            let reserve = caps.total - caps.total / 4;
            if served.watched.len() >= MAX_WATCHED_PER_PEER
                || *at_ip >= caps.per_ip
                || self.watches >= caps.total
                || (self.watches >= reserve && *at_ip >= MAX_WATCHED_PER_PEER)
            {
                refused += 1;
                continue;
            }
            served.watched.insert(tweet.clone());
            self.watchers.entry(tweet.clone()).or_default().push(peer);
            self.watches += 1;
            *at_ip += 1;
        }
        if let Some(ip) = served.ip
            && self.per_ip.get(&ip) == Some(&0)
        {
            self.per_ip.remove(&ip);
        }
        refused
    }

    /// `peer` no longer watches `tweets` (or anything, for `None`: it is gone).
    pub(super) fn unwatch(&mut self, peer: PeerId, tweets: Option<&[TweetId]>) {
        let Some(served) = self.served.get_mut(&peer) else { return };
        let gone: Vec<TweetId> = match tweets {
            Some(tweets) => tweets.iter().filter(|t| served.watched.remove(*t)).cloned().collect(),
            None => std::mem::take(&mut served.watched).into_iter().collect(),
        };
        for tweet in &gone {
            if let Some(owed) = served.owed.remove(tweet) {
                served.owed_keys -= owed.map_or(0, |keys| keys.len());
            }
            if let Some(watchers) = self.watchers.get_mut(tweet) {
                watchers.retain(|watcher| *watcher != peer);
                if watchers.is_empty() {
                    self.watchers.remove(tweet);
                }
            }
        }
        self.watches -= gone.len();
        if let Some(ip) = served.ip
            && let Some(held) = self.per_ip.get_mut(&ip)
        {
            *held = held.saturating_sub(gone.len());
            if *held == 0 {
                self.per_ip.remove(&ip);
            }
        }
        if tweets.is_none() {
            self.served.remove(&peer);
        }
    }

    /// Counters changed here (merged or local): each light node watching their tweet is owed
    /// them, pushed at `push_at` unless a push is due or in flight. Not its own, which it
    /// holds, but where its tweet is served by a tally (`tallied`, of the tweet and the light
    /// node's writer), the next tally: the one it holds counts its old values.
    pub(super) fn changed<'a>(
        &mut self,
        keys: impl IntoIterator<Item = &'a EntryKey>,
        push_at: Instant,
        tallied: impl Fn(&TweetId, Writer) -> bool,
    ) {
        if self.watchers.is_empty() {
            // No light node watches anything here (a full node's merges take this path).
            return;
        }
        for key in keys {
            let Some(watchers) = self.watchers.get(&key.tweet) else { continue };
            for peer in watchers {
                let Some(served) = self.served.get_mut(peer) else { continue };
                let own = key.writer == served.writer;
                if own && !tallied(&key.tweet, served.writer) {
                    continue;
                }
                let owed =
                    served.owed.entry(key.tweet.clone()).or_insert_with(|| Some(BTreeSet::new()));
                if let Some(keys) = owed
                    && !own
                    && keys.insert(key.clone())
                {
                    served.owed_keys += 1;
                }
                if served.owed_keys > MAX_PENDING_KEYS {
                    // Too many to keep one by one: push whole tweets instead.
                    for owed in served.owed.values_mut() {
                        *owed = None;
                    }
                    served.owed_keys = 0;
                }
                if served.in_flight.is_none() {
                    served.push_at.get_or_insert(push_at);
                }
            }
        }
    }

    /// The light nodes a push is due to at `now`.
    pub(super) fn pushes_due(&self, now: Instant) -> Vec<PeerId> {
        let due = |s: &Served| s.in_flight.is_none() && s.push_at.is_some_and(|at| at <= now);
        self.served.iter().filter(|(_, s)| due(s)).map(|(peer, _)| *peer).collect()
    }

    /// The push due to `peer` waits until `at` (its answer allowance is spent).
    pub(super) fn defer(&mut self, peer: PeerId, at: Instant) {
        if let Some(served) = self.served.get_mut(&peer) {
            served.push_at = Some(at);
        }
    }

    /// What `peer` is owed, at most [`MAX_WATCH_TWEETS`] tweets, oldest tweet id first; and
    /// its writer.
    pub(super) fn owed(&self, peer: PeerId) -> Option<(Writer, Vec<Changed>)> {
        let served = self.served.get(&peer)?;
        let owed = served
            .owed
            .iter()
            .take(MAX_WATCH_TWEETS)
            .map(|(tweet, keys)| {
                (tweet.clone(), keys.as_ref().map(|k| k.iter().cloned().collect()))
            })
            .collect();
        Some((served.writer, owed))
    }

    /// A push to `peer` of the first `covered` tweets it was owed went out as `request`.
    pub(super) fn pushed(&mut self, peer: PeerId, covered: &[TweetId], request: RequestId) {
        let Some(served) = self.served.get_mut(&peer) else { return };
        for tweet in covered {
            if let Some(owed) = served.owed.remove(tweet) {
                served.owed_keys -= owed.map_or(0, |keys| keys.len());
            }
        }
        served.in_flight = Some(request);
        served.push_at = None;
    }

    /// The push `request` to `peer` was answered or failed: the next waits for `next_at` if
    /// more is owed. Whether it was one of ours.
    pub(super) fn push_done(&mut self, peer: PeerId, request: RequestId, next_at: Instant) -> bool {
        let Some(served) = self.served.get_mut(&peer) else { return false };
        if served.in_flight != Some(request) {
            return false;
        }
        served.in_flight = None;
        if !served.owed.is_empty() {
            served.push_at = Some(next_at);
        }
        true
    }

    /// How many (light node, tweet) watches are kept.
    pub(super) fn watches(&self) -> usize {
        self.watches
    }

    // ---- the light node's side ----

    /// One more watch of `tweets` by this light node (tweets not watched yet are asked of
    /// every edge node at `now`). A tweet listed twice counts once.
    pub(super) fn want(&mut self, tweets: &[TweetId], now: Instant) {
        let tweets: BTreeSet<&TweetId> = tweets.iter().collect();
        for tweet in tweets {
            let watches = self.watched.entry(tweet.clone()).or_default();
            *watches = watches.saturating_add(1);
            if *watches == 1 {
                for edge in self.edges.values_mut() {
                    // Asked again even if its Unwatch never went: pushes of it were let go.
                    edge.unwatching.remove(tweet);
                    edge.queue.insert(tweet.clone());
                    edge.ask_at.get_or_insert(now);
                }
            }
        }
    }

    /// One watch of `tweets` by this light node ended (a tweet listed twice counts once); the
    /// edge nodes that may watch the tweets no watch is left of are told at `now`.
    pub(super) fn unwant(&mut self, tweets: &[TweetId], now: Instant) {
        let tweets: BTreeSet<&TweetId> = tweets.iter().collect();
        let mut gone = Vec::new();
        for tweet in tweets {
            let Some(watches) = self.watched.get_mut(tweet) else { continue };
            *watches -= 1;
            if *watches == 0 {
                self.watched.remove(tweet);
                gone.push(tweet.clone());
            }
        }
        for edge in self.edges.values_mut() {
            for tweet in &gone {
                // Not asked yet: nothing to undo.
                if !edge.queue.remove(tweet) {
                    edge.unwatching.insert(tweet.clone());
                    edge.ask_at.get_or_insert(now);
                }
            }
        }
    }

    /// Whether this light node watches `tweet`.
    pub(super) fn wants(&self, tweet: &TweetId) -> bool {
        self.watched.contains_key(tweet)
    }

    /// An edge node connected: everything watched is asked of it at `now`.
    pub(super) fn edge_connected(&mut self, peer: PeerId, now: Instant) {
        let edge = self.edges.entry(peer).or_default();
        edge.queue.extend(self.watched.keys().cloned());
        if !edge.queue.is_empty() {
            edge.ask_at = Some(now);
        }
    }

    /// An edge node is gone.
    pub(super) fn edge_closed(&mut self, peer: &PeerId) {
        self.edges.remove(peer);
    }

    /// The requests due to edge nodes at `now`.
    pub(super) fn asks_due(&mut self, now: Instant) -> Vec<(PeerId, Ask)> {
        for edge in self.edges.values_mut() {
            if edge.told_all() {
                edge.ask_at = None; // what was due was undone before it went
            }
        }
        let due = |e: &Edge| e.idle() && e.ask_at.is_some_and(|at| at <= now);
        self.edges
            .iter()
            .filter(|(_, e)| due(e))
            .map(|(peer, e)| match e.unwatching.is_empty() {
                false => (*peer, Ask::Unwatch(first(&e.unwatching))),
                true => (*peer, Ask::Watch(first(&e.queue))),
            })
            .collect()
    }

    /// An `Unwatch` of `tweets` went to `peer` as `request`.
    pub(super) fn unwatch_sent(&mut self, peer: PeerId, tweets: Vec<TweetId>, request: RequestId) {
        let Some(edge) = self.edges.get_mut(&peer) else { return };
        for tweet in &tweets {
            edge.unwatching.remove(tweet);
        }
        if edge.told_all() {
            edge.ask_at = None;
        }
        edge.unwatch_in_flight = Some((request, tweets));
    }

    /// The `Unwatch` `request` to `peer` came back or failed (`failed`: its tweets are told
    /// again at `retry_at`, unless watched again). Whether it was ours.
    pub(super) fn unwatch_done(
        &mut self,
        peer: PeerId,
        request: RequestId,
        failed: bool,
        now: Instant,
        retry_at: Instant,
    ) -> bool {
        let Some(edge) = self.edges.get_mut(&peer) else { return false };
        if edge.unwatch_in_flight.as_ref().is_none_or(|(id, _)| *id != request) {
            return false;
        }
        let (_, tweets) = edge.unwatch_in_flight.take().expect("checked above");
        if failed {
            let again = tweets.into_iter().filter(|t| !self.watched.contains_key(t));
            edge.unwatching.extend(again);
        }
        if !edge.told_all() {
            edge.ask_at = Some(if failed { retry_at } else { now });
        }
        true
    }

    /// A `Watch` of `tweets` went to `peer` as `request`.
    pub(super) fn asked(&mut self, peer: PeerId, tweets: Vec<TweetId>, request: RequestId) {
        let Some(edge) = self.edges.get_mut(&peer) else { return };
        for tweet in &tweets {
            edge.queue.remove(tweet);
        }
        if edge.told_all() {
            edge.ask_at = None;
        }
        edge.in_flight = Some((request, tweets.into_iter().collect()));
    }

    /// The `Watch` `request` to `peer` came back (`later`: the tweets to ask again, at `now`)
    /// or failed (`None`: all of them, at `retry_at`). Returns the tweets it asked, if it was
    /// ours.
    pub(super) fn answered(
        &mut self,
        peer: PeerId,
        request: RequestId,
        later: Option<&[TweetId]>,
        now: Instant,
        retry_at: Instant,
    ) -> Option<BTreeSet<TweetId>> {
        let edge = self.edges.get_mut(&peer)?;
        if edge.in_flight.as_ref().is_none_or(|(id, _)| *id != request) {
            return None;
        }
        let (_, asked) = edge.in_flight.take().expect("checked above");
        let again: Vec<&TweetId> = match later {
            Some(later) => later.iter().filter(|t| asked.contains(*t)).collect(),
            None => asked.iter().collect(),
        };
        let again: Vec<TweetId> =
            again.into_iter().filter(|t| self.watched.contains_key(*t)).cloned().collect();
        if !again.is_empty() || !edge.told_all() {
            edge.ask_at = Some(if later.is_some() { now } else { retry_at });
        }
        edge.queue.extend(again);
        Some(asked)
    }

    /// The `tweets` a `Watch` to `peer` asked, whose answer was refused, are asked again at
    /// `at` (those still watched).
    pub(super) fn ask_again(&mut self, peer: PeerId, tweets: &BTreeSet<TweetId>, at: Instant) {
        let Some(edge) = self.edges.get_mut(&peer) else { return };
        edge.queue.extend(tweets.iter().filter(|t| self.watched.contains_key(*t)).cloned());
        edge.ask_at = Some(edge.ask_at.map_or(at, |due| due.min(at)));
    }

    /// `tweet` is to be checked with an edge node at `at`.
    pub(super) fn check_later(&mut self, tweet: TweetId, at: Instant) {
        self.to_verify.push((at, tweet));
    }

    /// One more check of `tweet` did not make its tally; returns how many did.
    pub(super) fn mismatched(&mut self, tweet: &TweetId) -> u32 {
        let count = self.mismatches.entry(tweet.clone()).or_default();
        *count += 1;
        *count
    }

    /// The checks of `tweet` are over.
    pub(super) fn checked(&mut self, tweet: &TweetId) {
        self.mismatches.remove(tweet);
    }

    /// The tweets to check at `now`.
    pub(super) fn take_to_verify(&mut self, now: Instant) -> Vec<TweetId> {
        let (due, later) =
            std::mem::take(&mut self.to_verify).into_iter().partition(|(at, _)| *at <= now);
        self.to_verify = later;
        due.into_iter().map(|(_, tweet)| tweet).collect()
    }

    /// The edge nodes this light node asks.
    pub(super) fn edges(&self) -> impl Iterator<Item = &PeerId> {
        self.edges.keys()
    }

    /// When the next push or `Watch` is due.
    pub(super) fn due_at(&self) -> Option<Instant> {
        let pushes =
            self.served.values().filter(|s| s.in_flight.is_none()).filter_map(|s| s.push_at);
        let asks = self.edges.values().filter(|e| e.idle()).filter_map(|e| e.ask_at);
        let checks = self.to_verify.iter().map(|(at, _)| *at);
        pushes.chain(asks).chain(checks).min()
    }
}

/// The first tweets of `tweets` one request carries.
fn first(tweets: &BTreeSet<TweetId>) -> Vec<TweetId> {
    tweets.iter().take(MAX_WATCH_TWEETS).cloned().collect()
}
