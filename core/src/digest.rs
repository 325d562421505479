//! The catch-up digest tree: each entry's key hash (blake3 of its key) places it in a fixed
//! 16-ary tree three levels deep (4,096 leaves); every tree node's digest is the XOR of its
//! entries' digests (blake3 of key and counter). The replica keeps it up to date; catch-up
//! compares it level by level.

use std::collections::BTreeMap;

use super::counter::PnCounter;
use super::ids::EntryKey;

/// Children per tree node.
pub(crate) const FANOUT: u32 = 16;
/// Levels below the root; the leaves are at this level.
pub(crate) const DEPTH: u8 = 3;
/// Number of leaves (`FANOUT ^ DEPTH`).
pub(crate) const LEAVES: u32 = 4096;

/// One entry as the responder holds it, without its body: where it sits and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Summary {
    /// The hash of the entry's key.
    pub key_hash: u64,
    /// The digest of the entry's key and counter.
    pub digest: u64,
}

/// One leaf's entries in summary order. A map, so taking one in or out costs a lookup however
/// many entries a leaf holds (key hashes are public: a writer can grind its keys into one
/// leaf). Entries with the same summary (a 64-bit key hash and digest: collisions only) are
/// told apart by a sequence number.
type LeafEntries = BTreeMap<(Summary, u32), EntryKey>;

/// The entries of a leaf with this summary.
fn with_summary(leaf: &LeafEntries, summary: Summary) -> impl Iterator<Item = (&u32, &EntryKey)> {
    leaf.range((summary, 0)..=(summary, u32::MAX)).map(|((_, seq), key)| (seq, key))
}

/// Takes `key` in under `summary`.
fn insert(leaf: &mut LeafEntries, summary: Summary, key: EntryKey) {
    let seq = with_summary(leaf, summary).last().map_or(0, |(seq, _)| seq.saturating_add(1));
    leaf.insert((summary, seq), key);
}

/// Digests of a replica's entries over the sync tree. Built once from per-entry summaries when
/// first needed, then kept up to date by the replica on every change ([`DigestTree::update`]).
#[derive(Debug, Clone)]
pub(crate) struct DigestTree {
    /// Node digests per level: 1, 16, 256 and 4,096 nodes.
    levels: [Vec<u64>; DEPTH as usize + 1],
    /// Per leaf, its entries' summaries and keys.
    leaves: Vec<LeafEntries>,
}

impl DigestTree {
    /// Builds the tree from every entry's key and summary.
    pub(crate) fn build(entries: impl Iterator<Item = (EntryKey, Summary)>) -> Self {
        let mut leaves = vec![LeafEntries::new(); LEAVES as usize];
        let mut levels: [Vec<u64>; DEPTH as usize + 1] =
            std::array::from_fn(|level| vec![0; FANOUT.pow(level as u32) as usize]);
        for (key, summary) in entries {
            let index = leaf_of(summary.key_hash) as usize;
            insert(&mut leaves[index], summary, key);
            Self::toggle(&mut levels, index, summary.digest);
        }
        Self { levels, leaves }
    }

    /// Replaces an entry's summary (`old` is `None` for a new entry).
    pub(crate) fn update(&mut self, key: &EntryKey, old: Option<Summary>, new: Summary) {
        let held = old.and_then(|old| self.remove(key, old));
        let index = leaf_of(new.key_hash) as usize;
        insert(&mut self.leaves[index], new, held.unwrap_or_else(|| key.clone()));
        Self::toggle(&mut self.levels, index, new.digest);
    }

    /// Takes out the counter of `key` whose summary is `old`, if held; returns the key it held
    /// (sharing its tweet id).
    pub(crate) fn remove(&mut self, key: &EntryKey, old: Summary) -> Option<EntryKey> {
        let index = leaf_of(old.key_hash) as usize;
        let leaf = &mut self.leaves[index];
        let seq = with_summary(leaf, old).find(|(_, k)| *k == key).map(|(seq, _)| *seq)?;
        let held = leaf.remove(&(old, seq))?;
        Self::toggle(&mut self.levels, index, old.digest);
        Some(held)
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
        self.leaves[index as usize].keys().map(|(summary, _)| *summary)
    }

