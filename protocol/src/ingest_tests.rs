use std::time::Duration;

use super::*;

const MIB: usize = 1 << 20;

fn mib(per_second: usize) -> Allowance {
    Allowance { per_second: (per_second * MIB) as f64, burst: (4 * per_second * MIB) as f64 }
}

fn each(per_second: f64, burst: f64) -> Allowance {
    Allowance { per_second, burst }
}

/// The edge node's intake allowances: 1 MiB/s (bursts of 4) per peer, 2 (8) per address, 4
/// (16) in all; the rest the library's.
fn edge_limits() -> IngestLimits {
    IngestLimits {
        intake: Shares { per_peer: mib(1), per_ip: mib(2), total: mib(4) },
        ..IngestLimits::default()
    }
}

fn at(peer: PeerId, address: &str) -> Who {
    Who::at(peer, Some(&address.parse().expect("valid")))
}

#[test]
fn each_peer_each_address_and_all_together_have_an_allowance() {
    let now = Instant::now();
    let mut ingest = Ingest::new(edge_limits(), now);
    let home = "/ip4/10.0.0.1/tcp/1";
    let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
    // One peer: its burst (4 MiB), then a refill of 1 MiB a second.
    for _ in 0..4 {
        assert!(ingest.admit_gossip(at(a, home), MIB, now));
    }
    assert!(!ingest.admit_gossip(at(a, home), MIB, now));
    assert!(ingest.admit_gossip(at(a, home), MIB, now + Duration::from_secs(1)));
    // More peer ids at the same address share its bucket (8 MiB, 2 MiB a second), which
    // holds 8 - 4 + 2 - 1 = 5 MiB: b takes its own burst, d one more, then d is refused.
    let now = now + Duration::from_secs(1);
    for _ in 0..4 {
        assert!(ingest.admit_gossip(at(b, home), MIB, now));
    }
    let d = PeerId::random();
    assert!(ingest.admit_gossip(at(d, home), MIB, now));
    assert!(!ingest.admit_gossip(at(d, home), MIB, now));
    // A third peer elsewhere still has room: its own burst, taken while the node's bucket
    // (16 MiB, 4 MiB a second: 16 - 4 + 4 - 1 - 4 - 1 = 10 MiB) holds it.
    let mut taken = 0;
    while ingest.admit_gossip(at(c, "/ip4/10.0.0.2/tcp/1"), MIB / 4, now) {
        taken += MIB / 4;
    }
    assert_eq!(taken, 4 * MIB, "the peer's own burst");
    // The node's bucket holds 6 MiB; its last quarter (4 MiB) is kept for peers and addresses
    // that used less than half their share, which fresh ones did: three more of 2 MiB fit.
    let spent = (0..8)
        .filter(|i| {
            ingest.admit_gossip(
                at(PeerId::random(), &format!("/ip4/10.0.1.{i}/tcp/1")),
                2 * MIB,
                now,
            )
        })
        .count();
    assert_eq!(spent, 3);
}

#[test]
fn the_nodes_reserve_is_kept_for_peers_that_used_little() {
    let now = Instant::now();
    let mut ingest = Ingest::new(edge_limits(), now);
    // Four peers at four addresses flood: between them they take the node's whole bucket (16
    // MiB), the reserve (its last 4 MiB) only while each had used less than half its share.
    let busy: Vec<Who> =
        (0..4).map(|i| at(PeerId::random(), &format!("/ip4/10.0.0.{i}/tcp/1"))).collect();
    let flood = |ingest: &mut Ingest, at: Instant| {
        let mut spent = 0;
        for who in &busy {
            while ingest.admit_gossip(*who, MIB / 2, at) {
                spent += MIB / 2;
            }
        }
        spent
    };
    assert_eq!(flood(&mut ingest, now), 29 * MIB / 2);
    // A second later the node's bucket holds 5.5 MiB again: the first three flooders (each
    // bucket at 1 MiB) take it down to the reserve and no further; the fourth, which stopped at
    // half its share (its bucket at 2.5 MiB now), takes 1 MiB of the reserve until it is below
    // half again.
    let later = now + Duration::from_secs(1);
    assert_eq!(flood(&mut ingest, later), 5 * MIB / 2);
    // A peer that asked little is served from the reserve, until it has used half its share
    // (2 MiB; one more while it had half).
    let quiet = at(PeerId::random(), "/ip4/10.0.9.9/tcp/1");
    let mut served = 0;
    while ingest.admit_gossip(quiet, MIB / 2, later) {
        served += MIB / 2;
    }
    assert_eq!(served, 5 * MIB / 2);
}

