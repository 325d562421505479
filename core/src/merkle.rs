//! Merkle trees over the leaves of a seal: the root a writer signs once for many counters, and
//! multiproofs that show some leaves against that root without the others, so a node can serve
//! any part of what it holds with the writer's one signature. Pure.
//!
//! Shape: level 0 holds the leaf hashes; level `l + 1` holds `hash(0x01 ‖ a ‖ b)` of each pair
//! `(2i, 2i + 1)` of level `l`, and a last node without a partner moves up unchanged. The root
//! is the single node of the top level. A leaf's hash is `hash(0x00 ‖ leaf bytes)`; the
//! different first bytes keep a leaf from posing as an inner node. Hashes are the first 16
//! bytes of BLAKE3: forging a leaf under a signed root is a second preimage (2^128 work); only
//! the writer, who signs anyway, gains from a collision.

/// A node of the tree.
pub type Hash = [u8; HASH_BYTES];

/// The length of every hash in a tree and a proof.
pub const HASH_BYTES: usize = 16;

/// The most leaves one tree may have (so a proof path has at most 13 hashes).
pub const MAX_LEAVES: u32 = 8192;

/// The hash of a leaf's bytes.
pub(crate) fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[0]);
    hasher.update(bytes);
    truncate(hasher.finalize())
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = [0u8; 1 + 2 * HASH_BYTES];
    input[0] = 1;
    input[1..=HASH_BYTES].copy_from_slice(left);
    input[1 + HASH_BYTES..].copy_from_slice(right);
    truncate(blake3::hash(&input))
}

fn truncate(hash: blake3::Hash) -> Hash {
    let mut out = [0; HASH_BYTES];
    out.copy_from_slice(&hash.as_bytes()[..HASH_BYTES]);
    out
}

/// Why leaves and a proof do not make a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A tree has 1 to [`MAX_LEAVES`] leaves.
    #[error("a tree of {0} leaves (1 to {MAX_LEAVES} allowed)")]
    LeafCount(u32),
    /// No leaf was given.
    #[error("no leaf to prove")]
    NoLeaves,
    /// Leaf indices must rise strictly and lie below the leaf count.
    #[error("leaf index {0} out of order or out of range")]
    Index(u32),
    /// The proof has fewer hashes than the leaves need.
    #[error("proof too short")]
    Short,
    /// The proof has hashes the leaves do not need.
    #[error("proof too long")]
    Long,
}

/// What one node knows of a tree: its size, root, and every node it computed or was given
/// (all of them for a tree it built from all leaves). Enough to prove any leaf it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    leaves: u32,
    root: Hash,
    /// Known nodes, sorted by (level, index).
    known: Known,
}

/// Nodes sorted by (level, index): a sorted vector, built in order, searched by bisection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Known(Vec<((u8, u32), Hash)>);

impl Known {
    fn get(&self, at: &(u8, u32)) -> Option<&Hash> {
        self.0.binary_search_by(|(k, _)| k.cmp(at)).ok().map(|i| &self.0[i].1)
    }

    /// Adds a node after every node added so far (the caller adds in order).
    fn push(&mut self, at: (u8, u32), hash: Hash) {
        debug_assert!(self.0.last().is_none_or(|(last, _)| *last < at));
        self.0.push((at, hash));
    }

    /// Both node sets, sorted, each node once.
    fn union(self, other: Known) -> Known {
        let mut all = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut a, mut b) = (self.0.into_iter().peekable(), other.0.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 < y.0 => a.next(),
                (Some(x), Some(y)) if x.0 > y.0 => b.next(),
                (Some(_), Some(_)) => {
                    b.next();
                    a.next()
                }
                (Some(_), None) => a.next(),
                (None, _) => b.next(),
            };
            match next {
                Some(node) => all.push(node),
                None => return Known(all),
            }
        }
    }
}

impl Tree {
    /// The tree of these leaf hashes (1 to [`MAX_LEAVES`] of them).
    pub fn build(leaves: &[Hash]) -> Result<Tree, ProofError> {
        let count = u32::try_from(leaves.len()).unwrap_or(u32::MAX);
        let all: Vec<(u32, Hash)> = (0..count).zip(leaves.iter().copied()).collect();
        Tree::from_proof(count, &all, &[])
    }

    /// The tree that `leaves` (index and hash, indices rising) and `proof` (from
    /// [`Tree::prove`]) make together, if they fit exactly; its root is then what a signature
    /// must cover.
    pub fn from_proof(
        leaves: u32,
        present: &[(u32, Hash)],
        proof: &[Hash],
    ) -> Result<Tree, ProofError> {
        if leaves == 0 || leaves > MAX_LEAVES {
            return Err(ProofError::LeafCount(leaves));
        }
        if present.is_empty() {
            return Err(ProofError::NoLeaves);
        }
        let mut previous = None;
        for &(index, _) in present {
            if index >= leaves || previous.is_some_and(|p| index <= p) {
                return Err(ProofError::Index(index));
            }
            previous = Some(index);
        }
        let mut known = Known::default();
        let mut proof = proof.iter();
        let mut level: Vec<(u32, Hash)> = present.to_vec();
        let mut width = leaves;
        let mut depth = 0u8;
        while width > 1 {
            let mut parents = Vec::with_capacity(level.len().div_ceil(2));
            let mut nodes = level.iter().peekable();
            while let Some(&(index, hash)) = nodes.next() {
                let parent = if index % 2 == 1 {
                    let left = *proof.next().ok_or(ProofError::Short)?;
                    known.push((depth, index - 1), left);
                    known.push((depth, index), hash);
                    node_hash(&left, &hash)
                } else if index + 1 == width {
                    known.push((depth, index), hash);
                    hash
                } else if let Some(&&(next, right)) = nodes.peek().filter(|n| n.0 == index + 1) {
                    nodes.next();
                    known.push((depth, index), hash);
                    known.push((depth, next), right);
                    node_hash(&hash, &right)
                } else {
                    let right = *proof.next().ok_or(ProofError::Short)?;
                    known.push((depth, index), hash);
                    known.push((depth, index + 1), right);
                    node_hash(&hash, &right)
                };
                parents.push((index / 2, parent));
            }
            level = parents;
            width = width.div_ceil(2);
            depth += 1;
        }
        if proof.next().is_some() {
            return Err(ProofError::Long);
        }
        let root = level[0].1;
        known.push((depth, 0), root);
        Ok(Tree { leaves, root, known })
    }

