//! How much a node takes from its peers, on time passed in: bytes taken in (gossip passed on
//! and catch-up answers sent) from each peer, from each IP address and from all together, new
//! counters that what a peer sent added (per peer and in all), and the items (digests,
//! summaries, entries: the work) of catch-up answers given to each peer and in all.
//! Token buckets in bytes, kept only while not full and at most [`MAX_TRACKED`] per kind, so
//! no number of peer ids or addresses makes the state grow without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use libp2p::multiaddr::Protocol as Part;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use super::interface::{Allowance, IngestLimits};
use super::limits::TokenBucket;
use crate::core::{MAX_MESSAGE_BYTES, MAX_RESPONSE_ENTRIES};

/// The most peers or addresses tracked per kind of allowance; beyond, a newcomer is refused
/// until buckets refill and are forgotten.
pub(crate) const MAX_TRACKED: usize = 65_536;

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

    /// The bucket of `key` if it holds `amount`; `None` if it does not, or if a new key
    /// finds the table full.
    fn holding(&mut self, key: K, amount: f64, now: Instant) -> Option<&mut TokenBucket> {
        let allowance = self.allowance;
        let bucket = self.bucket(key, now)?;
        bucket.holds(now, allowance, amount).then_some(bucket)
    }

    /// The bucket of `key`, refilled to `now`; `None` if a new key finds the table full.
    fn bucket(&mut self, key: K, now: Instant) -> Option<&mut TokenBucket> {
        if !self.held.contains_key(&key) && self.held.len() >= MAX_TRACKED {
            self.forget_full(now);
            if self.held.len() >= MAX_TRACKED {
                return None;
            }
        }
        let allowance = self.allowance;
        let bucket = self.held.entry(key).or_insert_with(|| TokenBucket::full(allowance, now));
        bucket.refill(now, allowance);
        Some(bucket)
    }

    /// Spends `amount` from the bucket of `key`, going into debt if need be (what was taken in
    /// or given already is spent whatever the bucket holds).
    fn spend(&mut self, key: K, amount: f64, now: Instant) {
        if let Some(bucket) = self.bucket(key, now) {
            bucket.spend(amount);
        }
    }

    /// Gives back `amount` spent from the bucket of `key` beforehand, if it is still tracked.
    fn give_back(&mut self, key: &K, amount: f64, now: Instant) {
        let allowance = self.allowance;
        if let Some(bucket) = self.held.get_mut(key) {
            bucket.refill(now, allowance);
            bucket.give_back(amount, allowance);
        }
    }

    /// Whether the bucket of `key` lacks `amount` (an untracked key lacks nothing: none spent,
    /// or full again and forgotten).
    fn lacks(&mut self, key: &K, amount: f64, now: Instant) -> bool {
        let allowance = self.allowance;
        self.held.get_mut(key).is_some_and(|bucket| !bucket.holds(now, allowance, amount))
    }

    /// How long until the bucket of `key` holds a whole message's worth (zero if untracked).
    fn wait(&mut self, key: K, now: Instant) -> Duration {
        self.wait_for(key, now, whole_message(self.allowance))
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

/// A node's allowances for what its peers send and ask.
#[derive(Debug)]
pub(crate) struct Ingest {
    intake_peers: Buckets<PeerId>,
    intake_ips: Buckets<IpAddr>,
    intake_total: (Allowance, TokenBucket),
    counters_peers: Buckets<PeerId>,
    counters_total: (Allowance, TokenBucket),
    answers: Buckets<PeerId>,
    answers_total: (Allowance, TokenBucket),
}

impl Ingest {
    pub(crate) fn new(limits: IngestLimits, now: Instant) -> Self {
        Self {
            intake_peers: Buckets::new(limits.intake_per_peer),
            intake_ips: Buckets::new(limits.intake_per_ip),
            intake_total: (limits.intake_total, TokenBucket::full(limits.intake_total, now)),
            counters_peers: Buckets::new(limits.counters_per_peer),
            counters_total: (limits.counters_total, TokenBucket::full(limits.counters_total, now)),
            answers: Buckets::new(limits.answers_per_peer),
            answers_total: (limits.answers_total, TokenBucket::full(limits.answers_total, now)),
        }
    }

    /// Whether a gossip message of `bytes` from `peer` (connected at `address`) fits its
    /// peer's, its address's and the node's allowances; if it does, they are spent.
    pub(crate) fn admit_gossip(
        &mut self,
        peer: PeerId,
        address: Option<&Multiaddr>,
        bytes: usize,
        now: Instant,
    ) -> bool {
        let amount = bytes as f64;
        if self.counters_owed(peer, now) {
            return false;
        }
        let (total_allowance, total) = &mut self.intake_total;
        if !total.holds(now, *total_allowance, amount) {
            return false;
        }
        let ip = address.and_then(ip_of);
        if let Some(ip) = ip
            && self.intake_ips.holding(ip, amount, now).is_none()
        {
            return false;
        }
        let Some(bucket) = self.intake_peers.holding(peer, amount, now) else { return false };
        bucket.spend(amount);
        total.spend(amount);
        if let Some(bucket) = ip.and_then(|ip| self.intake_ips.holding(ip, 0.0, now)) {
            bucket.spend(amount);
        }
        true
    }

    /// Spends `bytes` of catch-up answers that `peer` (connected at `address`) sent: taken in
    /// already, so the allowances may go into debt, which [`Ingest::intake_wait`] waits out.
    pub(crate) fn took_answer(
        &mut self,
        peer: PeerId,
        address: Option<&Multiaddr>,
        bytes: usize,
        now: Instant,
    ) {
        let amount = bytes as f64;
        spend_total(&mut self.intake_total, amount, now);
        if let Some(ip) = address.and_then(ip_of) {
            self.intake_ips.spend(ip, amount, now);
        }
        self.intake_peers.spend(peer, amount, now);
    }

    /// Gives back `count` of the new counters spent for `peer` beforehand
    /// ([`Ingest::added`]) that its message did not add.
    pub(crate) fn not_added(&mut self, peer: PeerId, count: usize, now: Instant) {
        let amount = count as f64;
        let (allowance, total) = &mut self.counters_total;
        total.refill(now, *allowance);
        total.give_back(amount, *allowance);
        self.counters_peers.give_back(&peer, amount, now);
    }

    /// Spends `count` new counters that what `peer` sent added, or may add.
    pub(crate) fn added(&mut self, peer: PeerId, count: usize, now: Instant) {
        if count == 0 {
            return;
        }
        let amount = count as f64;
        spend_total(&mut self.counters_total, amount, now);
        self.counters_peers.spend(peer, amount, now);
    }

    /// Whether `peer`'s or the node's new counters are spent: no room for one more.
    fn counters_owed(&mut self, peer: PeerId, now: Instant) -> bool {
        let (allowance, total) = &mut self.counters_total;
        !total.holds(now, *allowance, 1.0) || self.counters_peers.lacks(&peer, 1.0, now)
    }

    /// How long until `peer` (at `address`), its address and the node may take in a whole
    /// message more, and the new counters of a whole answer: the wait before the next
    /// catch-up request to it goes out (zero: now).
    pub(crate) fn intake_wait(
        &mut self,
        peer: PeerId,
        address: Option<&Multiaddr>,
        now: Instant,
    ) -> Duration {
        let (allowance, total) = &mut self.intake_total;
        let node = total.wait_for(now, *allowance, whole_message(*allowance));
        let ip = address.and_then(ip_of).map_or(Duration::ZERO, |ip| self.intake_ips.wait(ip, now));
        let (allowance, total) = &mut self.counters_total;
        let counters = total.wait_for(now, *allowance, WHOLE_ANSWER);
        let peer_counters = self.counters_peers.wait_for(peer, now, WHOLE_ANSWER);
        node.max(ip).max(self.intake_peers.wait(peer, now)).max(counters).max(peer_counters)
    }

    /// Whether `peer` may be answered now: its allowance and the node's hold an answer of
    /// the most entries (or their whole burst, if smaller), before any is built.
    pub(crate) fn may_answer(&mut self, peer: PeerId, now: Instant) -> bool {
        let whole = |allowance: Allowance| allowance.burst.min(WHOLE_ANSWER);
        let (allowance, total) = &mut self.answers_total;
        let for_peer = whole(self.answers.allowance);
        total.holds(now, *allowance, whole(*allowance))
            && self.answers.holding(peer, for_peer, now).is_some()
    }

    /// Spends an answer of `items` (digests, summaries, entries) to `peer` (after
    /// [`Ingest::may_answer`] said yes).
    pub(crate) fn answered(&mut self, peer: PeerId, items: usize, now: Instant) {
        let amount = items as f64;
        spend_total(&mut self.answers_total, amount, now);
        self.answers.spend(peer, amount, now);
    }

    /// Forgets the buckets that are full again (losing nothing).
    pub(crate) fn forget_full(&mut self, now: Instant) {
        self.intake_peers.forget_full(now);
        self.counters_peers.forget_full(now);
        self.intake_ips.forget_full(now);
        self.answers.forget_full(now);
    }

    /// Peers and addresses tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.intake_peers.held.len()
            + self.intake_ips.held.len()
            + self.counters_peers.held.len()
            + self.answers.held.len()
    }
}

