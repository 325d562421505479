//! Catch-up (anti-entropy) between two replicas, sans-io. Each entry gets a key hash (blake3 of
//! its key) that places it in a fixed 16-ary tree three levels deep (4,096 leaves), and a
//! digest (blake3 of key and counter); every tree node's digest is the XOR of its entries'.
//! The initiator pulls: it compares the responder's digests with its own level by level,
//! descends only where they differ, compares per-entry summaries of the differing leaves, and
//! fetches only the entries that differ. Where the initiator holds nothing below a differing
//! node (a fresh node: everywhere) it skips the descent and asks for the node's whole key-hash
//! range, page by page. Both sides of a connection run a session, so each ends up with what
//! the other had. Bytes grow with the difference, not with the state.
//!
//! No I/O here: [`SyncSession`] turns responses into the next request, [`SyncRequest::answer_from`]
//! turns a request into a response out of a replica. Responses are capped; the initiator asks again for what a
//! response left out, so every message stays under the wire limit.

use std::collections::{HashMap, HashSet, VecDeque};

use super::digest::{self, DEPTH, FANOUT, LEAVES};
use super::ids::EntryKey;
use super::replica::Replica;
use super::seal::Sealed;

pub use super::digest::Summary;

/// The most node indices, leaf indices or key hashes one request may name.
pub const MAX_REQUEST_ITEMS: usize = 8192;
/// The most entry summaries one response carries (16 bytes each).
pub const MAX_RESPONSE_SUMMARIES: usize = 32_768;
/// The most entries one response answers for (each with one leaf, or two for a counter whose
/// writer signed divergent versions); a responder answers fewer when their groups would not
/// fit in [`RESPONSE_BYTES`].
pub const MAX_RESPONSE_ENTRIES: usize = 4096;
/// The size a responder keeps an entries response under (the message limit is 1 MiB).
pub(crate) const RESPONSE_BYTES: usize = 960 * 1024;

/// What the initiator asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncRequest {
    /// The digests of the children of these nodes at `level` (0 is the root).
    Children {
        /// The level of the named nodes, 0 to 2.
        level: u8,
        /// Their indices within the level.
        indices: Vec<u32>,
    },
    /// The summaries of the entries in these leaves.
    Leaves {
        /// Leaf indices.
        indices: Vec<u32>,
    },
    /// The entries whose keys hash to these values.
    Fetch {
        /// Key hashes.
        key_hashes: Vec<u64>,
    },
    /// Every entry whose key hash lies in `from..=to`, in key-hash order, as many as a
    /// response holds.
    Range {
        /// The first key hash of the range.
        from: u64,
        /// The last key hash of the range.
        to: u64,
    },
}

/// What the responder answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncResponse {
    /// 16 digests (the children) per requested node, in request order.
    Children {
        /// The digests.
        digests: Vec<u64>,
    },
    /// Per requested leaf, in request order, its summaries sorted by key hash. May cover only
    /// the first leaves requested; the initiator asks again for the rest.
    Leaves {
        /// The summaries of the first `leaves.len()` requested leaves.
        leaves: Vec<Vec<Summary>>,
    },
    /// The entries for the first `answered` requested key hashes.
    Entries {
        /// How many of the requested key hashes this answers (in request order).
        answered: u32,
        /// Their entries, as leaves sealed by their writers.
        entries: Vec<Sealed>,
    },
    /// The entries of a range from its start up to `resume` (not included), or to its end
    /// if `resume` is `None`.
    Range {
        /// Where the rest of the range starts, if the response could not hold it all.
        resume: Option<u64>,
        /// The entries, as leaves sealed by their writers.
        entries: Vec<Sealed>,
    },
}

impl SyncResponse {
    /// How many digests, summaries or entries it carries: what building it costs.
    pub fn items(&self) -> usize {
        match self {
            Self::Children { digests } => digests.len(),
            Self::Leaves { leaves } => leaves.iter().map(Vec::len).sum(),
            Self::Entries { entries, .. } | Self::Range { entries, .. } => {
                entries.iter().map(|group| group.leaves.len()).sum()
            }
        }
    }
}

/// Why a sync request or response could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A node index does not exist at its level.
    #[error("node index {index} does not exist at level {level}")]
    BadIndex {
        /// The level.
        level: u8,
        /// The index.
        index: u32,
    },
    /// A request named more items than [`MAX_REQUEST_ITEMS`], or none.
    #[error("request names {0} items, expected 1 to {MAX_REQUEST_ITEMS}")]
    ItemCount(usize),
    /// A request whose indices or key hashes are not in strictly increasing order (one
    /// repeated, or out of order).
    #[error("request items are not in strictly increasing order")]
    NotIncreasing,
    /// A range request whose first key hash lies after its last.
    #[error("empty key-hash range {from}..={to}")]
    EmptyRange {
        /// The first key hash.
        from: u64,
        /// The last key hash.
        to: u64,
    },
    /// A response does not answer the request it was given for.
    #[error("unexpected response: {0}")]
    Unexpected(&'static str),
}

