//! Merging sealed leaves from peers: the seals checked (here, or beforehand on another
//! thread), then each leaf against the caps and the quota, then taken in with the leaves that
//! vouch for it.

use super::{Entry, MergeReport, Rejection, Replica};
use crate::core::counter::PnCounter;
use crate::core::ids::{EntryKey, Namespace};
use crate::core::merkle::Tree;
use crate::core::proof::IdentityProof;
use crate::core::seal::{self, Seal, SealError, Sealed};
use crate::core::witness::{self, Witness};

#[cfg(doc)]
use crate::core::seal::verify_sealed;

/// What a merge did, and what it learnt of the seals counters now rest on: per group that
/// changed a counter, its seal and the part of its tree it showed.
pub(crate) type Merged = (MergeReport, Vec<(Seal, IdentityProof, Tree)>);

/// Every leaf of `sealed` refused as of another namespace.
fn foreign(sealed: Vec<Sealed>) -> Merged {
    let rejected = sealed
        .into_iter()
        .flat_map(|g| {
            let writer = g.writer;
            g.leaves
                .into_iter()
                .map(move |(_, leaf)| (leaf.key(writer), Rejection::ForeignNamespace))
        })
        .collect();
    (MergeReport { rejected, ..MergeReport::default() }, Vec::new())
}

impl Replica {
    /// Merges sealed leaves from other nodes. Every leaf is checked, whatever this replica
    /// holds (validity is a function of the leaf and its seal alone): its writer's identity
    /// proof at the namespace's difficulty, its seal's signature over the root its leaves and
    /// proof make (all seals in one batch verification), and the caps. A seal held already
    /// with the same signature is not checked again. Valid leaves are kept with the counters
    /// they vouch for, for serving later.
    pub fn merge(&mut self, namespace: &Namespace, sealed: Vec<Sealed>) -> MergeReport {
        self.merge_sealed(namespace, sealed).0
    }

    /// [`Replica::merge`], also returning what the merge learnt of the seals counters now
    /// rest on: per group that changed a counter, its seal and the part of its tree it showed
    /// (what a store adds to what it keeps of that seal).
    pub(crate) fn merge_sealed(&mut self, namespace: &Namespace, sealed: Vec<Sealed>) -> Merged {
        if *namespace != self.namespace {
            return foreign(sealed);
        }
        let proven = self.proven(&sealed);
        let trees: Vec<Option<Tree>> = sealed
            .iter()
            .zip(&proven)
            .map(|(g, proven)| g.tree().ok().filter(|_| *proven))
            .collect();
        // A seal held with the same signature passed the same check when it was taken in.
        let held: Vec<bool> = sealed
            .iter()
            .zip(&trees)
            .map(|(g, tree)| tree.as_ref().is_some_and(|t| self.seals.holds(&g.seal_of(t))))
            .collect();
        let unchecked: Vec<(&Sealed, &Tree)> = sealed
            .iter()
            .zip(&trees)
            .zip(&held)
            .filter_map(|((g, tree), held)| Some((g, tree.as_ref().filter(|_| !held)?)))
            .collect();
        let mut verdicts =
            seal::check_signatures(&self.namespace, &unchecked, |node| self.key_of(node))
                .into_iter();
        let verified: Vec<Option<(Seal, Tree)>> = sealed
            .iter()
            .zip(trees)
            .zip(held)
            .map(|((g, tree), held)| {
                let tree = tree?;
                let valid = held || verdicts.next() == Some(true);
                valid.then(|| (g.seal_of(&tree), tree))
            })
            .collect();
        self.take_checked(sealed, verified, proven)
    }

    /// [`Replica::merge_sealed`] of groups whose seals were checked beforehand, elsewhere
    /// (another thread), by [`verify_sealed`] (`checked[i]` for `sealed[i]`): what it found
    /// stands in for the signature checks; everything else is checked here as in a merge.
    pub(crate) fn merge_checked(
        &mut self,
        namespace: &Namespace,
        sealed: Vec<Sealed>,
        checked: Vec<Result<(Seal, Tree), SealError>>,
    ) -> Merged {
        if *namespace != self.namespace || checked.len() != sealed.len() {
            return foreign(sealed);
        }
        let proven = self.proven(&sealed);
        let verified =
            checked.into_iter().zip(&proven).map(|(c, p)| c.ok().filter(|_| *p)).collect();
        self.take_checked(sealed, verified, proven)
    }

    /// Whether each group's writer has an identity proof at the namespace's difficulty.
    fn proven(&self, sealed: &[Sealed]) -> Vec<bool> {
        let difficulty = self.rules.difficulty;
        sealed.iter().map(|g| g.identity.holds(&self.namespace, &g.writer, difficulty)).collect()
    }

