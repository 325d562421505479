//! The light-node protocol's inputs and outputs. An edge node answers `Watch`, `Unwatch` and
//! `Contributions` out of its replica (answers spend the asker's answer allowance, as catch-up
//! answers do) and pushes each light node what changed on the tweets it watches. A light node
//! asks its edge nodes for what it watches, takes in their answers and pushes once checked
//! ([`check_from_edge`]: only what it asked for or watches, tallies only signed by that edge
//! node), and refuses the requests only edge nodes answer. The books are [`Light`]'s.

use std::collections::BTreeSet;
use std::time::Duration;

use libp2p::PeerId;
use web_time::Instant;

use super::catch_up::RequestId;
use super::stats::DropReason;
use super::{Action, MAX_DISTRUSTED, MergeFrom, Protocol, Reply, VerifyError};
use warpnet_stats_core::{
    NodeId, Replica, TweetId, Writer,
    light::{LightRequest, LightResponse, Tallied, Verification, check_from_edge, update_for},
    seal::Sealed,
};

#[cfg(doc)]
use super::PeerConfig;
#[cfg(doc)]
use super::light::Light;
use super::light::{Ask, TALLY_ANSWER_ITEMS};

/// How many times a tally is checked before a mismatch stands.
const TALLY_CHECKS: u32 = 3;
/// How long after a mismatch a tally is checked again.
const RECHECK_AFTER: Duration = Duration::from_millis(250);

impl Protocol {
    /// This light node shows `tweets`: their entries (or tallies) are asked of every edge node
    /// it is connected to, and those push it what changes on them from now on.
    pub fn watch(&mut self, tweets: &[TweetId], now: Instant) {
        self.light.want(tweets, now);
    }

    /// This light node no longer shows `tweets` (one watch of them ended; watches nest): once
    /// no watch of a tweet is left, its edge nodes are told to stop pushing it, from `now`.
    pub fn unwatch(&mut self, tweets: &[TweetId], now: Instant) {
        self.light.unwant(tweets, now);
    }

    /// A light-protocol request from `peer`, answered out of `replica`; `None` (and a counted
    /// drop) if it is malformed, of another namespace, not one this node answers (edge nodes
    /// answer `Watch`, `Unwatch` and `Contributions`, light nodes `Update`), or beyond the
    /// peer's answer allowance.
    pub fn handle_light_request(
        &mut self,
        peer: PeerId,
        data: &[u8],
        replica: &Replica,
        now: Instant,
    ) -> Option<Reply> {
        self.stats.received_bytes += data.len() as u64;
        let request = self.of_namespace(LightRequest::decode(data))?;
        let light = self.config.light;
        let response = match &request {
            LightRequest::Update { entries, tallies } if light => {
                self.take_from_edge(peer, entries.clone(), tallies.clone(), None, replica);
                LightResponse::Done
            }
            LightRequest::Unwatch { tweets } if !light => {
                self.ingest.answered(self.who(peer), tweets.len(), now);
                self.light.unwatch(peer, Some(tweets));
                self.stats.watches = self.light.watches() as u64;
                LightResponse::Done
            }
            LightRequest::Watch { .. } | LightRequest::Contributions { .. } if !light => {
                let named = match &request {
                    LightRequest::Watch { node, .. } => *node,
                    _ => None,
                };
                let Some(asker) = named.or_else(|| NodeId::from_peer_id(peer).ok()) else {
                    self.stats.drop(DropReason::BadLightRequest, 1);
                    return None;
                };
                let who = self.who(peer);
                if !self.ingest.may_answer(who, now) {
                    self.refuse(peer);
                    return None;
                }
                self.answering(peer);
                // Every tweet asked costs an item; a page of a tweet's writers, a pass over
                // its counters too (about a sixteenth of an entry's answer each).
                let mut asked = 1;
                if let LightRequest::Contributions { tweet, .. } = &request {
                    asked += replica.tweet_len(tweet, None) / 16;
                }
                if let LightRequest::Watch { generation, tweets, .. } = &request {
                    let ids: Vec<TweetId> = tweets.iter().map(|(t, _)| t.clone()).collect();
                    let writer = Writer { node: asker, generation: *generation };
                    let refused = self.light.watch(peer, who.ip, writer, &ids, self.config.watches);
                    self.stats.drop(DropReason::WatchLimit, refused as u64);
                    self.stats.watches = self.light.watches() as u64;
                    asked = ids.len();
                }
                let response = request.answer_from(replica, asker, &mut self.tallies);
                let items = asked + answer_items(&response, self.tallies.take_signed());
                self.ingest.answered(who, items, now);
                response
            }
            _ => {
                self.stats.drop(DropReason::BadLightRequest, 1);
                return None;
            }
        };
        Some(Reply { bytes: response.encode(&self.namespace), chunked: self.chunked(&peer) })
    }

