//! The replica: every counter of a namespace, with per-(tweet, statistic) totals kept up to
//! date on each change so reading a tweet's stats is one lookup. Local changes touch only the
//! local writer's counters, sealed when they leave; remote counters are merged from sealed
//! leaves after the seals check out, and kept with the leaves that vouch for them.
//! Pure state: no I/O, no clock, no randomness.

use std::collections::{BTreeMap, HashMap};

use ed25519_zebra::VerificationKey;

use super::counter::PnCounter;
use super::digest::{self, DigestTree, Summary};
use super::ids::{EntryKey, Namespace, NodeId, StatKind, TweetId, Writer};
use super::merkle::Tree;
use super::proof::{IdentityProof, WeakProof};
use super::quota::Quota;
use super::rules::{Caps, OutOfBounds, Rules};
use super::seal::{self, Leaf, Seal, Sealed};
use super::signing::{self, Identity};
use super::totals::{Contribution, Stats, Total};
use super::witness::{MAX_SERVED_LEAVES, SealTable, Witness, Witnesses};

mod merging;
mod per_tweet;
pub use merging::{Merged, Merging};
pub use per_tweet::Forgotten;
mod slots;

use slots::Slots;

/// A counter and its key: what a change produces and what storage keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Which counter.
    pub key: EntryKey,
    /// Its value.
    pub counter: PnCounter,
}

/// Why a remote entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// Its seal does not verify: the signature is not the writer's over the root its leaves and
    /// proof make (forged, tampered with, signed by another node, or a malformed proof).
    BadSignature,
    /// Its writer has no identity proof at the namespace's difficulty.
    NoIdentityProof,
    /// It was signed for another namespace.
    ForeignNamespace,
    /// Its counter breaks the namespace's bounds ([`Caps::check`]).
    OutOfBounds(OutOfBounds),
    /// Valid, but a new counter beyond this replica's storage policy: its writer's quota
    /// ([`Replica::set_writer_quota`]) or the replica's budget
    /// ([`Replica::set_storage_budget`]); a local policy, not the sender's fault.
    OverQuota,
}

/// What merging sealed leaves from peers did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// The entries whose counters grew, with their new values.
    pub changed: Vec<Entry>,
    /// Valid entries that changed nothing: this replica held them or something newer.
    pub stale: usize,
    /// Entries refused, with the reason. Nothing of them was kept.
    pub rejected: Vec<(EntryKey, Rejection)>,
    /// How many of the changed entries are counters this replica did not hold before: what
    /// the merge added to its size.
    pub added: usize,
}

impl MergeReport {
    /// How many entries were offered.
    pub fn offered(&self) -> usize {
        self.changed.len() + self.stale + self.rejected.len()
    }

    /// Adds what a later slice of the same merge did.
    pub fn absorb(&mut self, slice: MergeReport) {
        self.changed.extend(slice.changed);
        self.stale += slice.stale;
        self.rejected.extend(slice.rejected);
        self.added += slice.added;
    }
}

#[derive(Debug, Clone)]
struct Slot {
    counter: PnCounter,
    /// The leaves that vouch for a remote counter (none for local ones, sealed when served).
    witnesses: Witnesses,
    /// The counter's catch-up summary, computed on every change (`None` only in a slot just
    /// made, before its first counter is put).
    summary: Option<Summary>,
}

#[derive(Debug, Default)]
struct TweetCounters {
    totals: [Total; 4],
    slots: Slots,
    /// The XOR of every slot's summary digest (the tweet's digest), kept with each change.
    digest: u64,
    /// The distinct writers of the slots.
    writers: u32,
}

/// All counters of one namespace as seen by one node.
#[derive(Debug)]
pub struct Replica {
    namespace: Namespace,
    identity: Identity,
    local: Writer,
    tweets: HashMap<TweetId, TweetCounters>,
    /// Public keys of nodes whose signatures have verified, so each id is decoded once.
    keys: HashMap<NodeId, VerificationKey>,
    /// The seals remote counters rest on.
    seals: SealTable,
    /// The local writer's identity proof, once minted: its counters are served only with one.
    proof: Option<IdentityProof>,
    rules: Rules,
    len: usize,
    quota: Quota,
    /// The catch-up digest tree: built when first needed, then updated on every change.
    tree: Option<DigestTree>,
}