    /// How many leaves the tree has.
    pub fn leaves(&self) -> u32 {
        self.leaves
    }

    /// The root.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Adds what `other`, a part of the same signed tree, knows. A tree of another size or
    /// root is a different tree: nothing is taken from it.
    pub fn absorb(&mut self, other: Tree) {
        if (self.leaves, self.root) == (other.leaves, other.root) {
            self.known = std::mem::take(&mut self.known).union(other.known);
        }
    }

    /// Whether every leaf `other` knows is known here (with its path: absorbing `other` would
    /// add nothing needed to prove them).
    pub(crate) fn knows_leaves_of(&self, other: &Tree) -> bool {
        other
            .known
            .0
            .iter()
            .take_while(|((level, _), _)| *level == 0)
            .all(|(at, _)| self.known.get(at).is_some())
    }

    /// The known nodes, by (level, index): what a store keeps of the tree.
    pub fn known(&self) -> impl Iterator<Item = ((u8, u32), Hash)> + '_ {
        self.known.0.iter().copied()
    }

    /// The tree of `leaves` leaves made of these known nodes, as [`Tree::known`] listed them
    /// (read back from this node's own store). `None` if they lack the root.
    pub fn from_known(
        leaves: u32,
        known: impl IntoIterator<Item = ((u8, u32), Hash)>,
    ) -> Option<Tree> {
        let mut known: Vec<((u8, u32), Hash)> = known.into_iter().collect();
        known.sort_by_key(|(at, _)| *at);
        known.dedup_by_key(|(at, _)| *at);
        let known = Known(known);
        let mut width = leaves;
        let mut depth = 0u8;
        while width > 1 {
            width = width.div_ceil(2);
            depth += 1;
        }
        let root = *known.get(&(depth, 0))?;
        Some(Tree { leaves, root, known })
    }

    /// The multiproof of these leaves (indices rising): the hashes [`Tree::from_proof`] needs
    /// besides theirs, level by level. `None` if one of them is not known here.
    pub fn prove(&self, indices: &[u32]) -> Option<Vec<Hash>> {
        if indices.is_empty() || indices.windows(2).any(|w| w[0] >= w[1]) {
            return None;
        }
        let mut proof = Vec::new();
        let mut level: Vec<u32> = indices.to_vec();
        let mut width = self.leaves;
        let mut depth = 0u8;
        if level.iter().any(|&i| self.known.get(&(0, i)).is_none()) {
            return None;
        }
        while width > 1 {
            let mut parents: Vec<u32> = Vec::with_capacity(level.len().div_ceil(2));
            let mut nodes = level.iter().peekable();
            while let Some(&index) = nodes.next() {
                let sibling = if index % 2 == 1 {
                    Some(index - 1)
                } else if index + 1 == width {
                    None
                } else if nodes.peek().is_some_and(|&&n| n == index + 1) {
                    nodes.next();
                    None
                } else {
                    Some(index + 1)
                };
                if let Some(sibling) = sibling {
                    proof.push(*self.known.get(&(depth, sibling))?);
                }
                parents.push(index / 2);
            }
            level = parents;
            width = width.div_ceil(2);
            depth += 1;
        }
        Some(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn every_subset_of_small_trees_proves_against_the_root() {
        for n in 1..=9u32 {
            let hashes = leaves(n);
            let tree = Tree::build(&hashes).expect("valid");
            for mask in 1u32..(1 << n) {
                let indices: Vec<u32> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
                let proof = tree.prove(&indices).expect("all known");
                let present: Vec<(u32, Hash)> =
                    indices.iter().map(|&i| (i, hashes[i as usize])).collect();
                let rebuilt = Tree::from_proof(n, &present, &proof).expect("fits");
                assert_eq!(rebuilt.root(), tree.root(), "n={n} mask={mask:b}");
                // What a receiver rebuilt proves each of its leaves again.
                for &i in &indices {
                    let again = rebuilt.prove(&[i]).expect("known");
                    let one = Tree::from_proof(n, &[(i, hashes[i as usize])], &again);
                    assert_eq!(one.expect("fits").root(), tree.root());
                }
            }
        }
    }

    #[test]
    fn a_single_leaf_is_its_own_root() {
        let hashes = leaves(1);
        let tree = Tree::build(&hashes).expect("valid");
        assert_eq!(tree.root(), hashes[0]);
        assert_eq!(tree.prove(&[0]), Some(vec![]));
    }
}
