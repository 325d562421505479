//! Gossip batches and cross-tab change records: any bytes decode or fail cleanly; what
//! decodes re-encodes to the same value and merges without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warpnet_stats::{Changes, wire::SealedBatch};
use warpnet_stats_fuzz::{namespace, replica};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = SealedBatch::decode(data) {
        let again = SealedBatch::decode(&batch.encode().expect("fits a message"))
            .expect("an encoded batch decodes");
        assert_eq!(again, batch);
        let mut replica = replica(9);
        let offered: usize = batch.sealed.iter().map(|group| group.leaves.len()).sum();
        let report = replica.merge(&batch.namespace, batch.sealed);
        assert_eq!(report.offered(), offered);
    }
    let changes = Changes::decode(&namespace(), data);
    let again = Changes::decode(&namespace(), &changes.encode(&namespace()));
    assert_eq!(again.len(), changes.len());
});