    /// The response to a light-protocol request this node sent to `peer`: a `Watch`'s entries
    /// and tallies are checked and taken in, its `later` tweets asked again; a push's
    /// acknowledgement lets the next push go.
    pub fn handle_light_response(
        &mut self,
        peer: PeerId,
        request: RequestId,
        data: &[u8],
        replica: &Replica,
        now: Instant,
    ) {
        self.stats.received_bytes += data.len() as u64;
        if self.light.push_done(peer, request, now + self.config.light_push) {
            return;
        }
        let retry_at = now + self.config.sync_retry;
        if self.light.unwatch_done(peer, request, false, now, retry_at) {
            return;
        }
        if let Some((edge, verification)) = self.verifications.remove(&request) {
            let step = LightResponse::decode(data).map_err(VerifyError::from);
            self.verification_step(edge, verification, step);
            return;
        }
        let response = LightResponse::decode(data);
        let later = match &response {
            Ok(LightResponse::Tweets { later, .. }) => Some(later.as_slice()),
            _ => None,
        };
        let Some(asked) = self.light.answered(peer, request, later, now, retry_at) else { return };
        let taken = match response {
            Ok(LightResponse::Tweets { entries, tallies, later }) => {
                let mut answered = asked.clone();
                for tweet in &later {
                    answered.remove(tweet);
                }
                let mut untallied = answered.clone();
                for tallied in &tallies {
                    untallied.remove(&tallied.tally.tweet);
                }
                let answered = answered.into_iter().collect();
                let from_edge = Some((&asked, untallied.into_iter().collect(), answered));
                self.take_from_edge(peer, entries, tallies, from_edge, replica)
            }
            Ok(_) => {
                self.stats.drop(DropReason::BadLightResponse, 1);
                false
            }
            Err(error) => {
                self.stats.drop(DropReason::of_wire(&error), 1);
                false
            }
        };
        if taken {
            // What this light node shows is current as of now.
            self.stats.last_sync = Some(now);
        } else {
            // Refused: its tweets are asked again, as after a failed request.
            self.light.ask_again(peer, &asked, retry_at);
        }
    }

    /// `peer` does not speak this light protocol's version (a light request to it failed as
    /// unsupported; [`Protocol::handle_light_failed`] follows): counted, so the page can say
    /// its edge node is too old.
    pub fn handle_light_unsupported(&mut self, peer: PeerId) {
        self.stats.light_unsupported += 1;
        tracing::warn!(%peer, "the edge node does not speak /warpnet/stats-light/2");
    }

    /// A light-protocol request to `peer` failed: a push lets the next go after the push
    /// interval (what it carried is lost to the light node until it asks again); a `Watch`
    /// is asked again after the catch-up retry wait.
    pub fn handle_light_failed(&mut self, peer: PeerId, request: RequestId, now: Instant) {
        if let Some((_, verification)) = self.verifications.remove(&request) {
            let tweet = verification.tweet().clone();
            let outcome = Err(VerifyError::NoAnswer(peer));
            self.actions.push_back(Action::Verified { tweet, edge: Some(peer), outcome });
        } else if !self.light.push_done(peer, request, now + self.config.light_push) {
            let retry_at = now + self.config.sync_retry;
            if !self.light.unwatch_done(peer, request, true, now, retry_at) {
                self.light.answered(peer, request, None, now, retry_at);
            }
        }
    }

    /// This light node checks what its edge node holds of `tweet`, from `at`: every writer's
    /// entries of it, fetched page by page and checked ([`Verification`]); [`Action::Verified`]
    /// tells their figures (to compare with the edge node's tally), or why there are none. A
    /// full node tells the figures of what it holds (every writer's entries it received).
    pub fn verify(&mut self, tweet: TweetId, at: Instant) {
        self.light.check_later(tweet, at);
    }

    /// Starts the tally checks due at `now`.
    fn start_verifications(&mut self, replica: &Replica, now: Instant) {
        for tweet in self.light.take_to_verify(now) {
            if !self.config.light {
                let outcome = Ok(replica.figures(&tweet));
                self.actions.push_back(Action::Verified { tweet, edge: None, outcome });
                continue;
            }
            let Some(edge) = self.light.edges().next().copied() else {
                let outcome = Err(VerifyError::NoEdgeNode);
                self.actions.push_back(Action::Verified { tweet, edge: None, outcome });
                continue;
            };
            let (verification, first) = Verification::start(replica, tweet);
            let request = self.send_light(edge, first.encode(&self.namespace));
            self.verifications.insert(request, (edge, verification));
        }
    }

