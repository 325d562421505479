//! Catch-up (anti-entropy) between two replicas, sans-io. Each entry gets a key hash (blake3 of
//! its key) that places it in a fixed 16-ary tree three levels deep (4,096 leaves), and a
//! digest (blake3 of key and counter); every tree node's digest is the XOR of its entries'.
//! The initiator pulls: it compares the responder's digests with its own level by level,
//! descends only where they differ, compares per-entry summaries of the differing leaves, and
//! fetches only the entries that differ. Both sides of a connection run a session, so each
//! ends up with what the other had. Bytes grow with the difference, not with the state.
//!
//! No I/O here: [`SyncSession`] turns responses into the next request, [`Replica::answer`]
//! turns a request into a response. Responses are capped; the initiator asks again for what a
//! response left out, so every message stays under the wire limit.

use std::collections::VecDeque;

use super::counter::PnCounter;
use super::ids::EntryKey;
use super::replica::{Replica, SignedEntry};

/// Children per tree node.
pub(crate) const FANOUT: u32 = 16;
/// Levels below the root; the leaves are at this level.
pub(crate) const DEPTH: u8 = 3;
/// Number of leaves (`FANOUT ^ DEPTH`).
pub(crate) const LEAVES: u32 = 4096;
/// The most node indices, leaf indices or key hashes one request may name.
pub const MAX_REQUEST_ITEMS: usize = 8192;
/// The most entry summaries one response carries (16 bytes each).
pub const MAX_RESPONSE_SUMMARIES: usize = 32_768;
/// The most entries one response carries (well under the 1 MiB message limit even with the
/// longest tweet ids).
pub const MAX_RESPONSE_ENTRIES: usize = 2048;

/// One entry as the responder holds it, without its body: where it sits and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Summary {
    /// The hash of the entry's key.
    pub key_hash: u64,
    /// The digest of the entry's key and counter.
    pub digest: u64,
}

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
        /// Their entries, signed by their writers.
        entries: Vec<SignedEntry>,
    },
}

/// Why a sync request or response could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// A response does not answer the request it was given for.
    #[error("unexpected response: {0}")]
    Unexpected(&'static str),
}

/// The initiator's next move.
#[derive(Debug, Default)]
pub struct SyncStep {
    /// Entries the last response delivered, to be merged (verified) by the caller.
    pub fetched: Vec<SignedEntry>,
    /// The next request to send, or `None` when the catch-up is complete.
    pub next: Option<SyncRequest>,
}

/// The initiator's side of one catch-up.
#[derive(Debug)]
pub struct SyncSession {
    pending: SyncRequest,
    /// Differing leaves whose summaries are still to be asked for.
    leaves: VecDeque<u32>,
    /// Key hashes of differing entries still to be fetched.
    wanted: VecDeque<u64>,
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
        let mut fetched = Vec::new();
        match (&self.pending, response) {
            (SyncRequest::Children { level, indices }, SyncResponse::Children { digests }) => {
                if digests.len() != indices.len() * FANOUT as usize {
                    return Err(SyncError::Unexpected("wrong number of digests"));
                }
                let tree = replica.digest_tree();
                let child_level = level + 1;
                let differing: Vec<u32> = indices
                    .iter()
                    .flat_map(|&i| (0..FANOUT).map(move |c| i * FANOUT + c))
                    .zip(digests)
                    .filter(|&(child, theirs)| tree.digest(child_level, child) != theirs)
                    .map(|(child, _)| child)
                    .collect();
                if child_level < DEPTH {
                    if !differing.is_empty() {
                        let next = SyncRequest::Children { level: child_level, indices: differing };
                        return Ok(self.send(next, fetched));
                    }
                } else {
                    self.leaves.extend(differing);
                }
            }
            (SyncRequest::Leaves { indices }, SyncResponse::Leaves { leaves }) => {
                if leaves.is_empty() || leaves.len() > indices.len() {
                    return Err(SyncError::Unexpected("wrong number of leaves"));
                }
                let tree = replica.digest_tree();
                for theirs in &leaves {
                    if self.leaves.pop_front().is_none() {
                        break;
                    }
                    // Want every entry of theirs that is not exactly what this replica holds.
                    self.wanted.extend(
                        theirs.iter().filter(|item| !tree.holds(item)).map(|item| item.key_hash),
                    );
                }
            }
            (SyncRequest::Fetch { key_hashes }, SyncResponse::Entries { answered, entries }) => {
                let answered = answered as usize;
                if answered == 0 || answered > key_hashes.len() {
                    return Err(SyncError::Unexpected("fetch answered no or too many keys"));
                }
                self.wanted.drain(..answered);
                fetched = entries;
            }
            _ => return Err(SyncError::Unexpected("response of another kind than the request")),
        }
        let next = if !self.wanted.is_empty() {
            let take = self.wanted.len().min(MAX_REQUEST_ITEMS);
            Some(SyncRequest::Fetch {
                key_hashes: self.wanted.iter().take(take).copied().collect(),
            })
        } else if !self.leaves.is_empty() {
            let take = self.leaves.len().min(MAX_REQUEST_ITEMS);
            Some(SyncRequest::Leaves { indices: self.leaves.iter().take(take).copied().collect() })
        } else {
            None
        };
        Ok(match next {
            Some(next) => self.send(next, fetched),
            None => SyncStep { fetched, next: None },
        })
    }

    fn send(&mut self, next: SyncRequest, fetched: Vec<SignedEntry>) -> SyncStep {
        self.rounds += 1;
        self.pending = next.clone();
        SyncStep { fetched, next: Some(next) }
    }
}