impl Replica {
    /// An empty replica of `namespace` under its `rules` (every node of a namespace uses the
    /// same ones: entries are checked against them when they arrive), whose local counters are
    /// written by `identity` in `generation` of its store.
    pub fn new(
        namespace: Namespace,
        rules: Rules,
        identity: Identity,
        generation: super::ids::Generation,
    ) -> Self {
        let local = Writer { node: identity.node_id(), generation };
        Self {
            namespace,
            identity,
            local,
            tweets: HashMap::new(),
            keys: HashMap::new(),
            seals: SealTable::default(),
            proof: None,
            rules,
            len: 0,
            quota: Quota::default(),
            tree: None,
        }
    }

    /// Keeps at most `limit` counters of any one remote writer (none: no limit, the default);
    /// new ones beyond are refused as [`Rejection::OverQuota`]. A local storage policy.
    pub fn set_writer_quota(&mut self, limit: Option<usize>) {
        self.quota.set_limit(limit);
    }

    /// Keeps at most `budget` counters in all (none: no limit, the default): new counters of
    /// remote writers beyond it are refused as [`Rejection::OverQuota`], and its last tenth
    /// only takes those of writers holding few (a thousandth of it, at least 16), so writers
    /// that filled the rest cannot keep new ones from counting. Held counters still take
    /// updates. A local storage policy: what a node keeps is bounded in total, not only per
    /// writer.
    pub fn set_storage_budget(&mut self, budget: Option<usize>) {
        self.quota.set_budget(budget);
    }

    /// Sets the local writer's identity proof, sent with every seal it signs; an error (and
    /// nothing set) if it does not hold at the namespace's difficulty. Until one is set, local
    /// counters are counted but not served ([`Replica::sealed`] leaves them out).
    pub fn set_identity_proof(&mut self, proof: IdentityProof) -> Result<(), WeakProof> {
        let difficulty = self.rules.difficulty;
        if !proof.holds(&self.namespace, &self.local, difficulty) {
            return Err(WeakProof { difficulty });
        }
        self.proof = Some(proof);
        Ok(())
    }

