//! The catch-up protocol's inputs and outputs: answering a peer's requests out of the
//! replica, taking its responses (the next request out before the merge), failures, and
//! starting sessions. Scheduling per peer is [`CatchUp`]'s.

use libp2p::PeerId;
use web_time::Instant;

use super::catch_up::{RequestId, SyncFailure};
use super::stats::DropReason;
use super::{Action, MergeFrom, Protocol, Reply};
use warpnet_stats_core::{
    Namespace, Replica,
    sync::{SyncRequest, SyncResponse, SyncSession},
    wire::WireError,
};

#[cfg(doc)]
use super::{IngestLimits, catch_up::CatchUp};

impl Protocol {
    /// Answers a catch-up request from `peer` out of `replica`; `None` (and a counted drop) if
    /// the request is malformed or of another namespace, or the peer's or the node's answer
    /// allowance ([`IngestLimits`]) does not hold a whole message's worth.
    pub fn handle_sync_request(
        &mut self,
        peer: PeerId,
        data: &[u8],
        replica: &mut Replica,
        now: Instant,
    ) -> Option<Reply> {
        let who = self.who(peer);
        if !self.ingest.may_answer(who, now) {
            self.refuse(peer);
            return None;
        }
        self.answering(peer);
        let Some(request) = self.of_namespace(SyncRequest::decode(data)) else {
            self.ingest.answered(who, 1, now);
            return None;
        };
        let Ok(response) = request.answer_from(replica) else {
            self.ingest.answered(who, 1, now);
            self.stats.drop(DropReason::BadSyncRequest, 1);
            return None;
        };
        let bytes = response.encode(&self.namespace);
        self.ingest.answered(who, response.items(), now);
        if let SyncResponse::Entries { entries, .. } | SyncResponse::Range { entries, .. } =
            &response
            && self.config.light
            && !self.unsent.is_empty()
        {
            // The edge node fetched these by catch-up: a light node has no catch-up of its own
            // to confirm they arrived (a full node's confirms it; an answer sent may still be
            // lost with its connection).
            for group in entries {
                for (_, leaf) in &group.leaves {
                    self.unsent.remove(&leaf.key(group.writer));
                }
            }
            self.count_pending();
        }
        Some(Reply { bytes, chunked: self.chunked(&peer) })
    }

    /// The response to a catch-up request: the next request goes out at once, before the
    /// entries it delivered are merged ([`Action::Merge`] after [`Action::SendRequest`]), so
    /// the peer prepares the next answer while this node verifies. A response carrying entries
    /// that were not asked for is dropped whole (its entries counted as
    /// [`DropReason::Unsolicited`]) and the catch-up fails: retried after a doubling wait, so
    /// a peer that does it is asked ever less often.
    pub fn handle_sync_response(
        &mut self,
        peer: PeerId,
        request: RequestId,
        data: &[u8],
        replica: &mut Replica,
        now: Instant,
    ) {
        let who = self.who(peer);
        let Some(link) = self.peers.get_mut(&peer) else { return };
        let Some(mut session) = link.catch_up.take_session(request) else { return };
        self.ingest.took_answer(who, data.len(), now);
        self.stats.received_bytes += data.len() as u64;
        let step = match SyncResponse::decode(data) {
            Ok(response) => match session.handle(replica, response) {
                Ok(step) if step.unsolicited > 0 => {
                    let why = format!("{} entries not asked for", step.unsolicited);
                    Err((DropReason::Unsolicited, step.unsolicited as u64, why))
                }
                Ok(step) => Ok(step),
                Err(error) => Err((DropReason::BadSyncResponse, 1, error.to_string())),
            },
            Err(error) => Err((DropReason::of_wire(&error), 1, error.to_string())),
        };
        let mut step = match step {
            Ok(step) => step,
            Err((reason, count, why)) => {
                tracing::warn!(%peer, reason = reason.as_str(), %why, "catch-up failed: bad response");
                self.stats.drop(reason, count);
                self.stats.syncs_failed += 1;
                if link.catch_up.failed(now) {
                    self.catch_up(peer);
                }
                return;
            }
        };
        // Asked for, so taken (within the allowances the next request waits on): its writers'
        // proofs checked first, then its seals' checks spent before they are made.
        let unproven = self.drop_unproven(&mut step.fetched, replica);
        self.stats.drop(DropReason::NoIdentityProof, unproven as u64);
        self.ingest.will_check(who, step.fetched.len(), now);
        let last = step.next.is_none();
        self.confirmed(peer, std::mem::take(&mut step.lacking), last, now);
        if let Some(next) = step.next {
            let bytes = next.encode(&self.namespace);
            let wait = self.ingest.intake_wait(who, now);
            if wait.is_zero() {
                self.send_next(peer, session, bytes);
            } else if let Some(link) = self.peers.get_mut(&peer) {
                // What the peer sent is beyond its intake allowance (or the node's): the next
                // answer is asked for once they hold it again.
                self.stats.catch_up_waits += 1;
                link.catch_up.wait(now + wait, session, bytes);
            }
        }
        if last || !step.fetched.is_empty() {
            let from = MergeFrom::CatchUp { peer, last };
            self.actions.push_back(Action::Merge { from, entries: step.fetched });
        }
    }

    /// A catch-up request failed. It is retried at once if the peer has connected anew since
    /// it was sent (the request died with the old connection), else after a backoff.
    pub fn handle_sync_failed(
        &mut self,
        peer: PeerId,
        request: RequestId,
        failure: SyncFailure,
        now: Instant,
    ) {
        let Some(link) = self.peers.get_mut(&peer) else { return };
        if link.catch_up.take_session(request).is_none() {
            return;
        }
        tracing::warn!(%peer, ?failure, "catch-up failed");
        self.stats.syncs_failed += 1;
        if link.catch_up.failed(now) {
            self.catch_up(peer);
        }
    }

    /// A decoded request, if it decoded and is of this node's namespace (else a counted drop).
    pub(super) fn of_namespace<T>(
        &mut self,
        decoded: Result<(Namespace, T), WireError>,
    ) -> Option<T> {
        match decoded {
            Ok((namespace, request)) if namespace == self.namespace => Some(request),
            Ok(_) => {
                self.stats.drop(DropReason::ForeignNamespace, 1);
                None
            }
            Err(error) => {
                self.stats.drop(DropReason::of_wire(&error), 1);
                None
            }
        }
    }

    /// Starts a catch-up with `peer`, or another one after the one running.
    pub(super) fn catch_up(&mut self, peer: PeerId) {
        if self.config.light {
            // A light node pulls only what it watches (`Watch`); its edge nodes pull from it.
            return;
        }
        let Some(link) = self.peers.get_mut(&peer) else { return };
        if !link.catch_up.want() {
            return;
        }
        let request = self.request_id();
        let (session, first) = SyncSession::start();
        let chunked = self.chunked(&peer);
        if let Some(link) = self.peers.get_mut(&peer) {
            link.catch_up.start(request, session);
            link.confirming = self.unsent.clone();
        }
        let bytes = first.encode(&self.namespace);
        self.actions.push_back(Action::SendRequest { peer, request, bytes, chunked });
    }

    /// Sends a running session's next request.
    pub(super) fn send_next(&mut self, peer: PeerId, session: SyncSession, bytes: Vec<u8>) {
        let request = self.request_id();
        let chunked = self.chunked(&peer);
        if let Some(link) = self.peers.get_mut(&peer) {
            link.catch_up.resume(request, session);
        }
        self.actions.push_back(Action::SendRequest { peer, request, bytes, chunked });
    }
}