impl Replica {
    /// Answers a catch-up request from a peer. Responses are capped ([`MAX_RESPONSE_SUMMARIES`],
    /// [`MAX_RESPONSE_ENTRIES`]); the peer asks again for the rest.
    pub fn answer(&mut self, request: &SyncRequest) -> Result<SyncResponse, SyncError> {
        let count = match request {
            SyncRequest::Children { indices, .. } | SyncRequest::Leaves { indices } => {
                indices.len()
            }
            SyncRequest::Fetch { key_hashes } => key_hashes.len(),
        };
        if count == 0 || count > MAX_REQUEST_ITEMS {
            return Err(SyncError::ItemCount(count));
        }
        let tree = self.digest_tree();
        match request {
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
                let mut leaves = Vec::new();
                let mut budget = MAX_RESPONSE_SUMMARIES;
                for &index in indices {
                    if index >= LEAVES {
                        return Err(SyncError::BadIndex { level: DEPTH, index });
                    }
                    let leaf = tree.leaf(index);
                    // Always answer at least one leaf, so the initiator makes progress.
                    if leaf.len() > budget && !leaves.is_empty() {
                        break;
                    }
                    budget = budget.saturating_sub(leaf.len());
                    leaves.push(leaf.collect());
                }
                Ok(SyncResponse::Leaves { leaves })
            }
            SyncRequest::Fetch { key_hashes } => {
                let mut keys = Vec::new();
                let mut answered = 0;
                for hash in key_hashes {
                    let found = tree.keys_with_hash(*hash);
                    if keys.len() + found.len() > MAX_RESPONSE_ENTRIES && answered > 0 {
                        break;
                    }
                    keys.extend(found.iter().map(|(_, key)| key.clone()));
                    answered += 1;
                }
                let entries = keys.iter().filter_map(|key| self.signed(key)).collect();
                let answered = u32::try_from(answered).unwrap_or(u32::MAX);
                Ok(SyncResponse::Entries { answered, entries })
            }
        }
    }
}

/// Digests of a replica's entries over the sync tree. Built once from per-entry summaries when
/// first needed, then kept up to date by the replica on every change ([`DigestTree::update`]).
#[derive(Debug, Clone)]
pub(crate) struct DigestTree {
    /// Node digests per level: 1, 16, 256 and 4,096 nodes.
    levels: [Vec<u64>; DEPTH as usize + 1],
    /// Per leaf, its entries' summaries and keys, sorted by summary.
    leaves: Vec<Vec<(Summary, EntryKey)>>,
}