/// The initiator's next move.
#[derive(Debug, Default)]
pub struct SyncStep {
    /// Sealed leaves the last response delivered, to be merged (verified) by the caller: only
    /// groups whose every leaf was asked for, at most two leaves per key hash answered.
    pub fetched: Vec<Sealed>,
    /// Leaves the last response carried in groups with leaves not asked for (dropped).
    pub unsolicited: usize,
    /// The next request to send, or `None` when the catch-up is complete.
    pub next: Option<SyncRequest>,
    /// Entries of the initiator's own writer that the responder was found not to hold as the
    /// initiator does (in the leaves compared): to send it again.
    pub lacking: Vec<EntryKey>,
}

/// The initiator's side of one catch-up.
#[derive(Debug)]
pub struct SyncSession {
    pending: SyncRequest,
    /// Differing leaves whose summaries are still to be asked for.
    leaves: VecDeque<u32>,
    /// Key hashes of differing entries still to be fetched.
    wanted: VecDeque<u64>,
    /// Key-hash ranges (first, last) the initiator holds nothing of, still to be fetched.
    ranges: VecDeque<(u64, u64)>,
    rounds: u32,
}

impl SyncSession {
    /// Starts a catch-up: the first request asks for the digests below the root.
    pub fn start() -> (Self, SyncRequest) {
        let request = SyncRequest::Children { level: 0, indices: vec![0] };
        let session = Self {
            pending: request.clone(),
            leaves: VecDeque::new(),
            wanted: VecDeque::new(),
            ranges: VecDeque::new(),
            rounds: 1,
        };
        (session, request)
    }

    /// Round trips so far (requests sent).
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// Takes the response to the last request: returns the entries it delivered and the next
    /// request, if any. `replica` is the initiator's own, compared against the response.
    pub fn handle(
        &mut self,
        replica: &mut Replica,
        response: SyncResponse,
    ) -> Result<SyncStep, SyncError> {
        let (mut fetched, mut unsolicited, mut lacking) = (Vec::new(), 0, Vec::new());
        match (self.pending.clone(), response) {
            (SyncRequest::Children { level, indices }, SyncResponse::Children { digests }) => {
                if let Some(next) = self.compare_children(replica, level, &indices, digests)? {
                    return Ok(self.send(next, fetched, unsolicited));
                }
            }
            (SyncRequest::Leaves { indices }, SyncResponse::Leaves { leaves }) => {
                lacking = self.compare_leaves(replica, indices.len(), &leaves)?;
            }
            (SyncRequest::Fetch { key_hashes }, SyncResponse::Entries { answered, entries }) => {
                (fetched, unsolicited) = self.take_fetched(&key_hashes, answered, entries)?;
            }
            (SyncRequest::Range { from, to }, SyncResponse::Range { resume, entries }) => {
                (fetched, unsolicited) = self.take_range(from, to, resume, entries)?;
            }
            _ => return Err(SyncError::Unexpected("response of another kind than the request")),
        }
        Ok(match self.next_request() {
            Some(next) => SyncStep { lacking, ..self.send(next, fetched, unsolicited) },
            None => SyncStep { fetched, unsolicited, next: None, lacking },
        })
    }

    /// Compares a level of digests with this replica's: the next level's request where they
    /// differ, if there is one; differing leaves and ranges held nothing of are kept for later.
    fn compare_children(
        &mut self,
        replica: &mut Replica,
        level: u8,
        indices: &[u32],
        digests: Vec<u64>,
    ) -> Result<Option<SyncRequest>, SyncError> {
        if digests.len() != indices.len() * FANOUT as usize {
            return Err(SyncError::Unexpected("wrong number of digests"));
        }
        let tree = replica.digest_tree();
        let child_level = level + 1;
        let mut differing: Vec<u32> = Vec::new();
        for (child, theirs) in
            indices.iter().flat_map(|&i| (0..FANOUT).map(move |c| i * FANOUT + c)).zip(digests)
        {
            if tree.digest(child_level, child) == theirs {
                continue;
            }
            if !tree.is_empty(child_level, child) {
                differing.push(child);
                continue;
            }
            // Nothing held below: all of the peer's entries there are wanted.
            let (first, last) = digest::span(child_level, child);
            match self.ranges.back_mut() {
                Some(range) if range.1.checked_add(1) == Some(first) => range.1 = last,
                _ => self.ranges.push_back((first, last)),
            }
        }
        if child_level >= DEPTH {
            self.leaves.extend(differing);
            Ok(None)
        } else if differing.is_empty() {
            Ok(None)
        } else {
            Ok(Some(SyncRequest::Children { level: child_level, indices: differing }))
        }
    }