    /// Whether a leaf holds an entry with this summary.
    pub(crate) fn holds(&self, summary: &Summary) -> bool {
        let leaf = &self.leaves[leaf_of(summary.key_hash) as usize];
        with_summary(leaf, *summary).next().is_some()
    }

    /// The root digest: equal roots mean equal entry sets (up to hash collisions).
    pub(crate) fn root(&self) -> u64 {
        self.levels[0][0]
    }

    /// Whether no entry lies below the node `index` of `level`.
    pub(crate) fn is_empty(&self, level: u8, index: u32) -> bool {
        let span = FANOUT.pow(u32::from(DEPTH - level.min(DEPTH))) as usize;
        let first = index as usize * span;
        self.leaves
            .get(first..first + span)
            .is_none_or(|leaves| leaves.iter().all(BTreeMap::is_empty))
    }

    /// The entries whose key hashes lie in `from..=to`, in key-hash order.
    pub(crate) fn range(&self, from: u64, to: u64) -> impl Iterator<Item = (Summary, &EntryKey)> {
        let leaves = if from <= to { leaf_of(from)..leaf_of(to) + 1 } else { 0..0 };
        let low = (Summary { key_hash: from, digest: 0 }, 0);
        let high = (Summary { key_hash: to, digest: u64::MAX }, u32::MAX);
        self.leaves[leaves.start as usize..leaves.end as usize].iter().flat_map(move |leaf| {
            let within = if from <= to { leaf.range(low..=high) } else { leaf.range(low..low) };
            within.map(|((summary, _), key)| (*summary, key))
        })
    }

    /// The entries whose keys hash to `hash`.
    pub(crate) fn keys_with_hash(&self, hash: u64) -> impl Iterator<Item = &EntryKey> {
        self.range(hash, hash).map(|(_, key)| key)
    }
}

/// An entry's summary: the hash placing its key in the tree, and the digest of key and counter.
pub(crate) fn summarize(key: &EntryKey, counter: PnCounter) -> Summary {
    let key_hash = key_hash(key);
    let mut hasher = blake3::Hasher::new();
    hasher.update(&key_hash.to_be_bytes());
    hasher.update(&counter.increments.to_be_bytes());
    hasher.update(&counter.decrements.to_be_bytes());
    Summary { key_hash, digest: first_u64(hasher.finalize().as_bytes()) }
}

impl EntryKey {
    /// The hash placing this key in the catch-up tree: what [`Summary::key_hash`] shows, and
    /// the order of range requests and of a seal's leaves.
    pub fn key_hash(&self) -> u64 {
        key_hash(self)
    }
}

/// The hash placing an entry's key in the tree.
pub(crate) fn key_hash(key: &EntryKey) -> u64 {
    let node = key.writer.node.to_bytes();
    let tweet = key.tweet.as_str().as_bytes();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[tweet.len() as u8]);
    hasher.update(tweet);
    hasher.update(&[key.stat.code(), node.len() as u8]);
    hasher.update(&node);
    hasher.update(&key.writer.generation.0);
    first_u64(hasher.finalize().as_bytes())
}

fn first_u64(bytes: &[u8; 32]) -> u64 {
    let mut first = [0; 8];
    first.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(first)
}

/// The key hashes below the node `index` of `level`: `(first, last)`.
pub(crate) fn span(level: u8, index: u32) -> (u64, u64) {
    let bits = 64 - 4 * u32::from(level.min(DEPTH));
    let first = u64::from(index).checked_shl(bits).unwrap_or(0);
    (first, first | u64::MAX.checked_shr(64 - bits).unwrap_or(0))
}

fn leaf_of(key_hash: u64) -> u32 {
    (key_hash >> (64 - 12)) as u32
}
