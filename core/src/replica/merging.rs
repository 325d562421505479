//! Merging sealed leaves from peers: the seals checked (here, or beforehand on another
//! thread), then each leaf against the caps and the quota, then taken in with the leaves that
//! vouch for it.

use super::{Entry, MergeReport, Rejection, Replica};
use crate::counter::PnCounter;
use crate::ids::{EntryKey, Namespace, Writer};
use crate::merkle::Tree;
use crate::proof::IdentityProof;
use crate::seal::{self, Leaf, Seal, SealError, Sealed, Verified};
use crate::witness::{self, Witness};

#[cfg(doc)]
use crate::seal::verify_sealed;

/// What a merge did, and what it learnt of the seals counters now rest on: per group that
/// changed a counter, its seal and the part of its tree it showed.
pub type Merged = (MergeReport, Vec<(Seal, IdentityProof, Tree)>);

/// A merge under way: its groups' seals checked, its leaves taken in a slice at a time
/// ([`Replica::merge_some`]), so a large merge need not hold the thread in one piece. Merges
/// may be interleaved slice by slice: each leaf is merged as a CRDT, whatever came between.
#[derive(Debug)]
pub struct Merging {
    groups: std::vec::IntoIter<(Sealed, Verdict)>,
    current: Option<Taking>,
}

/// A group's seal and tree, checked; or why its leaves are refused.
type Verdict = Result<(Seal, Tree), Rejection>;

/// The group whose leaves are being taken in.
#[derive(Debug)]
struct Taking {
    writer: Writer,
    identity: IdentityProof,
    seal: Seal,
    tree: Tree,
    leaves: std::vec::IntoIter<(u32, Leaf)>,
    /// Whether a slice changed a counter already (and so reported the tree as learnt).
    learnt: bool,
}

impl Merging {
    fn new(checked: Vec<(Sealed, Verdict)>) -> Self {
        Self { groups: checked.into_iter(), current: None }
    }

    /// Whether every group was taken in (or refused).
    pub fn is_done(&self) -> bool {
        self.current.is_none() && self.groups.len() == 0
    }
}

impl Replica {
    /// Merges sealed leaves from other nodes. Every leaf is checked, whatever this replica
    /// holds (validity is a function of the leaf and its seal alone): its writer's identity
    /// proof at the namespace's difficulty, its seal's signature over the root its leaves and
    /// proof make (all seals in one batch verification), and the caps. A seal held already
    /// with the same signature is not checked again. Valid leaves are kept with the counters
    /// they vouch for, for serving later.
    pub fn merge(&mut self, namespace: &Namespace, sealed: Vec<Sealed>) -> MergeReport {
        let mut merging = self.start_merge(namespace, sealed);
        self.merge_some(&mut merging, usize::MAX).0
    }

    /// Checks the seals of a merge and returns it, ready to take in
    /// ([`Replica::merge_some`]). A seal held already with the same signature is not checked
    /// again.
    pub fn start_merge(&self, namespace: &Namespace, sealed: Vec<Sealed>) -> Merging {
        self.start(namespace, sealed, None)
    }

    /// [`Replica::start_merge`] of groups whose seals were checked beforehand (on another
    /// thread): their verdicts are taken in place of checking the signatures here; everything
    /// else (identity proofs, bounds, quotas) is checked as in a merge.
    pub fn start_verified_merge(&self, verified: Verified) -> Merging {
        let (namespace, sealed, verdicts) = verified.into_parts();
        self.start(&namespace, sealed, Some(verdicts))
    }