    /// Compares leaves' summaries with this replica's: what differs is wanted; this writer's
    /// own entries the peer lacks are returned.
    fn compare_leaves(
        &mut self,
        replica: &mut Replica,
        asked: usize,
        leaves: &[Vec<Summary>],
    ) -> Result<Vec<EntryKey>, SyncError> {
        if leaves.len() > asked {
            return Err(SyncError::Unexpected("wrong number of leaves"));
        }
        if leaves.is_empty() {
            // The first leaf asked has more entries than a response summarises (only ground
            // key hashes make one): fetch its whole key-hash range instead.
            if let Some(index) = self.leaves.pop_front() {
                self.ranges.push_back(digest::span(DEPTH, index));
            }
        }
        let own = replica.local_writer();
        let tree = replica.digest_tree();
        let (mut wanted, mut lacking) = (Vec::new(), Vec::new());
        for theirs in leaves {
            let Some(index) = self.leaves.pop_front() else { break };
            // Want every entry of theirs that is not exactly what this replica holds.
            wanted.extend(theirs.iter().filter(|item| !tree.holds(item)).map(|item| item.key_hash));
            // And note this writer's own entries they do not hold exactly.
            let (first, last) = digest::span(DEPTH, index);
            let theirs: HashSet<&Summary> = theirs.iter().collect();
            lacking.extend(
                tree.range(first, last)
                    .filter(|(summary, key)| key.writer == own && !theirs.contains(summary))
                    .map(|(_, key)| key.clone()),
            );
        }
        // Asked for in increasing order, each once (two keys may share a hash).
        wanted.sort_unstable();
        wanted.dedup();
        self.wanted.extend(wanted);
        Ok(lacking)
    }

    /// Takes the groups answering a fetch of `key_hashes` (its first `answered`): a leaf not
    /// asked for takes its whole group with it (its proof covers them all), counted unsolicited.
    fn take_fetched(
        &mut self,
        key_hashes: &[u64],
        answered: u32,
        entries: Vec<Sealed>,
    ) -> Result<(Vec<Sealed>, usize), SyncError> {
        let answered = answered as usize;
        if answered == 0 || answered > key_hashes.len() {
            return Err(SyncError::Unexpected("fetch answered no or too many keys"));
        }
        let asked: HashSet<u64> = key_hashes[..answered].iter().copied().collect();
        self.wanted.drain(..answered);
        let (mut fetched, mut unsolicited) = (Vec::new(), 0);
        let mut budget = 2 * answered;
        for group in entries {
            let writer = group.writer;
            let all_asked = group
                .leaves
                .iter()
                .all(|(_, leaf)| asked.contains(&digest::key_hash(&leaf.key(writer))));
            if all_asked && group.leaves.len() <= budget {
                budget -= group.leaves.len();
                fetched.push(group);
            } else {
                unsolicited += group.leaves.len();
            }
        }
        Ok((fetched, unsolicited))
    }

    /// Takes the groups answering a range `from..=to` up to `resume`: only keys of the range
    /// answered, at most two leaves per key, at most as many keys as a response holds.
    fn take_range(
        &mut self,
        from: u64,
        to: u64,
        resume: Option<u64>,
        entries: Vec<Sealed>,
    ) -> Result<(Vec<Sealed>, usize), SyncError> {
        let last = match resume {
            None => to,
            Some(resume) if resume > from && resume <= to && !entries.is_empty() => resume - 1,
            Some(_) => return Err(SyncError::Unexpected("a range response without progress")),
        };
        match (self.ranges.front_mut(), resume) {
            (Some(range), Some(resume)) => range.0 = resume,
            _ => drop(self.ranges.pop_front()),
        }
        let (mut fetched, mut unsolicited) = (Vec::new(), 0);
        let mut per_key: HashMap<u64, usize> = HashMap::new();
        for group in entries {
            let writer = group.writer;
            let hashes: Vec<u64> =
                group.leaves.iter().map(|(_, leaf)| digest::key_hash(&leaf.key(writer))).collect();
            let in_range = hashes.iter().all(|hash| (from..=last).contains(hash));
            if in_range {
                for &hash in &hashes {
                    *per_key.entry(hash).or_default() += 1;
                }
            }
            if in_range
                && per_key.len() <= MAX_RESPONSE_ENTRIES
                && hashes.iter().all(|hash| per_key[hash] <= 2)
            {
                fetched.push(group);
            } else {
                unsolicited += group.leaves.len();
            }
        }
        Ok((fetched, unsolicited))
    }

