//! How much a node takes from its peers, on time passed in: bytes of gossip from each peer,
//! from each IP address and from all together, and bytes of catch-up answers to each peer.
//! Token buckets in bytes, kept only while not full and at most [`MAX_TRACKED`] per kind, so
//! no number of peer ids or addresses makes the state grow without bound.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};

use libp2p::multiaddr::Protocol as Part;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use super::interface::{Allowance, IngestLimits};
use super::limits::TokenBucket;
use crate::core::MAX_MESSAGE_BYTES;

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
        if !self.held.contains_key(&key) && self.held.len() >= MAX_TRACKED {
            self.forget_full(now);
            if self.held.len() >= MAX_TRACKED {
                return None;
            }
        }
        let allowance = self.allowance;
        let bucket = self.held.entry(key).or_insert_with(|| TokenBucket::full(allowance, now));
        bucket.holds(now, allowance, amount).then_some(bucket)
    }

    fn forget_full(&mut self, now: Instant) {
        let allowance = self.allowance;
        self.held.retain(|_, bucket| !bucket.is_full(now, allowance));
    }
}

/// A node's allowances for what its peers send and ask.
#[derive(Debug)]
pub(crate) struct Ingest {
    gossip_peers: Buckets<PeerId>,
    gossip_ips: Buckets<IpAddr>,
    gossip_total: (Allowance, TokenBucket),
    answers: Buckets<PeerId>,
    answers_total: (Allowance, TokenBucket),
}

impl Ingest {
    pub(crate) fn new(limits: IngestLimits, now: Instant) -> Self {
        Self {
            gossip_peers: Buckets::new(limits.gossip_per_peer),
            gossip_ips: Buckets::new(limits.gossip_per_ip),
            gossip_total: (limits.gossip_total, TokenBucket::full(limits.gossip_total, now)),
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
        let (total_allowance, total) = &mut self.gossip_total;
        if !total.holds(now, *total_allowance, amount) {
            return false;
        }
        let ip = address.and_then(ip_of);
        if let Some(ip) = ip
            && self.gossip_ips.holding(ip, amount, now).is_none()
        {
            return false;
        }
        let Some(bucket) = self.gossip_peers.holding(peer, amount, now) else { return false };
        bucket.spend(amount);
        total.spend(amount);
        if let Some(bucket) = ip.and_then(|ip| self.gossip_ips.holding(ip, 0.0, now)) {
            bucket.spend(amount);
        }
        true
    }

    /// Whether `peer` may be answered now: its allowance and the node's hold an answer of
    /// the largest size (or their whole burst, if smaller), before any is built.
    pub(crate) fn may_answer(&mut self, peer: PeerId, now: Instant) -> bool {
        let largest = |allowance: Allowance| allowance.burst.min(MAX_MESSAGE_BYTES as f64);
        let (allowance, total) = &mut self.answers_total;
        let for_peer = largest(self.answers.allowance);
        total.holds(now, *allowance, largest(*allowance))
            && self.answers.holding(peer, for_peer, now).is_some()
    }

    /// Spends an answer of `bytes` to `peer` (after [`Ingest::may_answer`] said yes).
    pub(crate) fn answered(&mut self, peer: PeerId, bytes: usize, now: Instant) {
        let amount = bytes as f64;
        self.answers_total.1.spend(amount);
        if let Some(bucket) = self.answers.holding(peer, 0.0, now) {
            bucket.spend(amount);
        }
    }

    /// Forgets the buckets that are full again (losing nothing).
    pub(crate) fn forget_full(&mut self, now: Instant) {
        self.gossip_peers.forget_full(now);
        self.gossip_ips.forget_full(now);
        self.answers.forget_full(now);
    }

    /// Peers and addresses tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.gossip_peers.held.len() + self.gossip_ips.held.len() + self.answers.held.len()
    }
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

    fn address(text: &str) -> Multiaddr {
        text.parse().expect("valid")
    }

    #[test]
    fn each_peer_each_address_and_all_together_have_an_allowance() {
        let now = Instant::now();
        let mut ingest = Ingest::new(IngestLimits::default(), now);
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
        let mut ingest = Ingest::new(IngestLimits::default(), now);
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
        let mut ingest = Ingest::new(IngestLimits::default(), now);
        let peer = PeerId::random();
        // The peer's burst (32 MiB): answered while a whole message's worth is left.
        let mut answered = 0;
        while ingest.may_answer(peer, now) {
            ingest.answered(peer, MIB, now);
            answered += 1;
        }
        assert_eq!(answered, 32);
        // Others, until the node's burst (64 MiB) is spent: 32 more.
        let others: usize = (0..4)
            .map(|_| {
                let other = PeerId::random();
                let mut n = 0;
                while ingest.may_answer(other, now) {
                    ingest.answered(other, MIB, now);
                    n += 1;
                }
                n
            })
            .sum();
        assert_eq!(others, 32);
        // A second later the node has 16 MiB again; the first peer 8.
        let later = now + Duration::from_secs(1);
        let mut n = 0;
        while ingest.may_answer(peer, later) {
            ingest.answered(peer, MIB, later);
            n += 1;
        }
        assert_eq!(n, 8);
    }

    #[test]
    fn the_state_stays_bounded_whatever_the_number_of_peer_ids() {
        let now = Instant::now();
        let limits = IngestLimits {
            gossip_total: Allowance { per_second: 1e12, burst: 1e12 },
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