    fn start(
        &self,
        namespace: &Namespace,
        sealed: Vec<Sealed>,
        checked: Option<Vec<Result<(Seal, Tree), SealError>>>,
    ) -> Merging {
        let foreign = *namespace != self.namespace;
        if foreign || checked.as_ref().is_some_and(|c| c.len() != sealed.len()) {
            // Verdicts that do not match the groups are not trusted for anything.
            let why = if foreign { Rejection::ForeignNamespace } else { Rejection::BadSignature };
            return Merging::new(sealed.into_iter().map(|g| (g, Err(why))).collect());
        }
        let difficulty = self.rules.difficulty;
        let proven: Vec<bool> = sealed
            .iter()
            .map(|g| g.identity.holds(&self.namespace, &g.writer, difficulty))
            .collect();
        let verified: Vec<Option<(Seal, Tree)>> = match checked {
            Some(checked) => checked.into_iter().map(Result::ok).collect(),
            None => self.check_seals(&sealed, &proven),
        };
        let verdicts = verified.into_iter().zip(proven).map(|(verdict, proven)| {
            let why = if proven { Rejection::BadSignature } else { Rejection::NoIdentityProof };
            verdict.filter(|_| proven).ok_or(why)
        });
        Merging::new(sealed.into_iter().zip(verdicts).collect())
    }

    /// The seals of `sealed` that check out (those of proven writers): a seal held already
    /// with the same signature passed the same check when it was taken in; the others are
    /// checked in one batch verification.
    fn check_seals(&self, sealed: &[Sealed], proven: &[bool]) -> Vec<Option<(Seal, Tree)>> {
        let trees: Vec<Option<Tree>> = sealed
            .iter()
            .zip(proven)
            .map(|(g, proven)| g.tree().ok().filter(|_| *proven))
            .collect();
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
        sealed
            .iter()
            .zip(trees)
            .zip(held)
            .map(|((g, tree), held)| {
                let tree = tree?;
                let valid = held || verdicts.next() == Some(true);
                valid.then(|| (g.seal_of(&tree), tree))
            })
            .collect()
    }