    /// The next request: wanted entries first, then ranges, then leaves' summaries.
    fn next_request(&self) -> Option<SyncRequest> {
        if !self.wanted.is_empty() {
            let take = self.wanted.len().min(MAX_REQUEST_ITEMS);
            Some(SyncRequest::Fetch {
                key_hashes: self.wanted.iter().take(take).copied().collect(),
            })
        } else if let Some(&(from, to)) = self.ranges.front() {
            Some(SyncRequest::Range { from, to })
        } else if !self.leaves.is_empty() {
            let take = self.leaves.len().min(MAX_REQUEST_ITEMS);
            Some(SyncRequest::Leaves { indices: self.leaves.iter().take(take).copied().collect() })
        } else {
            None
        }
    }

    fn send(&mut self, next: SyncRequest, fetched: Vec<Sealed>, unsolicited: usize) -> SyncStep {
        self.rounds += 1;
        self.pending = next.clone();
        SyncStep { fetched, unsolicited, next: Some(next), lacking: Vec::new() }
    }
}

impl SyncRequest {
    /// Answers this request (from a peer) out of `replica`. Responses are capped
    /// ([`MAX_RESPONSE_SUMMARIES`], [`MAX_RESPONSE_ENTRIES`]); the peer asks again for the rest.
    pub fn answer_from(&self, replica: &mut Replica) -> Result<SyncResponse, SyncError> {
        self.answer_within(replica, MAX_RESPONSE_SUMMARIES)
    }