    fn verification_step(
        &mut self,
        edge: PeerId,
        mut verification: Verification,
        page: Result<LightResponse, VerifyError>,
    ) {
        let step = page.and_then(|page| Ok(verification.handle(page)?));
        let outcome = match step {
            Ok(Some(next)) => {
                let request = self.send_light(edge, next.encode(&self.namespace));
                self.verifications.insert(request, (edge, verification));
                return;
            }
            Ok(None) if verification.rejected() > 0 => {
                Err(VerifyError::Rejected(verification.rejected()))
            }
            Ok(None) => Ok(verification.figures()),
            Err(error) => {
                self.stats.drop(DropReason::BadLightResponse, 1);
                Err(error)
            }
        };
        let tweet = verification.tweet().clone();
        self.actions.push_back(Action::Verified { tweet, edge: Some(edge), outcome });
    }

    /// A check of `tweet` with `edge` ended; `mismatch`: its figures do not make the tally
    /// held. A tally is a snapshot and the tweet may have moved since (the edge node pushes
    /// the next within [`PeerConfig::light_push`]), so a mismatch is checked again after
    /// 250 ms, three times in all. Returns whether the outcome stands:
    /// `false` while it is checked again; after the last mismatch the edge node is distrusted
    /// ([`Protocol::distrust`]).
    pub fn tally_checked(
        &mut self,
        tweet: &TweetId,
        edge: Option<PeerId>,
        mismatch: bool,
        now: Instant,
    ) -> bool {
        if !mismatch || self.light.mismatched(tweet) >= TALLY_CHECKS {
            self.light.checked(tweet);
            if let Some(edge) = edge.filter(|_| mismatch) {
                self.distrust(edge);
            }
            return true;
        }
        self.light.check_later(tweet.clone(), now + RECHECK_AFTER);
        false
    }

    /// Refuses every tally `edge` sends from now on (one of its tallies did not match the
    /// entries it served): its tweets are shown from the entries this node holds.
    pub fn distrust(&mut self, edge: PeerId) {
        if self.distrusted.len() < MAX_DISTRUSTED {
            self.distrusted.insert(edge);
        }
    }

    /// Sends the pushes and `Watch`es due at `now`.
    pub(super) fn light_due(&mut self, replica: &Replica, now: Instant) {
        self.start_verifications(replica, now);
        for peer in self.light.pushes_due(now) {
            // Work done for the light node: charged to its answer allowance like an answer it
            // asked for, and held back while that is spent.
            let who = self.who(peer);
            if !self.ingest.may_answer(who, now) {
                self.light.defer(peer, now + self.config.light_push);
                continue;
            }
            let Some((writer, owed)) = self.light.owed(peer) else { continue };
            let (push, covered) = update_for(replica, writer, &owed, &mut self.tallies);
            let covered: Vec<TweetId> = owed.into_iter().take(covered).map(|(t, _)| t).collect();
            if let LightRequest::Update { entries, tallies } = &push {
                let items = leaves(entries) + tallies.len();
                self.ingest.answered(
                    who,
                    items + self.tallies.take_signed() * TALLY_ANSWER_ITEMS,
                    now,
                );
            }
            let request = self.send_light(peer, push.encode(&self.namespace));
            self.light.pushed(peer, &covered, request);
            self.stats.light_pushes += 1;
        }
        let local = Some(replica.local_writer());
        for (peer, ask) in self.light.asks_due(now) {
            match ask {
                Ask::Watch(tweets) => {
                    let digests =
                        tweets.iter().map(|t| (t.clone(), replica.tweet_digest(t, local)));
                    let Writer { node, generation } = replica.local_writer();
                    let digests = digests.collect();
                    let watch =
                        LightRequest::Watch { node: Some(node), generation, tweets: digests };
                    let request = self.send_light(peer, watch.encode(&self.namespace));
                    self.light.asked(peer, tweets, request);
                }
                Ask::Unwatch(tweets) => {
                    let unwatch = LightRequest::Unwatch { tweets: tweets.clone() };
                    let request = self.send_light(peer, unwatch.encode(&self.namespace));
                    self.light.unwatch_sent(peer, tweets, request);
                }
            }
        }
    }

