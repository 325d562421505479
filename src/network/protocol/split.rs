//! Published entries as gossip messages: sealed, and split so that each message stays under
//! the size limit.

use crate::core::{EntryKey, MAX_RESPONSE_ENTRIES, Replica, SealedBatch};

/// The entries with these keys, sealed out of `replica`, as gossip messages of at most
/// `max_bytes` (and [`MAX_RESPONSE_ENTRIES`] entries) each: the keys of each message, and its
/// bytes. Keys `replica` cannot serve are left out.
pub(crate) fn split(
    keys: &[EntryKey],
    replica: &Replica,
    max_bytes: usize,
) -> Vec<(Vec<EntryKey>, Vec<u8>)> {
    let mut messages = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let mut count = rest.len().min(MAX_RESPONSE_ENTRIES);
        loop {
            let sealed = replica.sealed(&rest[..count]);
            let served = !sealed.is_empty();
            let bytes = SealedBatch { namespace: replica.namespace().clone(), sealed }.encode();
            if bytes.len() <= max_bytes || count == 1 {
                if served {
                    messages.push((rest[..count].to_vec(), bytes));
                }
                rest = &rest[count..];
                break;
            }
            // Shrink in proportion, with a margin for entries of uneven size.
            count = (count * max_bytes / bytes.len() * 9 / 10).clamp(1, count - 1);
        }
    }
    messages
}