    /// [`Self::answer_from`] with at most `summaries` summaries in a leaves response.
    fn answer_within(
        &self,
        replica: &mut Replica,
        summaries: usize,
    ) -> Result<SyncResponse, SyncError> {
        let count = match self {
            SyncRequest::Children { indices, .. } | SyncRequest::Leaves { indices } => {
                indices.len()
            }
            SyncRequest::Fetch { key_hashes } => key_hashes.len(),
            SyncRequest::Range { .. } => 1,
        };
        if count == 0 || count > MAX_REQUEST_ITEMS {
            return Err(SyncError::ItemCount(count));
        }
        // Each item once: a repeated index would multiply the answer at no cost to the asker.
        let increasing = match self {
            SyncRequest::Children { indices, .. } | SyncRequest::Leaves { indices } => {
                indices.is_sorted_by(|a, b| a < b)
            }
            SyncRequest::Fetch { key_hashes } => key_hashes.is_sorted_by(|a, b| a < b),
            SyncRequest::Range { .. } => true,
        };
        if !increasing {
            return Err(SyncError::NotIncreasing);
        }
        let tree = replica.digest_tree();
        match self {
            SyncRequest::Children { level, indices } => {
                let mut digests = Vec::with_capacity(indices.len() * FANOUT as usize);
                for &index in indices {
                    if *level >= DEPTH || index >= FANOUT.pow(u32::from(*level)) {
                        return Err(SyncError::BadIndex { level: *level, index });
                    }
                    let first = index * FANOUT;
                    digests.extend((first..first + FANOUT).map(|c| tree.digest(level + 1, c)));
                }
                Ok(SyncResponse::Children { digests })
            }
            SyncRequest::Leaves { indices } => {
                // Whole leaves, as many as fit. A leaf that fits in no response is not
                // summarised: answered first, it makes an empty answer, and the initiator
                // fetches its key-hash range page by page instead.
                let mut leaves = Vec::new();
                let mut budget = summaries;
                for &index in indices {
                    if index >= LEAVES {
                        return Err(SyncError::BadIndex { level: DEPTH, index });
                    }
                    let leaf = tree.leaf(index);
                    if leaf.len() > budget {
                        break;
                    }
                    budget -= leaf.len();
                    leaves.push(leaf.collect());
                }
                Ok(SyncResponse::Leaves { leaves })
            }
            SyncRequest::Fetch { key_hashes } => {
                let mut keys = Vec::new();
                let mut ends = Vec::new();
                for hash in key_hashes {
                    let found: Vec<&EntryKey> = tree.keys_with_hash(*hash).collect();
                    if keys.len() + found.len() > MAX_RESPONSE_ENTRIES && !ends.is_empty() {
                        break;
                    }
                    keys.extend(found.into_iter().cloned());
                    ends.push(keys.len());
                }
                let (answered, entries) = fitting(replica, &keys, &ends, RESPONSE_BYTES);
                let answered = u32::try_from(answered).unwrap_or(u32::MAX);
                Ok(SyncResponse::Entries { answered, entries })
            }
            &SyncRequest::Range { from, to } => {
                if from > to {
                    return Err(SyncError::EmptyRange { from, to });
                }
                // Whole key hashes only: where one ends, the next response may resume.
                let (mut keys, mut ends, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
                let mut rest = None;
                for (summary, key) in tree.range(from, to) {
                    if hashes.last() != Some(&summary.key_hash) {
                        if keys.len() >= MAX_RESPONSE_ENTRIES {
                            rest = Some(summary.key_hash);
                            break;
                        }
                        if !hashes.is_empty() {
                            ends.push(keys.len());
                        }
                        hashes.push(summary.key_hash);
                    }
                    keys.push(key.clone());
                }
                if keys.is_empty() {
                    return Ok(SyncResponse::Range { resume: None, entries: Vec::new() });
                }
                ends.push(keys.len());
                let (answered, entries) = fitting(replica, &keys, &ends, RESPONSE_BYTES);
                let resume = if answered < hashes.len() { Some(hashes[answered]) } else { rest };
                Ok(SyncResponse::Range { resume, entries })
            }
        }
    }
}

/// The entries of the first parts (key hashes, tweets) whose groups fit in `budget` bytes (the
/// proofs of many seals may not): how many parts that is (at least one), and the groups.
/// `ends[i]` is where the keys of the `i`th part end in `keys`.
pub(crate) fn fitting(
    replica: &Replica,
    keys: &[EntryKey],
    ends: &[usize],
    budget: usize,
) -> (usize, Vec<Sealed>) {
    let mut answered = ends.len();
    loop {
        let entries = replica.sealed(&keys[..ends[answered - 1]]);
        let size: usize = entries.iter().map(Sealed::size_bound).sum();
        if size <= budget || answered == 1 {
            return (answered, entries);
        }
        answered /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Generation, Namespace, StatKind, TweetId};
    use crate::proof::{Difficulty, IdentityProof};
    use crate::rules::Rules;
    use crate::signing::Identity;

    fn replica(seed: u8) -> Replica {
        let namespace = Namespace::new("mainnet").expect("valid");
        let rules = Rules { difficulty: Difficulty(0), ..Rules::DEFAULT };
        let mut replica = Replica::new(
            namespace,
            rules,
            Identity::from_secret([seed; 32]),
            Generation([seed; 16]),
        );
        replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
        replica
    }

    /// A leaf with more entries than a response summarises (here more than one) is fetched by
    /// its key-hash range, whether it comes first in a request or after leaves that fit.
    #[test]
    fn leaves_too_large_to_summarise_are_fetched_by_range() {
        let mut writer = replica(1);
        for i in 0..3000 {
            let tweet = TweetId::new(format!("tweet-{i}")).expect("valid");
            writer.increment(&tweet, StatKind::Likes).expect("within bounds");
        }
        let keys: Vec<EntryKey> = writer.entries().map(|entry| entry.key).collect();
        let mut full = replica(2);
        full.merge(&writer.namespace().clone(), writer.sealed(&keys));
        let mut behind = replica(3);
        behind.merge(&writer.namespace().clone(), writer.sealed(&keys[300..]));

        let (mut session, mut request) = SyncSession::start();
        let (mut ranges, mut empty_answers) = (0, 0);
        loop {
            ranges += usize::from(matches!(request, SyncRequest::Range { .. }));
            let response = request.answer_within(&mut full, 1).expect("answered");
            if let SyncResponse::Leaves { leaves } = &response {
                assert!(leaves.iter().all(|leaf| leaf.len() <= 1));
                empty_answers += usize::from(leaves.is_empty());
            }
            let step = session.handle(&mut behind, response).expect("accepted");
            assert_eq!(step.unsolicited, 0);
            assert!(behind.merge(&full.namespace().clone(), step.fetched).rejected.is_empty());
            match step.next {
                Some(next) => request = next,
                None => break,
            }
            assert!(session.rounds() < 1000, "catch-up does not end");
        }
        assert!(empty_answers > 0 && ranges >= empty_answers, "{empty_answers} {ranges}");
        assert_eq!(behind.len(), 3000);
        assert_eq!(behind.sync_digest(), full.sync_digest());
    }
}
