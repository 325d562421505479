//! Catch-up between simulated protocols on virtual time: convergence through a simulated link,
//! a lying responder, and catch-up answers paced by the intake allowances. The same tests run
//! natively and in wasm.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use std::time::Duration;

use common::sim::*;
use common::*;
use warpnet_stats::protocol::{Action, MergeFrom};
use warpnet_stats::{
    Allowance, DropReason, EntryKey, IngestLimits, PeerConfig, Shares, StatKind,
    sync::{MAX_RESPONSE_ENTRIES, SyncRequest, SyncResponse},
};

#[test]
fn a_catch_up_response_with_entries_not_asked_for_is_dropped_and_the_catch_up_fails() {
    let config = PeerConfig { sync_interval: Duration::from_secs(3600), ..PeerConfig::default() };
    let mut victim = Sim::new(1, config);
    let mut liar = replica(2);
    liar.increment(&tweet("asked"), StatKind::Likes).expect("within bounds");
    // Valid entries of another writer, which the liar adds to every answer: never asked for
    // by a Fetch, more than a Range response may hold.
    let mut other = replica(3);
    let keys: Vec<EntryKey> = (0..MAX_RESPONSE_ENTRIES + 4)
        .map(|i| other.increment(&tweet(&format!("x{i}")), StatKind::Views).expect("ok").key)
        .collect();
    let extra = other.sealed(&keys);
    let liar_id = liar.local_writer().node.peer_id();
    victim.connect(liar_id, &edge_address(2, "websocket"), false, None);
    let mut merged = 0;
    for _ in 0..10 {
        let mut answered = false;
        for action in victim.actions() {
            match action {
                Action::SendRequest { request, bytes, .. } => {
                    let (_, asked) = SyncRequest::decode(&bytes).expect("decodes");
                    let mut response = asked.answer_from(&mut liar).expect("answered");
                    if let SyncResponse::Entries { entries, .. }
                    | SyncResponse::Range { entries, .. } = &mut response
                    {
                        entries.extend(extra.iter().cloned());
                    }
                    let bytes = response.encode(&namespace());
                    let (now, replica) = (victim.now, &mut victim.replica);
                    victim.protocol.handle_sync_response(liar_id, request, &bytes, replica, now);
                    answered = true;
                }
                Action::Merge { entries, .. } => merged += entries.len(),
                _ => {}
            }
        }
        if !answered {
            break;
        }
    }
    let stats = victim.protocol.stats();
    assert_eq!(stats.dropped(DropReason::Unsolicited), keys.len() as u64);
    assert_eq!((stats.syncs_failed, stats.syncs_completed), (1, 0));
    assert_eq!(merged, 0, "nothing of the lying response is merged");
    assert!(victim.replica.is_empty());
    // The catch-up is retried after a wait, not at once.
    assert!(requests(&victim.actions()).is_empty());
}

#[test]
fn two_nodes_converge_by_catch_up_through_a_simulated_link() {
    let mut a = Sim::new(1, PeerConfig::default());
    let mut b = Sim::new(2, PeerConfig::default());
    for i in 0..300 {
        a.replica.increment(&tweet(&format!("a{i}")), StatKind::Likes).expect("within bounds");
        b.replica
            .increment(&tweet(&format!("b{}", i % 7)), StatKind::Views)
            .expect("within bounds");
    }
    converge(&mut a, &mut b);
    assert_eq!(a.replica.sync_digest(), b.replica.sync_digest());
    assert_eq!(a.protocol.stats().syncs_completed, 1);
    assert_eq!(b.protocol.stats().synced_entries, 300);
    assert!(matches!(
        (a.protocol.stats().last_sync, b.protocol.stats().last_sync),
        (Some(_), Some(_))
    ));
    let _ = MergeFrom::CatchUp { peer: peer_id(1), last: true };
}

#[test]
fn catch_up_answers_beyond_the_intake_allowance_wait_until_it_holds_another() {
    // The asker takes in 32 KiB at once and 16 KiB a second from one peer; the holder has
    // 10,000 entries it lacks, three range answers of up to 4,096 entries.
    const HELD: usize = 10_000;
    let rate = 16.0 * 1024.0;
    let allowance = Allowance { per_second: rate, burst: 2.0 * rate };
    let ingest = IngestLimits {
        intake: Shares { per_peer: allowance, ..IngestLimits::default().intake },
        ..IngestLimits::default()
    };
    let quiet = Duration::from_secs(3600);
    let mut asker =
        Sim::new(1, PeerConfig { ingest, sync_interval: quiet, ..PeerConfig::default() });
    let mut holder = Sim::new(2, PeerConfig { sync_interval: quiet, ..PeerConfig::default() });
    for i in 0..HELD {
        holder.replica.increment(&tweet(&format!("t{i}")), StatKind::Likes).expect("in bounds");
    }
    let (asker_id, holder_id) = (peer_id(1), peer_id(2));
    let address = "/ip4/127.0.0.1/tcp/4001".parse().expect("address");
    asker.connect(holder_id, &address, false, None);
    holder.connect(asker_id, &address, true, None);
    let start = asker.now;
    let mut rounds = 0;
    loop {
        while carry(&mut asker, &mut holder, asker_id) | carry(&mut holder, &mut asker, holder_id) {
        }
        if asker.replica.len() == HELD {
            break;
        }
        // Quiet with entries missing: the next request waits for the allowance to refill.
        assert!(asker.step_until(start + quiet), "the held-back request has a due time");
        rounds += 1;
    }
    // Every wait is a round (other rounds are the connections' liveness checks).
    let waits = asker.protocol.stats().catch_up_waits;
    assert!(waits >= 2 && waits <= rounds, "{waits} waits, {rounds} rounds");
    assert_eq!(asker.replica.sync_digest(), holder.replica.sync_digest());
    // Each answer but the last (under half of all) was waited out at the allowance's rate.
    let took = (asker.now - start).as_secs_f64();
    let paced = asker.received as f64 / rate;
    assert!(took <= paced && took >= paced / 2.0, "{took} s for {paced} s of answers");
}
