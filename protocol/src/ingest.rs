//! How much a node takes from its peers and does for them, on time passed in. Four pools, each
//! with fair shares ([`Shares`]): bytes taken in (gossip passed on, catch-up answers), new
//! counters what a peer sent added (what memory and the store grow by), items of answers given
//! (the work of building them), and seals whose signatures are checked (the dearest work a
//! message asks for). Each pool has a bucket per peer, per address (an IPv6 /64 counting as
//! one) and one for the whole node; the last quarter of the node's bucket (its reserve) is
//! kept for peers and addresses that used less than half their own share, so peers that flood
//! cannot starve those that ask little. Token buckets, kept only while not full and at most
//! [`MAX_TRACKED`] per kind, so no number of peer ids or addresses makes the state grow
//! without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use libp2p::multiaddr::Protocol as Part;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use super::interface::{Allowance, IngestLimits, Shares};
use super::limits::TokenBucket;
use warpnet_stats_core::{sync::MAX_RESPONSE_ENTRIES, wire::MAX_MESSAGE_BYTES};

/// The most peers or addresses tracked per kind of allowance; beyond, a newcomer is refused
/// until buckets refill and are forgotten.
pub(crate) const MAX_TRACKED: usize = 65_536;

/// The part of a node-wide bucket kept for peers and addresses that used less than half their
/// own share.
const RESERVE: f64 = 0.25;

/// Buckets of one kind, by peer or address.
#[derive(Debug)]
struct Buckets<K> {
    allowance: Allowance,
    held: HashMap<K, TokenBucket>,
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new(allowance: Allowance) -> Self {
        Self { allowance, held: HashMap::new() }
    }

    /// Whether the bucket of `key` holds `amount` (or is full, for more than its burst: one
    /// message of more is taken, into debt): an untracked key's is full, unless the table is
    /// full (a newcomer is refused then).
    fn holds(&mut self, key: K, amount: f64, now: Instant) -> bool {
        let allowance = self.allowance;
        let amount = amount.min(allowance.burst);
        match self.held.get_mut(&key) {
            Some(bucket) => bucket.holds(now, allowance, amount),
            None => self.room(now),
        }
    }

    /// Whether the bucket of `key` holds at least half its burst (untracked: full).
    fn light_user(&mut self, key: K, now: Instant) -> bool {
        let allowance = self.allowance;
        self.held.get_mut(&key).is_none_or(|b| b.holds(now, allowance, allowance.burst / 2.0))
    }

    /// Whether a new key can be tracked.
    fn room(&mut self, now: Instant) -> bool {
        if self.held.len() < MAX_TRACKED {
            return true;
        }
        self.forget_full(now);
        self.held.len() < MAX_TRACKED
    }

    /// Spends `amount` from the bucket of `key`, going into debt if need be (what was taken in
    /// or given already is spent whatever the bucket holds).
    fn spend(&mut self, key: K, amount: f64, now: Instant) {
        if !self.held.contains_key(&key) && !self.room(now) {
            return;
        }
        let allowance = self.allowance;
        let bucket = self.held.entry(key).or_insert_with(|| TokenBucket::full(allowance, now));
        bucket.refill(now, allowance);
        bucket.spend(amount);
    }

    /// Gives back `amount` spent from the bucket of `key` beforehand, if it is still tracked.
    fn give_back(&mut self, key: &K, amount: f64, now: Instant) {
        let allowance = self.allowance;
        if let Some(bucket) = self.held.get_mut(key) {
            bucket.refill(now, allowance);
            bucket.give_back(amount, allowance);
        }
    }

    /// How long until the bucket of `key` holds `amount` (or its burst; zero if untracked).
    fn wait_for(&mut self, key: K, now: Instant, amount: f64) -> Duration {
        let allowance = self.allowance;
        match self.held.get_mut(&key) {
            Some(bucket) => bucket.wait_for(now, allowance, amount),
            None => Duration::ZERO,
        }
    }

    fn forget_full(&mut self, now: Instant) {
        let allowance = self.allowance;
        self.held.retain(|_, bucket| !bucket.is_full(now, allowance));
    }
}

/// Who a peer is to the allowances: its id and the address it is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Who {
    pub(crate) peer: PeerId,
    pub(crate) ip: Option<IpAddr>,
}