    /// Takes in (or refuses) up to `budget` more leaves of `merging`, with the caps and quota
    /// checked per leaf; returns what this slice did, and the seals it learnt of (each once
    /// per merge, with the slice whose counters first rest on it).
    pub fn merge_some(&mut self, merging: &mut Merging, budget: usize) -> Merged {
        let mut report = MergeReport::default();
        let mut learnt = Vec::new();
        let held = self.len;
        let mut taken = 0;
        while taken < budget {
            let taking = match merging.current.as_mut() {
                Some(taking) => {
                    // Another merge may have dropped the seal since (nothing rested on it).
                    if !self.seals.holds(&taking.seal) {
                        self.seals.add(taking.seal, taking.identity, taking.tree.clone());
                    }
                    taking
                }
                None => {
                    let Some((group, verdict)) = merging.groups.next() else { break };
                    let writer = group.writer;
                    let (seal, tree) = match verdict {
                        Ok(checked) => checked,
                        Err(why) => {
                            taken += group.leaves.len();
                            let refused =
                                group.leaves.into_iter().map(|(_, l)| (l.key(writer), why));
                            report.rejected.extend(refused);
                            continue;
                        }
                    };
                    if let Some(key) = self.key_of(&writer.node) {
                        self.keys.insert(writer.node, key);
                    }
                    self.seals.add(seal, group.identity, tree.clone());
                    merging.current.insert(Taking {
                        writer,
                        identity: group.identity,
                        seal,
                        tree,
                        leaves: group.leaves.into_iter(),
                        learnt: false,
                    })
                }
            };
            let writer = taking.writer;
            let mut changed_any = false;
            for (index, leaf) in taking.leaves.by_ref().take(budget - taken) {
                taken += 1;
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
                let witness = Witness { seal: taking.seal.id(), index, counter: leaf.counter };
                match self.take(&key, leaf.counter, Some(witness)) {
                    Some(changed) => {
                        changed_any = true;
                        report.changed.push(changed);
                    }
                    None => report.stale += 1,
                }
            }
            let finished = taking.leaves.len() == 0;
            let learn = changed_any && !taking.learnt;
            taking.learnt |= changed_any;
            if finished {
                let taking = merging.current.take().expect("taken above");
                self.seals.prune(writer, taking.seal.id());
                if learn {
                    learnt.push((taking.seal, taking.identity, taking.tree));
                }
            } else if learn {
                learnt.push((taking.seal, taking.identity, taking.tree.clone()));
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
            self.seals.retain(key.writer, added.seal);
        }
        for removed in old.iter().flatten().filter(|w| !witnesses.contains(&Some(**w))) {
            self.seals.release(key.writer, removed.seal);
        }
        self.put(key, merged, witnesses);
        grew.then(|| Entry { key: key.clone(), counter: merged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Generation, StatKind, TweetId};
    use crate::proof::{Difficulty, Minter};
    use crate::rules::Rules;
    use crate::seal::verify_sealed;
    use crate::signing::Identity;

    fn replica(seed: u8, difficulty: u8) -> Replica {
        let namespace = Namespace::new("mainnet").expect("valid");
        let rules = Rules { difficulty: Difficulty(difficulty), ..Rules::DEFAULT };
        let identity = Identity::from_secret([seed; 32]);
        Replica::new(namespace, rules, identity, Generation([seed; 16]))
    }

    /// Sealed likes of writer `seed` on `count` tweets, with an identity proof of 8 bits.
    fn likes(seed: u8, count: usize) -> Vec<Sealed> {
        let mut writer = replica(seed, 8);
        let local = writer.local_writer();
        let mut minter = Minter::new(writer.namespace(), &local, Difficulty(8), 0);
        let proof = std::iter::from_fn(|| Some(minter.step(1024))).flatten().next();
        writer.set_identity_proof(proof.expect("minted")).expect("holds");
        let keys: Vec<EntryKey> = (0..count)
            .map(|i| {
                let tweet = TweetId::new(format!("t{i}")).expect("valid");
                writer.increment(&tweet, StatKind::Likes).expect("within bounds").key
            })
            .collect();
        keys.iter().flat_map(|key| writer.sealed([key])).collect()
    }

    /// A whole merge, as the replica did it before merges were sliced.
    fn merge_whole(
        replica: &mut Replica,
        groups: Vec<Sealed>,
        checked: Option<Vec<Result<(Seal, Tree), SealError>>>,
    ) -> Merged {
        let namespace = replica.namespace().clone();
        let mut merging = replica.start(&namespace, groups, checked);
        let merged = replica.merge_some(&mut merging, usize::MAX);
        assert!(merging.is_done());
        merged
    }

    /// Every counter with the leaves that vouch for it, and whether their seals are held.
    fn held(replica: &Replica) -> Vec<(Entry, Vec<Witness>, bool)> {
        let mut entries: Vec<Entry> = replica.entries().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries
            .into_iter()
            .map(|entry| {
                let witnesses = replica.witnesses(&entry.key);
                let sealed =
                    witnesses.iter().all(|w| replica.held_seal(entry.key.writer, w.seal).is_some());
                (entry, witnesses, sealed)
            })
            .collect()
    }

    /// One writer's likes on `count` tweets sealed together, then the tweets of its last
    /// `more` leaves liked again and all sealed again: two groups of `count` leaves, the
    /// second with its first `count - more` leaves as they were.
    fn two_seals(seed: u8, count: usize, more: usize) -> (Sealed, Sealed) {
        let mut writer = replica(seed, 8);
        let local = writer.local_writer();
        let mut minter = Minter::new(writer.namespace(), &local, Difficulty(8), 0);
        let proof = std::iter::from_fn(|| Some(minter.step(1024))).flatten().next();
        writer.set_identity_proof(proof.expect("minted")).expect("holds");
        let tweets: Vec<TweetId> =
            (0..count).map(|i| TweetId::new(format!("t{i}")).expect("valid")).collect();
        let keys: Vec<EntryKey> = tweets
            .iter()
            .map(|t| writer.increment(t, StatKind::Likes).expect("within bounds").key)
            .collect();
        let first = writer.sealed(&keys).remove(0);
        // Leaves go in key-hash order: the last `more` of them are liked again.
        for (_, leaf) in &first.leaves[count - more..] {
            writer.increment(&leaf.tweet, StatKind::Likes).expect("within bounds");
        }
        (first, writer.sealed(&keys).remove(0))
    }

    proptest::proptest! {
        /// A merge taken in slices of any size decides every leaf, learns every seal, and
        /// leaves the replica as one taken in whole.
        #[test]
        fn a_merge_in_slices_is_the_merge_whole(
            count in 1..40usize,
            more in 0..40usize,
            budget in 1..50usize,
            tamper in proptest::option::of(0..40usize),
        ) {
            let more = more.min(count);
            let (first, second) = two_seals(1, count, more);
            let mut groups = vec![first.clone(), second];
            groups.extend(likes(2, 3));
            if let Some(at) = tamper {
                let at = at % groups.len();
                groups[at].leaves[0].1.counter.increments += 1;
            }
            let (mut whole, mut sliced) = (replica(9, 8), replica(9, 8));
            for r in [&mut whole, &mut sliced] {
                merge_whole(r, vec![first.clone()], None);
            }
            let expected = merge_whole(&mut whole, groups.clone(), None);
            let namespace = sliced.namespace().clone();
            let mut merging = sliced.start_merge(&namespace, groups);
            let (mut report, mut learnt) = (MergeReport::default(), Vec::new());
            while !merging.is_done() {
                let (slice, seals) = sliced.merge_some(&mut merging, budget);
                proptest::prop_assert!(slice.offered() > 0, "no progress");
                proptest::prop_assert!(slice.offered() < budget + count, "a slice beyond its budget");
                report.absorb(slice);
                learnt.extend(seals);
            }
            proptest::prop_assert_eq!(report, expected.0);
            let roots = |l: &[(Seal, IdentityProof, Tree)]| -> Vec<_> {
                l.iter().map(|(s, _, t)| (s.id(), t.clone())).collect()
            };
            proptest::prop_assert_eq!(roots(&learnt), roots(&expected.1));
            proptest::prop_assert_eq!(held(&sliced), held(&whole));
            proptest::prop_assert_eq!(sliced.seal_count(), whole.seal_count());
        }
    }

    /// A merge whose first slice changed nothing, while another merge of the same seal
    /// dropped it (nothing rested on it), still keeps the seal its later leaves rest on.
    #[test]
    fn slices_of_merges_interleaved_keep_the_seals_counters_rest_on() {
        let (first, second) = two_seals(1, 20, 10);
        let namespace = Namespace::new("mainnet").expect("valid");
        let mut r = replica(9, 8);
        merge_whole(&mut r, vec![first], None);
        let mut long = r.start_merge(&namespace, vec![second.clone()]);
        let (slice, _) = r.merge_some(&mut long, 5);
        assert_eq!((slice.stale, slice.changed.len()), (5, 0), "held already");
        // The same seal's first leaves again, whole: stale, so the seal is dropped after.
        let mut short = second.clone();
        short.leaves.truncate(5);
        short.proof = second.tree().expect("whole").prove(&[0, 1, 2, 3, 4]).expect("known");
        let (report, _) = merge_whole(&mut r, vec![short], None);
        assert!(report.rejected.is_empty() && report.changed.is_empty());
        while !long.is_done() {
            r.merge_some(&mut long, 5);
        }
        let held = held(&r);
        assert_eq!(held.len(), 20);
        assert!(held.iter().all(|(_, _, sealed)| *sealed), "a counter rests on a dropped seal");
        let likes: u64 =
            (0..20).map(|i| r.stats(&TweetId::new(format!("t{i}")).expect("valid")).likes).sum();
        assert_eq!(likes, 30);
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
            let plain = merge_whole(&mut checking, groups.clone(), None);
            let verdicts = verify_sealed(&namespace, &groups);
            let before = merge_whole(&mut checked, groups.clone(), Some(verdicts));
            assert_eq!(plain.0, before.0, "round {round}");
            assert_eq!(plain.1.len(), before.1.len(), "round {round}");
        }
        let report = merge_whole(&mut checking, groups.clone(), None).0;
        assert_eq!(report.stale, 3, "the honest leaves, held after the first round");
        assert!(report.rejected.iter().any(|(_, why)| *why == Rejection::BadSignature));
        assert_eq!(checking.len(), checked.len());
        // Verdicts that do not match the groups are not trusted for anything.
        let short = verify_sealed(&namespace, &groups[..1]);
        let report = merge_whole(&mut replica(9, 0), groups.clone(), Some(short)).0;
        assert_eq!((report.changed.len(), report.rejected.len()), (0, 5));
    }
}
