//! Publishing: gathered local changes and relayed catch-up entries as gossip messages, sealed,
//! and split so that each message stays under the size limit.

use std::time::Duration;

use libp2p::PeerId;
use web_time::Instant;

use super::{Action, Protocol};
use warpnet_stats_core::{Entry, EntryKey, Replica, wire::SealedBatch};

/// How long after publishing a full node runs a catch-up with its peers to confirm they hold
/// what it published.
pub(super) const CONFIRM_AFTER: Duration = Duration::from_secs(1);

impl Protocol {
    /// Publishes every gathered change, sealed.
    pub(super) fn publish(&mut self, replica: &mut Replica) {
        self.publish_at = None;
        let keys: Vec<EntryKey> = std::mem::take(&mut self.gathered).into_iter().collect();
        self.unsent.extend(keys.iter().cloned());
        for (keys, bytes) in SealedBatch::messages(replica, &keys, self.config.max_message_bytes) {
            self.actions.push_back(Action::Publish { bytes, keys, relay: false });
        }
        self.count_pending();
    }

    /// Publishes entries caught up from one peer to the others (gossip also reaches that peer,
    /// which finds them stale and spends nothing on them).
    pub(super) fn relay(&mut self, changed: &[Entry], replica: &mut Replica) {
        let keys: Vec<EntryKey> = changed.iter().map(|entry| entry.key.clone()).collect();
        for (keys, bytes) in SealedBatch::messages(replica, &keys, self.config.max_message_bytes) {
            self.actions.push_back(Action::Publish { bytes, keys, relay: true });
        }
    }

    /// Local changes went out at `now`: a catch-up with every peer confirms they arrived
    /// a second later (a full node's; gossip says nothing of who took a message).
    pub(super) fn confirm_later(&mut self, now: Instant) {
        if !self.config.light && !self.unsent.is_empty() {
            self.confirm_at.get_or_insert(now + CONFIRM_AFTER);
        }
    }

    /// The node stops: a catch-up confirms at once that its peers hold what it published.
    pub fn confirm_now(&mut self, now: Instant) {
        if !self.config.light && !self.unsent.is_empty() {
            self.confirm_at = Some(now);
        }
    }

    /// Starts the confirming catch-ups due at `now`.
    pub(super) fn confirm_due(&mut self, now: Instant) {
        if self.confirm_at.is_none_or(|at| at > now) {
            return;
        }
        self.confirm_at = None;
        if !self.unsent.is_empty() {
            let peers: Vec<PeerId> = self.peers.keys().copied().collect();
            for peer in peers {
                self.catch_up(peer);
            }
        }
    }

    /// A catch-up with `peer` found it lacking these local changes: they are published again
    /// at `now` (if no peer is known to hold them yet); with `last`, the session ended and the changes
    /// published before it started that it did not find lacking are held by the peer.
    pub(super) fn confirmed(
        &mut self,
        peer: PeerId,
        lacking: Vec<EntryKey>,
        last: bool,
        now: Instant,
    ) {
        let Some(link) = self.peers.get_mut(&peer) else { return };
        for key in lacking {
            link.confirming.remove(&key);
            if self.unsent.contains(&key) {
                self.stats.resent_entries += 1;
                self.gathered.insert(key);
            }
        }
        if last {
            for key in std::mem::take(&mut link.confirming) {
                self.unsent.remove(&key);
            }
        }
        if !self.gathered.is_empty() {
            self.publish_at.get_or_insert(now);
        }
        self.count_pending();
    }

    /// What became of an [`Action::Publish`]: whether it went out (not when no peer listens).
    pub fn handle_publish_result(&mut self, keys: &[EntryKey], relay: bool, sent: bool) {
        let count = keys.len() as u64;
        if relay {
            if sent {
                self.stats.relayed_entries += count;
            }
            return;
        }
        if sent {
            self.stats.published_batches += 1;
            self.stats.published_entries += count;
            // Gossip says nothing of who took it: a full node's next catch-up confirms it.
            if self.config.light {
                for key in keys {
                    self.unsent.remove(key);
                }
            }
        } else {
            self.stats.unpublished_entries += count;
        }
        self.count_pending();
    }

    /// Counts local changes no peer has yet.
    pub(super) fn count_pending(&mut self) {
        let gathered = self.gathered.iter().filter(|k| !self.unsent.contains(k)).count();
        self.stats.pending_entries = (self.unsent.len() + gathered) as u64;
    }
}
