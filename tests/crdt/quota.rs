//! Storage quotas and budgets, a local policy: a replica keeps at most its quota of counters of
//! any one remote writer; beyond, new ones are refused and counted, held ones still take
//! updates, other writers and the local one are not affected, and gossip refused only for the
//! quota is ignored (not relayed, no penalty) rather than rejected.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use libp2p::gossipsub::MessageId;
use warpnet_stats::protocol::{self, Protocol, Verdict};
use warpnet_stats::{
    DropReason, EntryKey, PeerConfig, Rejection, Replica, StatKind, wire::SealedBatch,
};
use web_time::Instant;

/// `count` likes of writer `seed`, on tweets `t0`, `t1`, ...: the writer and their keys.
fn likes(seed: u8, count: usize) -> (Replica, Vec<EntryKey>) {
    let mut writer = replica(seed);
    let keys = (0..count)
        .map(|i| writer.increment(&tweet(&format!("t{i}")), StatKind::Likes).expect("ok").key)
        .collect();
    (writer, keys)
}

fn over_quota(rejected: &[(EntryKey, Rejection)]) -> usize {
    rejected.iter().filter(|(_, why)| *why == Rejection::OverQuota).count()
}

#[test]
fn a_replica_keeps_at_most_its_quota_of_one_writers_counters() {
    let mut edge = replica(1);
    edge.set_writer_quota(Some(3));
    let (mut writer, keys) = likes(2, 5);
    let report = edge.merge(&namespace(), writer.sealed(&keys));
    assert_eq!((report.changed.len(), over_quota(&report.rejected)), (3, 2));
    assert_eq!(report.rejected.len(), 2);

    // The counters held still take updates; the others are still refused.
    for key in &keys {
        writer.increment(&key.tweet, StatKind::Views).expect("ok");
        writer.decrement(&key.tweet, StatKind::Likes).expect("ok");
    }
    let report = edge.merge(&namespace(), writer.sealed(&keys));
    assert_eq!((report.changed.len(), over_quota(&report.rejected)), (3, 2));

    // Another writer has a quota of its own; the local writer has none.
    let (other, keys) = likes(3, 5);
    let report = edge.merge(&namespace(), other.sealed(&keys));
    assert_eq!((report.changed.len(), over_quota(&report.rejected)), (3, 2));
    for i in 0..5 {
        edge.increment(&tweet(&format!("mine{i}")), StatKind::Likes).expect("ok");
    }
    assert_eq!(edge.len(), 3 + 3 + 5);

    // Without a quota, everything is kept.
    edge.set_writer_quota(None);
    let report = edge.merge(&namespace(), other.sealed(&keys));
    assert_eq!((report.changed.len(), report.rejected.len()), (2, 0));
}

#[test]
fn gossip_refused_only_for_the_quota_is_ignored_not_rejected() {
    let now = Instant::now();
    let mut protocol = Protocol::new(namespace(), PeerConfig::default(), now);
    let mut edge = replica(1);
    edge.set_writer_quota(Some(1));
    let (writer, keys) = likes(2, 2);
    let source = replica(9).local_writer().node.peer_id();
    for (n, key) in keys.iter().enumerate() {
        let bytes = SealedBatch { namespace: namespace(), sealed: writer.sealed([key]) }
            .encode()
            .expect("fits a message");
        let message = MessageId::new(&[n as u8]);
        protocol.handle_gossip(message.clone(), source, &bytes, &edge, now);
        let Some(protocol::Action::Merge { from, entries }) = protocol.poll_action() else {
            panic!("no merge");
        };
        let report = edge.merge(&namespace(), entries);
        protocol.handle_added(&from, report.added, now);
        protocol.handle_merged(from, &report, &mut edge, now);
        let verdict = if n == 0 { Verdict::Accept } else { Verdict::Ignore };
        assert_eq!(
            protocol.poll_action(),
            Some(protocol::Action::Verdict { message, source, verdict })
        );
    }
    assert_eq!(protocol.stats().dropped(DropReason::OverQuota), 1);
}

/// What a replica keeps is bounded in total, not only per writer: past its budget, new
/// counters are refused (held ones still take updates), its last tenth kept for writers
/// holding few, so minted writers that filled the rest cannot keep a new person from counting.
#[test]
fn a_replica_keeps_at_most_its_budget_in_all_with_room_for_writers_holding_few() {
    let mut edge = replica(1);
    edge.set_storage_budget(Some(100));
    // Two big writers fill nine tenths: 60, then 30 of 60.
    let (mut big, keys) = likes(2, 60);
    assert_eq!(edge.merge(&namespace(), big.sealed(&keys)).changed.len(), 60);
    let (other, keys) = likes(3, 60);
    let report = edge.merge(&namespace(), other.sealed(&keys));
    assert_eq!((report.changed.len(), over_quota(&report.rejected)), (30, 30));
    // A newcomer with a few likes still counts, up to the budget, and then nobody new does.
    let (small, keys) = likes(4, 5);
    assert_eq!(edge.merge(&namespace(), small.sealed(&keys)).changed.len(), 5);
    let (late, keys) = likes(5, 8);
    let report = edge.merge(&namespace(), late.sealed(&keys));
    assert_eq!((report.changed.len(), over_quota(&report.rejected), edge.len()), (5, 3, 100));
    // Held counters still take updates.
    let held: Vec<EntryKey> = (0..60)
        .map(|i| big.increment(&tweet(&format!("t{i}")), StatKind::Likes).expect("ok").key)
        .collect();
    let report = edge.merge(&namespace(), big.sealed(&held));
    assert_eq!((report.changed.len(), report.rejected.len()), (60, 0));
}
