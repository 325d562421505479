//! Gossip: a message's checks, cheapest first, before it is handed out to merge, and its
//! verdict after; a message merged too late for gossipsub to forward goes on as this node's
//! relay.

use std::time::Duration;

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use web_time::Instant;

use warpnet_stats_core::{
    MergeReport, Rejection, Replica,
    wire::{MAX_MESSAGE_BYTES, SealedBatch},
};

use super::{Action, DropReason, MergeFrom, Protocol, Verdict};

/// How long gossipsub keeps a message it may still forward, at least (the driver configures its
/// cache for this). A gossip message merged later than this after it came is relayed by this
/// node as a message of its own, so no accepted message goes unforwarded.
pub const GOSSIP_CACHE: Duration = Duration::from_secs(6);

impl Protocol {
    /// A gossip message passed on by `source`, charged to it before each piece of work,
    /// cheapest checks first: its size, its bytes against the intake allowances
    /// ([`IngestLimits`](crate::IngestLimits)), decoding, the namespace, its writers'
    /// identity proofs (two hashes each: a group without one is dropped, and the message
    /// rejected), then its leaves against the new-counter allowances and its seals against the
    /// signature-check allowances; only then is it handed out to merge ([`Action::Merge`]),
    /// whose signature checks come last. The verdict follows the merge.
    pub fn handle_gossip(
        &mut self,
        message: MessageId,
        source: PeerId,
        data: &[u8],
        replica: &Replica,
        now: Instant,
    ) {
        self.stats.received_bytes += data.len() as u64;
        let verdict = |verdict| Action::Verdict { message: message.clone(), source, verdict };
        if data.len() > MAX_MESSAGE_BYTES {
            // Invalid whatever the allowances: not one to spend them on.
            self.stats.drop(DropReason::Oversized, 1);
            self.actions.push_back(verdict(Verdict::Reject));
            return;
        }
        let who = self.who(source);
        if !self.ingest.admit_gossip(who, data.len(), now) {
            self.stats.drop(DropReason::RateLimited, 1);
            self.actions.push_back(verdict(Verdict::Ignore));
            // An honest burst loses nothing: a catch-up with the sender fetches it (at most
            // one running and one waiting per peer, whatever the flood).
            self.catch_up(source);
            return;
        }
        let mut batch = match SealedBatch::decode(data) {
            Ok(batch) if batch.namespace == self.namespace => batch,
            Ok(_) => {
                self.stats.drop(DropReason::ForeignNamespace, 1);
                self.actions.push_back(verdict(Verdict::Reject));
                return;
            }
            Err(error) => {
                self.stats.drop(DropReason::of_wire(&error), 1);
                self.actions.push_back(verdict(Verdict::Reject));
                return;
            }
        };
        let leaves: usize = batch.sealed.iter().map(|g| g.leaves.len()).sum();
        if self.drop_unproven(&mut batch.sealed, replica) > 0 {
            // Invalid (an honest relay checks before relaying): rejected whole, every leaf
            // counted, and nothing of it checked further; its valid groups come by catch-up if
            // an honest peer holds them.
            self.stats.drop(DropReason::NoIdentityProof, leaves as u64);
            self.actions.push_back(verdict(Verdict::Reject));
            return;
        }
        // Every leaf counts as a new counter until the merge says otherwise
        // ([`Protocol::handle_merged`]), and every seal as a signature to check: messages that
        // come faster than they are merged are held to the allowances all the same.
        if !self.ingest.admit_work(who, leaves, batch.sealed.len(), now) {
            self.stats.drop(DropReason::RateLimited, 1);
            self.actions.push_back(verdict(Verdict::Ignore));
            self.catch_up(source);
            return;
        }
        let from = MergeFrom::Gossip { message, source, arrived: now };
        self.actions.push_back(Action::Merge { from, entries: batch.sealed });
    }

    /// Gossipsub could not forward a message accepted here: it no longer held it (a verdict
    /// later than [`GOSSIP_CACHE`] is relayed instead, so this counts what that bound missed).
    pub fn handle_unforwarded(&mut self) {
        self.stats.unforwarded_messages += 1;
    }

    /// Drops the groups whose writer has no identity proof at the namespace's difficulty (two
    /// hashes per writer and proof, each checked once here); returns how many leaves they held.
    pub(super) fn drop_unproven(
        &self,
        groups: &mut Vec<warpnet_stats_core::seal::Sealed>,
        replica: &Replica,
    ) -> usize {
        let difficulty = replica.rules().difficulty;
        let mut proven: Vec<(warpnet_stats_core::Writer, u64, bool)> = Vec::new();
        let mut dropped = 0;
        groups.retain(|group| {
            let nonce = group.identity.nonce;
            let holds = match proven.iter().find(|(w, n, _)| *w == group.writer && *n == nonce) {
                Some((_, _, holds)) => *holds,
                None => {
                    let holds = group.identity.holds(&self.namespace, &group.writer, difficulty);
                    proven.push((group.writer, nonce, holds));
                    holds
                }
            };
            if !holds {
                dropped += group.leaves.len();
            }
            holds
        });
        dropped
    }

    /// What merging a gossip message did: its verdict, and what of its leaves added no
    /// counter given back to its sender's allowance.
    pub(super) fn gossip_merged(
        &mut self,
        message: MessageId,
        source: PeerId,
        arrived: Instant,
        report: &MergeReport,
        replica: &mut Replica,
        now: Instant,
    ) {
        let rejected = report.rejected.len() as u64;
        let who = self.who(source);
        self.ingest.not_added(who, report.offered() - report.added, now);
        self.stats.gossip_entries += report.changed.len() as u64;
        let invalid = report.rejected.iter().any(|(_, r)| *r != Rejection::OverQuota);
        let verdict = if rejected == 0 && !report.changed.is_empty() {
            self.stats.accepted_messages += 1;
            if now.saturating_duration_since(arrived) < GOSSIP_CACHE {
                Verdict::Accept
            } else {
                // Gossipsub no longer holds it to forward: what it brought goes on as this
                // node's relay (the next node takes it as stale if it came some other way).
                self.stats.late_messages += 1;
                if self.peers.keys().any(|p| *p != source) {
                    self.relay(&report.changed, replica);
                }
                Verdict::Ignore
            }
        } else if invalid {
            Verdict::Reject
        } else {
            if rejected == 0 {
                self.stats.stale_messages += 1;
            }
            // Valid, but nothing new here (a replay under a new message id: relayed,
            // it would cost every node of the mesh its checks again), or beyond this
            // node's own storage policy: not relayed, no penalty.
            Verdict::Ignore
        };
        self.actions.push_back(Action::Verdict { message, source, verdict });
    }
}