/// Spends `amount` from a node-wide bucket, going into debt if need be.
fn spend_total((allowance, bucket): &mut (Allowance, TokenBucket), amount: f64, now: Instant) {
    bucket.refill(now, *allowance);
    bucket.spend(amount);
}

/// The most entries one catch-up answer holds: the most new counters it adds, and the work
/// an answer is assumed to cost before it is built.
const WHOLE_ANSWER: f64 = MAX_RESPONSE_ENTRIES as f64;

/// The largest message, or the whole burst if smaller: what an allowance must hold before a
/// message of unknown size is asked for or built.
fn whole_message(allowance: Allowance) -> f64 {
    allowance.burst.min(MAX_MESSAGE_BYTES as f64)
}

/// The address a connection came from, as allowances count it: an IPv4 address, or the /64
/// network of an IPv6 one (one host commonly holds a whole /64).
fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    match address.iter().next()? {
        Part::Ip4(ip) => Some(IpAddr::V4(ip)),
        Part::Ip6(ip) => {
            let network = u128::from(ip) & !((1u128 << 64) - 1);
            Some(IpAddr::V6(Ipv6Addr::from(network)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MIB: usize = 1 << 20;

    /// The edge node's intake allowances: 1 MiB/s (bursts of 4) per peer, 2 (8) per address,
    /// 4 (16) in all.
    fn edge_limits() -> IngestLimits {
        let mib = |per_second: usize| Allowance {
            per_second: (per_second * MIB) as f64,
            burst: (4 * per_second * MIB) as f64,
        };
        IngestLimits {
            intake_per_peer: mib(1),
            intake_per_ip: mib(2),
            intake_total: mib(4),
            ..IngestLimits::default()
        }
    }

    fn address(text: &str) -> Multiaddr {
        text.parse().expect("valid")
    }

    #[test]
    fn each_peer_each_address_and_all_together_have_an_allowance() {
        let now = Instant::now();
        let mut ingest = Ingest::new(edge_limits(), now);
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        let home = address("/ip4/10.0.0.1/tcp/1");
        // One peer: its burst (4 MiB), then a refill of 1 MiB a second.
        for _ in 0..4 {
            assert!(ingest.admit_gossip(a, Some(&home), MIB, now));
        }
        assert!(!ingest.admit_gossip(a, Some(&home), MIB, now));
        assert!(ingest.admit_gossip(a, Some(&home), MIB, now + Duration::from_secs(1)));
        // More peer ids at the same address share its bucket (8 MiB, 2 MiB a second), which
        // holds 8 - 4 + 2 - 1 = 5 MiB: b takes its own burst, d one more, then d is refused.
        let now = now + Duration::from_secs(1);
        for _ in 0..4 {
            assert!(ingest.admit_gossip(b, Some(&home), MIB, now));
        }
        let d = PeerId::random();
        assert!(ingest.admit_gossip(d, Some(&home), MIB, now));
        assert!(!ingest.admit_gossip(d, Some(&home), MIB, now));
        // A third peer elsewhere still has room, until the node's total (16 MiB) is spent.
        let away = address("/ip4/10.0.0.2/tcp/1");
        let mut taken = 0;
        while ingest.admit_gossip(c, Some(&away), MIB / 4, now) {
            taken += MIB / 4;
        }
        assert_eq!(taken, 4 * MIB, "the peer's own burst");
        let others: Vec<PeerId> = (0..8).map(|_| PeerId::random()).collect();
        let spent = others
            .iter()
            .enumerate()
            .filter(|(i, peer)| {
                let address = address(&format!("/ip4/10.0.1.{i}/tcp/1"));
                ingest.admit_gossip(**peer, Some(&address), 2 * MIB, now)
            })
            .count();
        // The node's bucket (16 MiB, 4 MiB a second) holds 16 - 4 + 4 - 1 - 4 - 1 - 4 = 6 MiB:
        // three more of 2 MiB fit.
        assert_eq!(spent, 3);
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let now = Instant::now();
        let mut ingest = Ingest::new(edge_limits(), now);
        for host in 1..=8 {
            let address = address(&format!("/ip6/2001:db8::{host}/tcp/1"));
            assert!(ingest.admit_gossip(PeerId::random(), Some(&address), MIB, now));
        }
        let same = address("/ip6/2001:db8::ffff:1/tcp/1");
        assert!(!ingest.admit_gossip(PeerId::random(), Some(&same), MIB, now));
        let other = address("/ip6/2001:db8:0:1::1/tcp/1");
        assert!(ingest.admit_gossip(PeerId::random(), Some(&other), MIB, now));
    }

    #[test]
    fn answers_to_a_peer_and_in_all_have_an_allowance_checked_before_building() {
        let now = Instant::now();
        // In answers of the most entries (4,096).
        const ANSWER: usize = 4096;
        let answers = |per_second: usize, burst: usize| Allowance {
            per_second: (per_second * ANSWER) as f64,
            burst: (burst * ANSWER) as f64,
        };
        let limits = IngestLimits {
            answers_per_peer: answers(8, 32),
            answers_total: answers(16, 64),
            ..IngestLimits::default()
        };
        let mut ingest = Ingest::new(limits, now);
        let peer = PeerId::random();
        // The peer's burst (32 answers): answered while a whole answer's worth is left.
        let mut answered = 0;
        while ingest.may_answer(peer, now) {
            ingest.answered(peer, ANSWER, now);
            answered += 1;
        }
        assert_eq!(answered, 32);
        // Others, until the node's burst (64) is spent: 32 more.
        let others: usize = (0..4)
            .map(|_| {
                let other = PeerId::random();
                let mut n = 0;
                while ingest.may_answer(other, now) {
                    ingest.answered(other, ANSWER, now);
                    n += 1;
                }
                n
            })
            .sum();
        assert_eq!(others, 32);
        // A second later the node has 16 again; the first peer 8.
        let later = now + Duration::from_secs(1);
        let mut n = 0;
        while ingest.may_answer(peer, later) {
            ingest.answered(peer, ANSWER, later);
            n += 1;
        }
        assert_eq!(n, 8);
    }

    #[test]
    fn answers_taken_in_spend_the_intake_and_the_next_request_waits_out_the_debt() {
        let now = Instant::now();
        let mut ingest = Ingest::new(edge_limits(), now);
        let (a, b) = (PeerId::random(), PeerId::random());
        let home = address("/ip4/10.0.0.1/tcp/1");
        assert_eq!(ingest.intake_wait(a, Some(&home), now), Duration::ZERO);
        // 6 MiB from a: its bucket (4 MiB, 1 MiB/s) owes 2 MiB and must hold 1 MiB again.
        ingest.took_answer(a, Some(&home), 6 * MIB, now);
        assert_eq!(ingest.intake_wait(a, Some(&home), now), Duration::from_secs(3));
        // b at the same address: that address's bucket (8 MiB, 2 MiB/s) holds 2 MiB.
        assert_eq!(ingest.intake_wait(b, Some(&home), now), Duration::ZERO);
        ingest.took_answer(b, Some(&home), 4 * MIB, now);
        assert_eq!(ingest.intake_wait(b, Some(&home), now), Duration::from_millis(1500));
        // The node's bucket (16 MiB, 4 MiB/s) holds 6 MiB: c and d elsewhere take 3 each,
        // then d waits for the node's, not its own (1 MiB left).
        let (c, d) = (PeerId::random(), PeerId::random());
        let (there, yonder) = (address("/ip4/10.0.0.2/tcp/1"), address("/ip4/10.0.0.3/tcp/1"));
        ingest.took_answer(c, Some(&there), 3 * MIB, now);
        assert_eq!(ingest.intake_wait(c, Some(&there), now), Duration::ZERO);
        ingest.took_answer(d, Some(&yonder), 3 * MIB, now);
        assert_eq!(ingest.intake_wait(d, Some(&yonder), now), Duration::from_millis(250));
        // Gossip from a debtor is refused until its debt is paid and the message fits.
        assert!(!ingest.admit_gossip(a, Some(&home), 1000, now + Duration::from_secs(2)));
    }

    #[test]
    fn new_counters_a_peer_added_beyond_its_allowance_stop_its_gossip_and_catch_up() {
        let now = Instant::now();
        let limits = IngestLimits {
            counters_per_peer: Allowance { per_second: 1000.0, burst: 5000.0 },
            counters_total: Allowance { per_second: 3000.0, burst: 8000.0 },
            ..IngestLimits::default()
        };
        let mut ingest = Ingest::new(limits, now);
        let (a, b) = (PeerId::random(), PeerId::random());
        // a adds 6,000: a thousand owed, so its gossip waits a second, its next catch-up
        // request until a whole answer's worth (4,096 counters) is back: 5.096 s.
        ingest.added(a, 6000, now);
        assert!(!ingest.admit_gossip(a, None, 100, now));
        assert_eq!(ingest.intake_wait(a, None, now), Duration::from_millis(5096));
        assert!(ingest.admit_gossip(b, None, 100, now), "b has an allowance of its own");
        let later = now + Duration::from_millis(1100);
        assert!(ingest.admit_gossip(a, None, 100, later));
        // The node's allowance (8,000, 3,000 a second) holds 2,000 + 3,300 by then: b adds
        // them, and everyone waits.
        ingest.added(b, 5300, later);
        let c = PeerId::random();
        assert!(!ingest.admit_gossip(c, None, 100, later));
        let whole_answer = Duration::from_secs_f64(4096.0 / 3000.0);
        assert_eq!(ingest.intake_wait(c, None, later), whole_answer);
    }

    #[test]
    fn the_state_stays_bounded_whatever_the_number_of_peer_ids() {
        let now = Instant::now();
        let limits = IngestLimits {
            intake_total: Allowance { per_second: 1e12, burst: 1e12 },
            ..IngestLimits::default()
        };
        let mut ingest = Ingest::new(limits, now);
        let mut admitted = 0;
        for _ in 0..MAX_TRACKED + 1000 {
            admitted += usize::from(ingest.admit_gossip(PeerId::random(), None, 1000, now));
        }
        assert_eq!(admitted, MAX_TRACKED, "newcomers beyond the table are refused");
        assert_eq!(ingest.tracked(), MAX_TRACKED);
        // Once their buckets refilled, they are forgotten, and newcomers are taken again.
        let later = now + Duration::from_secs(1);
        assert!(ingest.admit_gossip(PeerId::random(), None, 1000, later));
        assert_eq!(ingest.tracked(), 1);
        ingest.forget_full(later + Duration::from_secs(1));
        assert_eq!(ingest.tracked(), 0);
    }
}