impl Who {
    /// `peer`, connected at `address`.
    pub(crate) fn at(peer: PeerId, address: Option<&Multiaddr>) -> Self {
        Self { peer, ip: address.and_then(ip_of) }
    }
}

/// One pool: a node-wide bucket shared fairly (see the module docs).
#[derive(Debug)]
struct Pool {
    total: Allowance,
    node: TokenBucket,
    peers: Buckets<PeerId>,
    ips: Buckets<IpAddr>,
}

impl Pool {
    fn new(shares: Shares, now: Instant) -> Self {
        Self {
            total: shares.total,
            node: TokenBucket::full(shares.total, now),
            peers: Buckets::new(shares.per_peer),
            ips: Buckets::new(shares.per_ip),
        }
    }

    /// Whether `amount` fits `who`'s share, its address's and the node's (the node's reserve
    /// only if both used less than half their share).
    fn holds(&mut self, who: Who, amount: f64, now: Instant) -> bool {
        let light = self.peers.light_user(who.peer, now)
            && who.ip.is_none_or(|ip| self.ips.light_user(ip, now));
        let floor = if light { 0.0 } else { self.total.burst * RESERVE };
        self.node.holds(now, self.total, (amount + floor).min(self.total.burst))
            && self.peers.holds(who.peer, amount, now)
            && who.ip.is_none_or(|ip| self.ips.holds(ip, amount, now))
    }

    /// Spends `amount` from `who`'s share, its address's and the node's, into debt if need be.
    fn spend(&mut self, who: Who, amount: f64, now: Instant) {
        if amount <= 0.0 {
            return;
        }
        self.node.refill(now, self.total);
        self.node.spend(amount);
        self.peers.spend(who.peer, amount, now);
        if let Some(ip) = who.ip {
            self.ips.spend(ip, amount, now);
        }
    }

    /// Gives back `amount` spent beforehand that turned out not to be used.
    fn give_back(&mut self, who: Who, amount: f64, now: Instant) {
        if amount <= 0.0 {
            return;
        }
        self.node.refill(now, self.total);
        self.node.give_back(amount, self.total);
        self.peers.give_back(&who.peer, amount, now);
        if let Some(ip) = who.ip {
            self.ips.give_back(&ip, amount, now);
        }
    }

    /// Whether `who`'s share, its address's or the node's lacks room for one more.
    fn owed(&mut self, who: Who, now: Instant) -> bool {
        !self.node.holds(now, self.total, 1.0)
            || !self.peers.holds(who.peer, 1.0, now)
            || who.ip.is_some_and(|ip| !self.ips.holds(ip, 1.0, now))
    }

    /// How long until `who`'s share, its address's and the node's hold `amount`.
    fn wait_for(&mut self, who: Who, amount: f64, now: Instant) -> Duration {
        let node = self.node.wait_for(now, self.total, amount);
        let peer = self.peers.wait_for(who.peer, now, amount);
        let ip = who.ip.map_or(Duration::ZERO, |ip| self.ips.wait_for(ip, now, amount));
        node.max(peer).max(ip)
    }

    fn forget_full(&mut self, now: Instant) {
        self.peers.forget_full(now);
        self.ips.forget_full(now);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.peers.held.len() + self.ips.held.len()
    }
}

/// A node's allowances for what its peers send and ask.
#[derive(Debug)]
pub(crate) struct Ingest {
    intake: Pool,
    counters: Pool,
    answers: Pool,
    checks: Pool,
}

impl Ingest {
    pub(crate) fn new(limits: IngestLimits, now: Instant) -> Self {
        Self {
            intake: Pool::new(limits.intake, now),
            counters: Pool::new(limits.counters, now),
            answers: Pool::new(limits.answers, now),
            checks: Pool::new(limits.checks, now),
        }
    }

    /// Whether a gossip message of `bytes` from `who` fits its intake allowances (and its new
    /// counters are not owed); if it does, its bytes are spent.
    pub(crate) fn admit_gossip(&mut self, who: Who, bytes: usize, now: Instant) -> bool {
        let amount = bytes as f64;
        if self.counters.owed(who, now) || !self.intake.holds(who, amount, now) {
            return false;
        }
        self.intake.spend(who, amount, now);
        true
    }