    /// Takes in the leaves of groups whose seals checked out (`verified[i]`), with the caps
    /// and quota checked per leaf.
    fn take_checked(
        &mut self,
        sealed: Vec<Sealed>,
        verified: Vec<Option<(Seal, Tree)>>,
        proven: Vec<bool>,
    ) -> Merged {
        let mut report = MergeReport::default();
        let mut learnt = Vec::new();
        let held = self.len;
        for ((group, verdict), proven) in sealed.into_iter().zip(verified).zip(proven) {
            let writer = group.writer;
            let Some((seal, tree)) = verdict else {
                let why = if proven { Rejection::BadSignature } else { Rejection::NoIdentityProof };
                report.rejected.extend(group.leaves.into_iter().map(|(_, l)| (l.key(writer), why)));
                continue;
            };
            if let Some(key) = self.key_of(&writer.node) {
                self.keys.insert(writer.node, key);
            }
            self.seals.add(seal, group.identity, tree.clone());
            let mut changed_any = false;
            for (index, leaf) in group.leaves {
                let key = leaf.key(writer);
                if let Err(bound) = self.rules.caps.check(leaf.stat, leaf.counter) {
                    report.rejected.push((key, Rejection::OutOfBounds(bound)));
                    continue;
                }
                if writer != self.local && !self.quota.admits(&writer) && self.slot(&key).is_none()
                {
                    report.rejected.push((key, Rejection::OverQuota));
                    continue;
                }
                let witness = Witness { root: seal.root, index, counter: leaf.counter };
                match self.take(&key, leaf.counter, Some(witness)) {
                    Some(changed) => {
                        changed_any = true;
                        report.changed.push(changed);
                    }
                    None => report.stale += 1,
                }
            }
            self.seals.prune(writer, &seal.root);
            if changed_any {
                learnt.push((seal, group.identity, tree));
            }
        }
        report.added = self.len - held;
        (report, learnt)
    }

    /// Merges a counter into the one held, with the leaf that vouches for it (none for local
    /// counters): of the held and new leaves, those that carry the joined halves are kept (the
    /// held ones while they do). Returns the entry if its counter grew.
    pub(super) fn take(
        &mut self,
        key: &EntryKey,
        counter: PnCounter,
        witness: Option<Witness>,
    ) -> Option<Entry> {
        let (held, old) = self
            .slot(key)
            .map_or((PnCounter::default(), [None, None]), |s| (s.counter, s.witnesses));
        let merged = held.merge(counter);
        let grew = merged != held;
        let witnesses = if key.writer == self.local {
            [None, None]
        } else {
            // Held leaves first: a counter stays on the seals it rests on while they cover it.
            let mut candidates = [Witness::default(); 3];
            let mut count = 0;
            for w in old.iter().flatten().chain(&witness) {
                candidates[count] = *w;
                count += 1;
            }
            witness::cover(&candidates[..count], merged)
        };
        if !grew && witnesses == old {
            return None;
        }
        for added in witnesses.iter().flatten().filter(|w| !old.contains(&Some(**w))) {
            self.seals.retain(key.writer, &added.root);
        }
        for removed in old.iter().flatten().filter(|w| !witnesses.contains(&Some(**w))) {
            self.seals.release(key.writer, &removed.root);
        }
        self.put(key, merged, witnesses);
        grew.then(|| Entry { key: key.clone(), counter: merged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::{Generation, StatKind, TweetId};
    use crate::core::proof::{Difficulty, Minter};
    use crate::core::rules::Rules;
    use crate::core::seal::verify_sealed;
    use crate::core::signing::Identity;

    fn replica(seed: u8, difficulty: u8) -> Replica {
        let namespace = Namespace::new("mainnet").expect("valid");
        let rules = Rules { difficulty: Difficulty(difficulty), ..Rules::DEFAULT };
        let identity = Identity::from_secret([seed; 32]);
        Replica::new(namespace, identity, Generation([seed; 16])).with_rules(rules)
    }

    /// Sealed likes of writer `seed` on `count` tweets, with an identity proof of 8 bits.
    fn likes(seed: u8, count: usize) -> Vec<Sealed> {
        let mut writer = replica(seed, 8);
        let local = writer.local_writer();
        let mut minter = Minter::new(writer.namespace(), &local, Difficulty(8), 0);
        let proof = std::iter::from_fn(|| Some(minter.step(1024))).flatten().next();
        assert!(writer.set_identity_proof(proof.expect("minted")));
        let keys: Vec<EntryKey> = (0..count)
            .map(|i| {
                let tweet = TweetId::new(format!("t{i}")).expect("valid");
                writer.increment(&tweet, StatKind::Likes).expect("within bounds").key
            })
            .collect();
        keys.iter().flat_map(|key| writer.sealed([key])).collect()
    }

    /// Checking seals beforehand (as a node does on another thread) decides every leaf as
    /// checking them in the merge does: honest, tampered, without a proof, held already.
    #[test]
    fn a_merge_of_seals_checked_beforehand_decides_as_a_merge() {
        let mut groups = likes(1, 3);
        groups[1].leaves[0].1.counter.increments = 7; // tampered after signing
        groups.extend(likes(2, 2));
        let proof = groups[3].identity;
        groups[3].identity = IdentityProof { nonce: proof.nonce + 1 }; // (most likely) none
        let namespace = Namespace::new("mainnet").expect("valid");
        let (mut checking, mut checked) = (replica(9, 8), replica(9, 8));
        for round in 0..2 {
            let plain = checking.merge_sealed(&namespace, groups.clone());
            let verdicts = verify_sealed(&namespace, &groups);
            let before = checked.merge_checked(&namespace, groups.clone(), verdicts);
            assert_eq!(plain.0, before.0, "round {round}");
            assert_eq!(plain.1.len(), before.1.len(), "round {round}");
        }
        let report = checking.merge_sealed(&namespace, groups.clone()).0;
        assert_eq!(report.stale, 3, "the honest leaves, held after the first round");
        assert!(report.rejected.iter().any(|(_, why)| *why == Rejection::BadSignature));
        assert_eq!(checking.len(), checked.len());
        // Verdicts that do not match the groups are not trusted for anything.
        let short = verify_sealed(&namespace, &groups[..1]);
        let report = replica(9, 0).merge_checked(&namespace, groups.clone(), short).0;
        assert_eq!((report.changed.len(), report.rejected.len()), (0, 5));
    }
}