#[test]
fn fresh_peer_ids_at_an_address_that_used_its_share_get_no_reserve() {
    let now = Instant::now();
    let mut ingest = Ingest::new(edge_limits(), now);
    // Two peers at one address spend its share (8 MiB) and the node's bucket down to 8.
    for _ in 0..2 {
        let who = at(PeerId::random(), "/ip4/10.0.0.1/tcp/1");
        while ingest.admit_gossip(who, MIB / 2, now) {}
    }
    let elsewhere = at(PeerId::random(), "/ip4/10.0.0.2/tcp/1");
    for _ in 0..8 {
        assert!(ingest.admit_gossip(elsewhere, MIB / 2, now));
    }
    // The node's bucket is at its reserve (4 MiB). A second later it holds 8 again, the
    // address's 2: a fresh peer id there takes 2 MiB, down to the reserve and no further.
    let later = now + Duration::from_secs(1);
    let fresh = at(PeerId::random(), "/ip4/10.0.0.1/tcp/1");
    let mut taken = 0;
    while ingest.admit_gossip(fresh, MIB / 2, later) {
        taken += MIB / 2;
    }
    assert_eq!(taken, 2 * MIB, "its address's refill, none of the reserve");
    assert!(ingest.admit_gossip(at(PeerId::random(), "/ip4/10.0.0.3/tcp/1"), MIB / 2, later));
}

#[test]
fn an_ipv6_network_counts_as_one_address() {
    let now = Instant::now();
    let mut ingest = Ingest::new(edge_limits(), now);
    for host in 1..=8 {
        let who = at(PeerId::random(), &format!("/ip6/2001:db8::{host}/tcp/1"));
        assert!(ingest.admit_gossip(who, MIB, now));
    }
    assert!(!ingest.admit_gossip(at(PeerId::random(), "/ip6/2001:db8::ffff:1/tcp/1"), MIB, now));
    assert!(ingest.admit_gossip(at(PeerId::random(), "/ip6/2001:db8:0:1::1/tcp/1"), MIB, now));
    // An IPv4 address mapped into IPv6 is that IPv4 address.
    let mapped = "/ip6/::ffff:10.0.0.7/tcp/1".parse::<Multiaddr>().expect("valid");
    assert_eq!(ip_of(&mapped), Some("10.0.0.7".parse().expect("valid")));
}

#[test]
fn answers_to_a_peer_and_in_all_have_an_allowance_checked_before_building() {
    let now = Instant::now();
    // In answers of the most entries (4,096).
    const ANSWER: usize = 4096;
    let answers = |per_second: usize, burst: usize| {
        each((per_second * ANSWER) as f64, (burst * ANSWER) as f64)
    };
    let limits = IngestLimits {
        answers: Shares {
            per_peer: answers(8, 32),
            per_ip: answers(8, 32),
            total: answers(16, 64),
        },
        ..IngestLimits::default()
    };
    let mut ingest = Ingest::new(limits, now);
    let peer = at(PeerId::random(), "/ip4/10.0.0.1/tcp/1");
    // The peer's burst (32 answers): answered while a whole answer's worth is left.
    let mut answered = 0;
    while ingest.may_answer(peer, now) {
        ingest.answered(peer, ANSWER, now);
        answered += 1;
    }
    assert_eq!(answered, 32);
    // Others elsewhere, until the node's burst (64) is spent: 32 more, the last 16 of them from
    // the reserve, for peers that used less than half their share.
    let others: usize = (0..8)
        .map(|i| {
            let other = at(PeerId::random(), &format!("/ip4/10.0.1.{i}/tcp/1"));
            let mut n = 0;
            while ingest.may_answer(other, now) {
                ingest.answered(other, ANSWER, now);
                n += 1;
            }
            n
        })
        .sum();
    assert_eq!(others, 32);
    // A second later the node has 16 again, but all of it is reserve: the first peer, which
    // used its share, waits; a quiet one is answered.
    let later = now + Duration::from_secs(1);
    assert!(!ingest.may_answer(peer, later));
    assert!(ingest.may_answer(at(PeerId::random(), "/ip4/10.0.2.1/tcp/1"), later));
}

