//! What vouches for the remote counters a replica holds: per counter the one or two leaves
//! (witnesses) whose signed values join to exactly the counter held (two when its writer signed
//! versions neither of which contains the other), and the seals those leaves belong to, with
//! what is known of their trees, kept while a counter rests on them. So every counter held can
//! be served with its writer's signatures, and merging stays a join. Pure.

use std::collections::{BTreeMap, HashMap};

use super::counter::PnCounter;
use super::ids::{EntryKey, Writer};
use super::merkle::{Hash, MAX_LEAVES, Tree};
use super::proof::IdentityProof;
use super::seal::{Leaf, Seal, Sealed};

/// The most leaves one [`Sealed`] group carries when a replica serves (half a tree's maximum,
/// so a group stays well under the message limit whatever its tweet ids).
pub(crate) const MAX_SERVED_LEAVES: usize = MAX_LEAVES as usize / 2;

/// Names one seal of a writer: its tree's size and root. Both, because the signature covers
/// both and a root alone does not fix the size: a writer can sign one root under two leaf
/// counts (a proof on the left of a tree fits trees of other sizes), and those are two seals
/// with two different trees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SealId {
    /// The seal's leaf count.
    pub leaves: u32,
    /// The seal's root.
    pub root: Hash,
}

impl Seal {
    /// What names this seal among its writer's.
    pub fn id(&self) -> SealId {
        SealId { leaves: self.leaves, root: self.root }
    }
}

/// A leaf that vouches for a remote counter: its seal (the writer is the counter's), its index
/// there, and the counter it carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Witness {
    /// The seal the leaf is in.
    pub seal: SealId,
    /// The leaf's index in it.
    pub index: u32,
    /// The counter the leaf carries.
    pub counter: PnCounter,
}

/// The witnesses of one counter: at most one per half (increments, decrements), the same one
/// when a single leaf carries both.
pub type Witnesses = [Option<Witness>; 2];

/// Chooses, among `candidates` (first preferred), a leaf carrying `target`'s increments and
/// one carrying its decrements. A half no candidate carries stays unvouched.
pub fn cover(candidates: &[Witness], target: PnCounter) -> Witnesses {
    let up = candidates.iter().find(|w| w.counter.increments == target.increments).copied();
    let down = match up {
        Some(w) if w.counter.decrements == target.decrements => None,
        _ => candidates.iter().find(|w| w.counter.decrements == target.decrements).copied(),
    };
    [up, down]
}

/// A seal some held counters rest on.
#[derive(Debug, Clone)]
pub(crate) struct HeldSeal {
    pub(crate) seal: Seal,
    pub(crate) identity: IdentityProof,
    pub(crate) tree: Tree,
    /// How many witnesses rest on it.
    refs: usize,
}

/// The seals a replica holds leaves of, by writer and [`SealId`].
#[derive(Debug, Default)]
pub(crate) struct SealTable {
    seals: HashMap<(Writer, SealId), HeldSeal>,
}

impl SealTable {
    /// Whether this exact seal (same leaf count, root and signature) is held: a group showing
    /// it again needs no new signature check.
    pub(crate) fn holds(&self, seal: &Seal) -> bool {
        self.seals.get(&(seal.writer, seal.id())).is_some_and(|held| held.seal == *seal)
    }

    /// A held seal.
    pub(crate) fn get(&self, writer: Writer, seal: SealId) -> Option<&HeldSeal> {
        self.seals.get(&(writer, seal))
    }

    /// Adds what is known of a checked seal's tree (to what was known, if it is held). A seal
    /// no witness rests on is dropped by [`SealTable::release`] or [`SealTable::prune`].
    pub(crate) fn add(&mut self, seal: Seal, identity: IdentityProof, tree: Tree) {
        match self.seals.get_mut(&(seal.writer, seal.id())) {
            // The same seal, or another valid signature over the same tree by the same key
            // (the one held is kept): what is known of the tree grows either way, as the
            // witnesses of its leaves name the seal by its tree.
            Some(held) => {
                if !held.tree.knows_leaves_of(&tree) {
                    held.tree.absorb(tree);
                }
            }
            None => {
                self.seals
                    .insert((seal.writer, seal.id()), HeldSeal { seal, identity, tree, refs: 0 });
            }
        }
    }

    /// Whether the seal a witness names is held.
    pub(crate) fn contains(&self, writer: Writer, seal: SealId) -> bool {
        self.seals.contains_key(&(writer, seal))
    }

    /// One more witness rests on this seal.
    pub(crate) fn retain(&mut self, writer: Writer, seal: SealId) {
        if let Some(held) = self.seals.get_mut(&(writer, seal)) {
            held.refs += 1;
        }
    }

    /// One witness fewer rests on this seal; dropped when none does. Returns the seal if that
    /// dropped it.
    pub(crate) fn release(&mut self, writer: Writer, seal: SealId) -> Option<Seal> {
        let held = self.seals.get_mut(&(writer, seal))?;
        held.refs = held.refs.saturating_sub(1);
        if held.refs > 0 {
            return None;
        }
        self.seals.remove(&(writer, seal)).map(|held| held.seal)
    }

    /// Drops this seal if no witness rests on it.
    pub(crate) fn prune(&mut self, writer: Writer, seal: SealId) {
        if self.seals.get(&(writer, seal)).is_some_and(|held| held.refs == 0) {
            self.seals.remove(&(writer, seal));
        }
    }

    /// How many seals are held.
    pub(crate) fn len(&self) -> usize {
        self.seals.len()
    }

    /// Groups of leaves, each with its seal's proof: `leaves` are (key, witness) pairs of
    /// remote counters. Deterministic: by writer, root and index.
    pub(crate) fn serve<'a>(
        &self,
        leaves: impl IntoIterator<Item = (&'a EntryKey, Witness)>,
    ) -> Vec<Sealed> {
        let mut groups: BTreeMap<(Writer, SealId), BTreeMap<u32, Leaf>> = BTreeMap::new();
        for (key, witness) in leaves {
            let leaf = Leaf { tweet: key.tweet.clone(), stat: key.stat, counter: witness.counter };
            groups.entry((key.writer, witness.seal)).or_default().insert(witness.index, leaf);
        }
        let mut out = Vec::new();
        for ((writer, seal), leaves) in groups {
            let Some(held) = self.get(writer, seal) else { continue };
            let leaves: Vec<(u32, Leaf)> = leaves.into_iter().collect();
            for chunk in leaves.chunks(MAX_SERVED_LEAVES) {
                out.extend(Sealed::of(&held.seal, held.identity, &held.tree, chunk.to_vec()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn witness(index: u32, increments: u64, decrements: u64) -> Witness {
        let seal = SealId { leaves: 4, root: [index as u8; 16] };
        Witness { seal, index, counter: PnCounter::new(increments, decrements) }
    }

    #[test]
    fn a_counter_from_two_divergent_versions_keeps_both_leaves() {
        let (a, b) = (witness(1, 50, 10), witness(2, 60, 5));
        let joined = a.counter.merge(b.counter);
        assert_eq!(cover(&[b, a], joined), [Some(b), Some(a)]);
        // A later version containing both replaces them.
        let c = witness(3, 60, 10);
        assert_eq!(cover(&[c, b, a], joined), [Some(c), None]);
        // Nothing carries a half: it stays unvouched.
        assert_eq!(cover(&[a], PnCounter::new(70, 10)), [None, Some(a)]);
    }
}