impl DigestTree {
    /// Builds the tree from every entry's key and summary.
    pub(crate) fn build(entries: impl Iterator<Item = (EntryKey, Summary)>) -> Self {
        let mut leaves = vec![Vec::new(); LEAVES as usize];
        for (key, summary) in entries {
            leaves[leaf_of(summary.key_hash) as usize].push((summary, key));
        }
        let mut levels: [Vec<u64>; DEPTH as usize + 1] =
            std::array::from_fn(|level| vec![0; FANOUT.pow(level as u32) as usize]);
        for (index, leaf) in leaves.iter_mut().enumerate() {
            leaf.sort_unstable_by_key(|(summary, _)| *summary);
            let digest = leaf.iter().fold(0, |acc, (s, _)| acc ^ s.digest);
            Self::toggle(&mut levels, index, digest);
        }
        Self { levels, leaves }
    }

    /// Replaces an entry's summary (`old` is `None` for a new entry).
    pub(crate) fn update(&mut self, key: &EntryKey, old: Option<Summary>, new: Summary) {
        let index = leaf_of(new.key_hash) as usize;
        let leaf = &mut self.leaves[index];
        let mut change = new.digest;
        let mut held = None;
        if let Some(old) = old {
            let start = leaf.partition_point(|(s, _)| *s < old);
            if let Some(offset) =
                leaf[start..].iter().take_while(|(s, _)| *s == old).position(|(_, k)| k == key)
            {
                held = Some(leaf.remove(start + offset).1);
                change ^= old.digest;
            }
        }
        let at = leaf.partition_point(|(s, _)| *s < new);
        leaf.insert(at, (new, held.unwrap_or_else(|| key.clone())));
        Self::toggle(&mut self.levels, index, change);
    }

    /// XORs `digest` into a leaf and every node above it.
    fn toggle(levels: &mut [Vec<u64>; DEPTH as usize + 1], leaf: usize, digest: u64) {
        for (level, digests) in levels.iter_mut().enumerate() {
            digests[leaf >> (4 * (usize::from(DEPTH) - level))] ^= digest;
        }
    }

    pub(crate) fn digest(&self, level: u8, index: u32) -> u64 {
        self.levels[usize::from(level)][index as usize]
    }

    /// A leaf's summaries, sorted.
    pub(crate) fn leaf(&self, index: u32) -> impl ExactSizeIterator<Item = Summary> + '_ {
        self.leaves[index as usize].iter().map(|(summary, _)| *summary)
    }

    /// Whether a leaf holds an entry with this summary.
    pub(crate) fn holds(&self, summary: &Summary) -> bool {
        let leaf = &self.leaves[leaf_of(summary.key_hash) as usize];
        leaf.binary_search_by(|(s, _)| s.cmp(summary)).is_ok()
    }

    /// The root digest: equal roots mean equal entry sets (up to hash collisions).
    pub(crate) fn root(&self) -> u64 {
        self.levels[0][0]
    }

    /// The entries whose keys hash to `hash` (adjacent in their leaf, which is sorted by it).
    fn keys_with_hash(&self, hash: u64) -> &[(Summary, EntryKey)] {
        let leaf = &self.leaves[leaf_of(hash) as usize];
        let start = leaf.partition_point(|(s, _)| s.key_hash < hash);
        let end = leaf.partition_point(|(s, _)| s.key_hash <= hash);
        &leaf[start..end]
    }
}

/// An entry's summary: the hash placing its key in the tree, and the digest of key and counter.
pub(crate) fn summarize(key: &EntryKey, counter: PnCounter) -> Summary {
    let node = key.writer.node.to_bytes();
    let tweet = key.tweet.as_str().as_bytes();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[tweet.len() as u8]);
    hasher.update(tweet);
    hasher.update(&[key.stat.code(), node.len() as u8]);
    hasher.update(&node);
    hasher.update(&key.writer.generation.0);
    let key_hash = first_u64(hasher.finalize().as_bytes());
    let mut hasher = blake3::Hasher::new();
    hasher.update(&key_hash.to_be_bytes());
    hasher.update(&counter.increments.to_be_bytes());
    hasher.update(&counter.decrements.to_be_bytes());
    Summary { key_hash, digest: first_u64(hasher.finalize().as_bytes()) }
}

fn first_u64(bytes: &[u8; 32]) -> u64 {
    let mut first = [0; 8];
    first.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(first)
}

fn leaf_of(key_hash: u64) -> u32 {
    (key_hash >> (64 - 12)) as u32
}