#[test]
fn answers_taken_in_spend_the_intake_and_the_next_request_waits_out_the_debt() {
    let now = Instant::now();
    let mut ingest = Ingest::new(edge_limits(), now);
    let home = "/ip4/10.0.0.1/tcp/1";
    let (a, b) = (at(PeerId::random(), home), at(PeerId::random(), home));
    assert_eq!(ingest.intake_wait(a, now), Duration::ZERO);
    // 6 MiB from a: its bucket (4 MiB, 1 MiB/s) owes 2 MiB and must hold 1 MiB again.
    ingest.took_answer(a, 6 * MIB, now);
    assert_eq!(ingest.intake_wait(a, now), Duration::from_secs(3));
    // b at the same address: that address's bucket (8 MiB, 2 MiB/s) holds 2 MiB.
    assert_eq!(ingest.intake_wait(b, now), Duration::ZERO);
    ingest.took_answer(b, 4 * MIB, now);
    assert_eq!(ingest.intake_wait(b, now), Duration::from_millis(1500));
    // The node's bucket (16 MiB, 4 MiB/s) holds 6 MiB: c and d elsewhere take 3 each,
    // then d waits for the node's, not its own (1 MiB left).
    let (c, d) =
        (at(PeerId::random(), "/ip4/10.0.0.2/tcp/1"), at(PeerId::random(), "/ip4/10.0.0.3/tcp/1"));
    ingest.took_answer(c, 3 * MIB, now);
    assert_eq!(ingest.intake_wait(c, now), Duration::ZERO);
    ingest.took_answer(d, 3 * MIB, now);
    assert_eq!(ingest.intake_wait(d, now), Duration::from_millis(250));
    // Gossip from a debtor is refused until its debt is paid and the message fits.
    assert!(!ingest.admit_gossip(a, 1000, now + Duration::from_secs(2)));
}

#[test]
fn new_counters_and_checks_a_peer_asked_for_beyond_its_allowance_stop_its_gossip_and_catch_up() {
    let now = Instant::now();
    let limits = IngestLimits {
        counters: Shares {
            per_peer: each(1000.0, 5000.0),
            per_ip: each(1000.0, 5000.0),
            total: each(3000.0, 8000.0),
        },
        checks: Shares {
            per_peer: each(100.0, 200.0),
            per_ip: each(100.0, 200.0),
            total: each(1000.0, 1000.0),
        },
        ..IngestLimits::default()
    };
    let mut ingest = Ingest::new(limits, now);
    let (a, b) =
        (at(PeerId::random(), "/ip4/10.0.0.1/tcp/1"), at(PeerId::random(), "/ip4/10.0.0.2/tcp/1"));
    // a adds 6,000: a thousand owed, so its gossip waits a second, its next catch-up
    // request until a whole answer's worth (4,096 counters) is back: 5.096 s.
    ingest.added(a, 6000, now);
    assert!(!ingest.admit_gossip(a, 100, now));
    assert_eq!(ingest.intake_wait(a, now), Duration::from_millis(5096));
    assert!(ingest.admit_gossip(b, 100, now), "b has an allowance of its own");
    // Checks: b's message of 150 seals fits its 200; the next of 100 does not (nothing is
    // spent then), one of 50 does.
    assert!(ingest.admit_work(b, 150, 150, now));
    assert!(!ingest.admit_work(b, 100, 100, now));
    assert!(ingest.admit_work(b, 50, 50, now));
    // What a message did not add is given back: b's 200 leaves were all stale.
    ingest.not_added(b, 200, now);
    let later = now + Duration::from_millis(1100);
    assert!(ingest.admit_gossip(a, 100, later));
}

#[test]
fn the_state_stays_bounded_whatever_the_number_of_peer_ids() {
    let now = Instant::now();
    let huge = each(1e12, 1e12);
    let limits = IngestLimits {
        intake: Shares { per_peer: mib(4), per_ip: huge, total: huge },
        ..IngestLimits::default()
    };
    let mut ingest = Ingest::new(limits, now);
    let mut admitted = 0;
    for _ in 0..MAX_TRACKED + 1000 {
        admitted +=
            usize::from(ingest.admit_gossip(Who { peer: PeerId::random(), ip: None }, 1000, now));
    }
    assert_eq!(admitted, MAX_TRACKED, "newcomers beyond the table are refused");
    assert_eq!(ingest.tracked(), MAX_TRACKED);
    // Once their buckets refilled, they are forgotten, and newcomers are taken again.
    let later = now + Duration::from_secs(1);
    assert!(ingest.admit_gossip(Who { peer: PeerId::random(), ip: None }, 1000, later));
    assert_eq!(ingest.tracked(), 1);
    ingest.forget_full(later + Duration::from_secs(1));
    assert_eq!(ingest.tracked(), 0);
}