    fn send_light(&mut self, peer: PeerId, bytes: Vec<u8>) -> RequestId {
        let request = self.request_id();
        let chunked = self.chunked(&peer);
        self.actions.push_back(Action::SendLight { peer, request, bytes, chunked });
        request
    }

    /// Entries and tallies from the edge node `peer`, checked against `asked` (a `Watch`'s
    /// tweets, those it answered without a tally, and those it answered) or, for a push, what
    /// this node watches now (other items are dropped as unsolicited; a bad tally drops them
    /// all), then handed out to keep and to merge. Returns whether they checked.
    fn take_from_edge(
        &mut self,
        peer: PeerId,
        mut entries: Vec<Sealed>,
        mut tallies: Vec<Tallied>,
        asked: Option<(&BTreeSet<TweetId>, Vec<TweetId>, Vec<TweetId>)>,
        replica: &Replica,
    ) -> bool {
        let Ok(edge) = NodeId::from_peer_id(peer) else { return false };
        let (asked, untallied, mut answered) = match asked {
            Some((asked, untallied, answered)) => (Some(asked), untallied, answered),
            None => (None, Vec::new(), Vec::new()),
        };
        if self.distrusted.contains(&peer) && !tallies.is_empty() {
            tracing::warn!(%peer, "tallies from an edge node whose tally did not check refused");
            self.stats.drop(DropReason::BadLightResponse, 1);
            // Their tweets are not loaded by this answer: only the counters held here show.
            let tallied: BTreeSet<&TweetId> = tallies.iter().map(|t| &t.tally.tweet).collect();
            answered.retain(|t| !tallied.contains(t));
            tallies.clear();
        }
        let checked = match asked {
            Some(asked) => check_from_edge(replica, edge, asked, &entries, &tallies, &[]),
            None => {
                let before = leaves(&entries) + tallies.len();
                entries = self.wanted(entries);
                tallies.retain(|t| self.light.wants(&t.tally.tweet));
                let dropped = before - leaves(&entries) - tallies.len();
                self.stats.drop(DropReason::Unsolicited, dropped as u64);
                let watched: BTreeSet<TweetId> =
                    tallies.iter().map(|t| t.tally.tweet.clone()).collect();
                check_from_edge(replica, edge, &watched, &[], &tallies, &[])
            }
        };
        if let Err(error) = checked {
            tracing::warn!(%peer, %error, "light answer refused");
            self.stats.drop(DropReason::BadLightResponse, 1);
            return false;
        }
        if asked.is_some() {
            // Tweets unwatched while the answer was on its way: no updates after the last
            // unwatch, so it is let go.
            entries = self.wanted(entries);
            tallies.retain(|t| self.light.wants(&t.tally.tweet));
            answered.retain(|t| self.light.wants(t));
        }
        let unproven = self.drop_unproven(&mut entries, replica);
        self.stats.drop(DropReason::NoIdentityProof, unproven as u64);
        if !tallies.is_empty() || !untallied.is_empty() {
            self.stats.tallies_received += tallies.len() as u64;
            self.actions.push_back(Action::Tallies { from: peer, tallies, untallied });
        }
        // A merge, even of nothing, for an answer: its tweets are current once it is done.
        if !entries.is_empty() || !answered.is_empty() {
            let from = MergeFrom::Light { peer, answered };
            self.actions.push_back(Action::Merge { from, entries });
        }
        true
    }
}

impl Protocol {
    /// The leaves of tweets this light node watches, each group's proof made anew for the
    /// leaves it keeps ([`Sealed::narrowed`]: a group's proof covers its leaves together).
    fn wanted(&self, entries: Vec<Sealed>) -> Vec<Sealed> {
        let wants = |leaf: &warpnet_stats_core::seal::Leaf| self.light.wants(&leaf.tweet);
        entries.into_iter().filter_map(|group| group.narrowed(wants)).collect()
    }
}

fn leaves(entries: &[Sealed]) -> usize {
    entries.iter().map(|group| group.leaves.len()).sum()
}

/// What building `response` cost, in answer items: an entry one, a tally one plus, for each
/// of the `signed` tallies signed for it (rather than kept from before), its signature
/// ([`TALLY_ANSWER_ITEMS`]).
fn answer_items(response: &LightResponse, signed: usize) -> usize {
    let built = match response {
        LightResponse::Tweets { entries, tallies, .. } => leaves(entries) + tallies.len(),
        LightResponse::Page { entries, .. } => leaves(entries),
        LightResponse::Done => 0,
    };
    built + signed * TALLY_ANSWER_ITEMS
}