    /// The local writer's identity proof, if set.
    pub fn identity_proof(&self) -> Option<IdentityProof> {
        self.proof
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The caps entries are checked against.
    pub fn caps(&self) -> &Caps {
        &self.rules.caps
    }

    /// The rules entries are checked against.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The writer of this node's own counters.
    pub fn local_writer(&self) -> Writer {
        self.local
    }

    /// The identity that signs this node's counters.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// How many counters the replica holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the replica holds no counter.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A tweet's aggregated statistics, in constant time whatever the number of writers.
    pub fn stats(&self, tweet: &TweetId) -> Stats {
        let Some(counters) = self.tweets.get(tweet) else { return Stats::default() };
        let [likes, retweets, replies, views] = counters.totals.map(Total::count);
        Stats { likes, retweets, replies, views }
    }

    /// One statistic of a tweet, aggregated over all writers.
    pub fn count(&self, tweet: &TweetId, stat: StatKind) -> u64 {
        self.tweets.get(tweet).map_or(0, |c| c.totals[stat.index()].count())
    }

    /// The counter held for a key, if any.
    pub fn get(&self, key: &EntryKey) -> Option<PnCounter> {
        self.slot(key).map(|slot| slot.counter)
    }

    /// Every counter held, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.tweets.iter().flat_map(|(tweet, counters)| {
            counters.slots.iter().map(move |(&(stat, writer), slot)| Entry {
                key: EntryKey { tweet: tweet.clone(), stat, writer },
                counter: slot.counter,
            })
        })
    }

    /// Every writer's share of one tweet's statistics, ordered by writer: what each node (in
    /// each generation of its store) contributed to [`Replica::stats`].
    pub fn contributions(&self, tweet: &TweetId) -> Vec<Contribution> {
        let Some(counters) = self.tweets.get(tweet) else { return Vec::new() };
        let mut shares: BTreeMap<Writer, [PnCounter; 4]> = BTreeMap::new();
        for (&(stat, writer), slot) in counters.slots.iter() {
            shares.entry(writer).or_default()[stat.index()] = slot.counter;
        }
        shares.into_iter().map(|(writer, counters)| Contribution { writer, counters }).collect()
    }

    /// Adds one to this node's counter for `tweet` and `stat`; returns the changed entry, or
    /// an error (changing nothing) if that would take it above the stat's cap.
    pub fn increment(&mut self, tweet: &TweetId, stat: StatKind) -> Result<Entry, OutOfBounds> {
        self.bump(tweet, stat, PnCounter::new(1, 0))
    }

    /// Takes one from this node's counter for `tweet` and `stat`; returns the changed entry, or
    /// an error (changing nothing) if that would take it below zero.
    pub fn decrement(&mut self, tweet: &TweetId, stat: StatKind) -> Result<Entry, OutOfBounds> {
        self.bump(tweet, stat, PnCounter::new(0, 1))
    }

    fn bump(
        &mut self,
        tweet: &TweetId,
        stat: StatKind,
        step: PnCounter,
    ) -> Result<Entry, OutOfBounds> {
        let key = EntryKey { tweet: tweet.clone(), stat, writer: self.local };
        let held = self.get(&key).unwrap_or_default();
        let counter = PnCounter::new(
            held.increments.saturating_add(step.increments),
            held.decrements.saturating_add(step.decrements),
        );
        self.rules.caps.check(stat, counter)?;
        self.put(&key, counter, [None, None]);
        Ok(Entry { key, counter })
    }

    /// The entries with these keys, sealed, ready to leave the node: local counters under a
    /// seal signed here (one signature per [`MAX_SERVED_LEAVES`]), remote ones with the
    /// leaves that vouch for them and their seals' proofs. Keys not held are left out, as are
    /// halves of remote counters no leaf vouches for, and local counters until the local
    /// writer's identity proof is set. A local seal's leaves go in key-hash order, the order
    /// catch-up fetches in, so whatever range of it a peer asks for later is proven compactly.
    pub fn sealed<'a>(&self, keys: impl IntoIterator<Item = &'a EntryKey>) -> Vec<Sealed> {
        let mut local = Vec::new();
        let mut remote = Vec::new();
        for key in keys {
            let Some(slot) = self.slot(key) else { continue };
            if key.writer == self.local {
                let leaf = Leaf { tweet: key.tweet.clone(), stat: key.stat, counter: slot.counter };
                local.push((digest::key_hash(key), leaf));
            } else {
                remote.extend(slot.witnesses.iter().flatten().map(|w| (key, *w)));
            }
        }
        local.sort_unstable_by_key(|(hash, _)| *hash);
        let local: Vec<Leaf> = local.into_iter().map(|(_, leaf)| leaf).collect();
        let proof = self.proof;
        let mut out: Vec<Sealed> = local
            .chunks(MAX_SERVED_LEAVES)
            .filter_map(|chunk| {
                let proof = proof?;
                let (seal, tree) = seal::seal_leaves(
                    &self.identity,
                    &self.namespace,
                    self.local.generation,
                    chunk,
                )
                .ok()?;
                let leaves = (0..).zip(chunk.iter().cloned()).collect();
                Sealed::of(&seal, proof, &tree, leaves)
            })
            .collect();
        out.extend(self.seals.serve(remote));
        out
    }

    /// Merges one counter read back from this node's own store, which verified or wrote it,
    /// with the leaves that vouched for it there (whose seals [`Replica::load_seal`] loaded
    /// first). Returns the entry if its counter grew.
    pub(crate) fn load(&mut self, entry: Entry, witnesses: &[Witness]) -> Option<Entry> {
        let changed = self.take(&entry.key, entry.counter, None);
        for witness in witnesses {
            if self.seals.contains(entry.key.writer, witness.seal) {
                self.take(&entry.key, witness.counter, Some(*witness));
            }
        }
        changed
    }

    /// Takes in a seal read back from this node's own store (not checked again).
    pub(crate) fn load_seal(&mut self, seal: Seal, identity: IdentityProof, tree: Tree) {
        self.seals.add(seal, identity, tree);
    }

    /// The leaves that vouch for a held remote counter.
    pub(crate) fn witnesses(&self, key: &EntryKey) -> Vec<Witness> {
        self.slot(key)
            .map_or_else(Vec::new, |slot| slot.witnesses.iter().flatten().copied().collect())
    }

    /// A held seal, by writer and [`SealId`].
    #[cfg(test)]
    pub(crate) fn held_seal(
        &self,
        writer: Writer,
        seal: super::witness::SealId,
    ) -> Option<&super::witness::HeldSeal> {
        self.seals.get(writer, seal)
    }

    /// How many seals remote counters rest on.
    pub fn seal_count(&self) -> usize {
        self.seals.len()
    }

    /// Sets a counter (which must not shrink) and moves the totals by the difference.
    fn put(&mut self, key: &EntryKey, counter: PnCounter, witnesses: Witnesses) {
        let counters = match self.tweets.get_mut(&key.tweet) {
            Some(counters) => counters,
            None => self.tweets.entry(key.tweet.clone()).or_default(),
        };
        if !StatKind::ALL.iter().any(|&stat| counters.slots.get(&(stat, key.writer)).is_some()) {
            counters.writers += 1;
        }
        let slot = counters.slots.get_or_insert_with((key.stat, key.writer), || {
            self.len += 1;
            self.quota.count(key.writer);
            Slot { counter: PnCounter::default(), witnesses: [None, None], summary: None }
        });
        counters.totals[key.stat.index()].replace(slot.counter, counter);
        let old = slot.summary;
        let summary = digest::summarize(key, counter);
        counters.digest ^= old.map_or(0, |old| old.digest) ^ summary.digest;
        *slot = Slot { counter, witnesses, summary: Some(summary) };
        // Once built, the tree follows every change.
        if let Some(tree) = &mut self.tree {
            tree.update(key, old, summary);
        }
    }

    /// The digest of every entry held: two replicas with equal digests hold the same entries
    /// (up to a 64-bit hash collision), so a catch-up between them would fetch nothing.
    pub fn sync_digest(&mut self) -> u64 {
        self.digest_tree().root()
    }

    /// The catch-up digest tree, built on first use (and kept up to date by [`Replica::put`]).
    pub(crate) fn digest_tree(&mut self) -> &DigestTree {
        let tweets = &mut self.tweets;
        self.tree.get_or_insert_with(|| {
            DigestTree::build(tweets.iter_mut().flat_map(|(tweet, counters)| {
                counters.slots.iter_mut().map(move |(&(stat, writer), slot)| {
                    let key = EntryKey { tweet: tweet.clone(), stat, writer };
                    let summary =
                        *slot.summary.get_or_insert_with(|| digest::summarize(&key, slot.counter));
                    (key, summary)
                })
            }))
        })
    }

    fn slot(&self, key: &EntryKey) -> Option<&Slot> {
        self.tweets.get(&key.tweet)?.slots.get(&(key.stat, key.writer))
    }

    fn key_of(&self, node: &NodeId) -> Option<VerificationKey> {
        self.keys.get(node).copied().or_else(|| signing::public_key_of(node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Generation;

    fn replica(seed: u8) -> Replica {
        let namespace = Namespace::new("mainnet").expect("valid");
        let rules = Rules { difficulty: super::super::proof::Difficulty(0), ..Rules::DEFAULT };
        let identity = Identity::from_secret([seed; 32]);
        let mut replica = Replica::new(namespace, rules, identity, Generation([seed; 16]));
        replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
        replica
    }

    fn sorted(replica: &Replica) -> Vec<Entry> {
        let mut entries: Vec<Entry> = replica.entries().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries
    }

    #[test]
    fn loading_rebuilds_state_and_seals_and_everything_can_be_served_again() {
        let t = TweetId::new("t").expect("valid");
        let mut a = replica(1);
        a.increment(&t, StatKind::Replies).expect("within bounds");
        a.increment(&t, StatKind::Replies).expect("within bounds");
        let key = EntryKey { tweet: t.clone(), stat: StatKind::Replies, writer: a.local_writer() };
        let mut b = replica(2);
        let namespace = b.namespace().clone();
        b.merge(&namespace, a.sealed([&key]));
        b.increment(&t, StatKind::Replies).expect("within bounds");

        // What a store keeps: every entry with its witnesses, and the seals they rest on.
        let mut reloaded = replica(2);
        for entry in sorted(&b) {
            for witness in b.witnesses(&entry.key) {
                let held = b.held_seal(entry.key.writer, witness.seal).expect("held");
                reloaded.load_seal(held.seal, held.identity, held.tree.clone());
            }
        }
        for entry in sorted(&b) {
            let witnesses = b.witnesses(&entry.key);
            assert!(reloaded.load(entry, &witnesses).is_some());
        }
        assert_eq!(sorted(&reloaded), sorted(&b));
        assert_eq!(reloaded.stats(&t).replies, 3);
        // Both the relayed entry and the local one can leave the node and verify elsewhere.
        let keys: Vec<EntryKey> = sorted(&reloaded).into_iter().map(|e| e.key).collect();
        let mut c = replica(3);
        let report = c.merge(&namespace, reloaded.sealed(&keys));
        assert_eq!((report.changed.len(), report.rejected.len()), (2, 0));
        assert_eq!(c.stats(&t).replies, 3);
    }
}