    /// Whether `who` may have `leaves` new counters and `seals` signature checks of a gossip
    /// message: both allowances hold them. If they do, they are spent (new counters given back
    /// with [`Ingest::not_added`] once the merge says how many were new).
    pub(crate) fn admit_work(
        &mut self,
        who: Who,
        leaves: usize,
        seals: usize,
        now: Instant,
    ) -> bool {
        let (leaves, seals) = (leaves as f64, seals as f64);
        if !self.counters.holds(who, leaves, now) || !self.checks.holds(who, seals, now) {
            return false;
        }
        self.counters.spend(who, leaves, now);
        self.checks.spend(who, seals, now);
        true
    }

    /// Spends the `bytes` of a catch-up answer `who` sent: taken in already, so the allowances
    /// may go into debt, which [`Ingest::intake_wait`] waits out.
    pub(crate) fn took_answer(&mut self, who: Who, bytes: usize, now: Instant) {
        self.intake.spend(who, bytes as f64, now);
    }

    /// Spends the signature checks of `seals` that an answer `who` sent asks for (into debt,
    /// like its bytes).
    pub(crate) fn will_check(&mut self, who: Who, seals: usize, now: Instant) {
        self.checks.spend(who, seals as f64, now);
    }

    /// Gives back `count` of the new counters spent for `who` beforehand
    /// ([`Ingest::admit_work`]) that its message did not add.
    pub(crate) fn not_added(&mut self, who: Who, count: usize, now: Instant) {
        self.counters.give_back(who, count as f64, now);
    }

    /// Spends `count` new counters that what `who` sent added.
    pub(crate) fn added(&mut self, who: Who, count: usize, now: Instant) {
        self.counters.spend(who, count as f64, now);
    }

    /// How long until `who`, its address and the node may take in a whole message more, the
    /// new counters of a whole answer and the checks of its seals: the wait before the next
    /// catch-up request to it goes out (zero: now).
    pub(crate) fn intake_wait(&mut self, who: Who, now: Instant) -> Duration {
        let bytes = self.intake.wait_for(who, whole_message(self.intake.total), now);
        let counters = self.counters.wait_for(who, WHOLE_ANSWER, now);
        let checks = self.checks.wait_for(who, WHOLE_ANSWER, now);
        bytes.max(counters).max(checks)
    }

    /// Whether `who` may be answered now: its allowance, its address's and the node's hold an
    /// answer of the most entries (or their whole burst, if smaller), before any is built.
    pub(crate) fn may_answer(&mut self, who: Who, now: Instant) -> bool {
        let whole = self.answers.peers.allowance.burst.min(WHOLE_ANSWER);
        self.answers.holds(who, whole, now)
    }

    /// Spends an answer of `items` (digests, summaries, entries; at least one: a request
    /// answered costs something whatever it holds) to `who` (after [`Ingest::may_answer`]).
    pub(crate) fn answered(&mut self, who: Who, items: usize, now: Instant) {
        self.answers.spend(who, items.max(1) as f64, now);
    }

    /// Forgets the buckets that are full again (losing nothing).
    pub(crate) fn forget_full(&mut self, now: Instant) {
        for pool in [&mut self.intake, &mut self.counters, &mut self.answers, &mut self.checks] {
            pool.forget_full(now);
        }
    }

    /// Peers and addresses tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        [&self.intake, &self.counters, &self.answers, &self.checks]
            .iter()
            .map(|p| p.tracked())
            .sum()
    }
}

/// The most entries one catch-up answer holds: the most new counters it adds and seals it asks
/// to check, and the work an answer is assumed to cost before it is built.
const WHOLE_ANSWER: f64 = MAX_RESPONSE_ENTRIES as f64;

/// The largest message, or the whole burst if smaller: what an allowance must hold before a
/// message of unknown size is asked for or built.
fn whole_message(allowance: Allowance) -> f64 {
    allowance.burst.min(MAX_MESSAGE_BYTES as f64)
}

/// The address a connection came from, as allowances count it: an IPv4 address, or the /64
/// network of an IPv6 one (one host commonly holds a whole /64).
pub(crate) fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|part| match part {
        Part::Ip4(ip) => Some(IpAddr::V4(ip)),
        Part::Ip6(ip) => Some(network_of(IpAddr::V6(ip))),
        _ => None,
    })
}

/// An address as allowances and connection caps count it: an IPv4 address (also one mapped
/// into IPv6), or the /64 network of an IPv6 one.
pub fn network_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(ip) => {
            let network = u128::from(ip) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
