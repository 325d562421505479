//! Publishing: gathered local changes and relayed catch-up entries as gossip messages, sealed,
//! and split so that each message stays under the size limit.

use super::{Action, Protocol};
use crate::core::{Entry, EntryKey, MAX_RESPONSE_ENTRIES, Replica, SealedBatch};

impl Protocol {
    /// Publishes every gathered change, sealed.
    pub(super) fn publish(&mut self, replica: &mut Replica) {
        self.publish_at = None;
        let keys: Vec<EntryKey> = std::mem::take(&mut self.gathered).into_iter().collect();
        self.unsent.extend(keys.iter().cloned());
        for (keys, bytes) in split(&keys, replica, self.config.max_message_bytes) {
            self.actions.push_back(Action::Publish { bytes, keys, relay: false });
        }
        self.count_pending();
    }

    /// Publishes entries caught up from one peer to the others (gossip also reaches that peer,
    /// which finds them stale and spends nothing on them).
    pub(super) fn relay(&mut self, changed: &[Entry], replica: &mut Replica) {
        let keys: Vec<EntryKey> = changed.iter().map(|entry| entry.key.clone()).collect();
        for (keys, bytes) in split(&keys, replica, self.config.max_message_bytes) {
            self.actions.push_back(Action::Publish { bytes, keys, relay: true });
        }
    }

    /// Counts local changes no peer has yet.
    pub(super) fn count_pending(&mut self) {
        let gathered = self.gathered.iter().filter(|k| !self.unsent.contains(k)).count();
        self.stats.pending_entries = (self.unsent.len() + gathered) as u64;
    }
}

/// The entries with these keys, sealed out of `replica`, as gossip messages of at most
/// `max_bytes` (and [`MAX_RESPONSE_ENTRIES`] entries) each: the keys of each message, and its
/// bytes. Keys `replica` cannot serve are left out.
fn split(keys: &[EntryKey], replica: &Replica, max_bytes: usize) -> Vec<(Vec<EntryKey>, Vec<u8>)> {
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
