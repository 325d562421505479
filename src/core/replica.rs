//! The replica: every counter of a namespace, with per-(tweet, statistic) totals kept up to
//! date on each change so reading a tweet's stats is one lookup. Local changes touch only the
//! local writer's counters; remote entries are merged after their signatures check out.
//! Pure state: no I/O, no clock, no randomness.

use std::collections::{BTreeMap, HashMap};

use ed25519_zebra::VerificationKey;

use super::counter::PnCounter;
use super::digest::{self, DigestTree, Summary};
use super::ids::{EntryKey, Namespace, NodeId, StatKind, TweetId, Writer};
use super::rules::{Caps, OutOfBounds};
use super::signing::{self, Check, Identity, Signature};

/// A counter and its key: what a change produces and what storage keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Which counter.
    pub key: EntryKey,
    /// Its value.
    pub counter: PnCounter,
}

/// An entry with its writer's signature, as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEntry {
    /// The entry.
    pub entry: Entry,
    /// The writer's signature over [`signing::signing_payload`] of the entry.
    pub signature: Signature,
}

/// A tweet's aggregated statistics: each is the sum over all writers of their counter values,
/// never below zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Likes.
    pub likes: u64,
    /// Retweets.
    pub retweets: u64,
    /// Replies.
    pub replies: u64,
    /// Views.
    pub views: u64,
}

impl Stats {
    /// The count of one statistic.
    pub fn get(&self, stat: StatKind) -> u64 {
        match stat {
            StatKind::Likes => self.likes,
            StatKind::Retweets => self.retweets,
            StatKind::Replies => self.replies,
            StatKind::Views => self.views,
        }
    }
}

/// One writer's share of a tweet's statistics (see [`Replica::contributions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution {
    /// The node, and the generation of its store, that wrote the counters.
    pub writer: Writer,
    /// Its counter for each statistic, in [`StatKind::ALL`] order (zero where it wrote none).
    pub counters: [PnCounter; 4],
}

impl Contribution {
    /// This writer's counter for one statistic.
    pub fn counter(&self, stat: StatKind) -> PnCounter {
        self.counters[stat.index()]
    }

    /// What this writer adds to one statistic (negative only if it took back more than it
    /// counted, which the aggregate never shows below zero).
    pub fn value(&self, stat: StatKind) -> i128 {
        self.counter(stat).value()
    }
}

/// Why a remote entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Its signature does not verify against the node id in its key (forged, tampered with,
    /// or signed by another node).
    BadSignature,
    /// It was signed for another namespace.
    ForeignNamespace,
    /// Its counter breaks the namespace's bounds ([`Caps::check`]).
    OutOfBounds(OutOfBounds),
}

/// What merging a batch of remote entries did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// The entries whose counters grew, with their new values.
    pub changed: Vec<Entry>,
    /// Valid entries that changed nothing: this replica held them or something newer.
    pub stale: usize,
    /// Entries refused, with the reason. Nothing of them was kept.
    pub rejected: Vec<(EntryKey, Rejection)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Total {
    increments: u128,
    decrements: u128,
}

impl Total {
    fn count(self) -> u64 {
        u64::try_from(self.increments.saturating_sub(self.decrements)).unwrap_or(u64::MAX)
    }
}

#[derive(Debug, Clone)]
struct Slot {
    counter: PnCounter,
    /// The writer's signature over exactly `counter`; `None` for local counters not yet signed
    /// since their last change.
    signature: Option<Signature>,
    /// The counter's catch-up summary: computed when the digest tree is built, and on every
    /// change after that.
    summary: Option<Summary>,
}

#[derive(Debug, Default)]
struct TweetCounters {
    totals: [Total; 4],
    slots: HashMap<(StatKind, Writer), Slot>,
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
    caps: Caps,
    len: usize,
    /// The catch-up digest tree: built when first needed, then updated on every change.
    tree: Option<DigestTree>,
}

impl Replica {
    /// An empty replica of `namespace` whose local counters are written by `identity` in
    /// `generation` of its store.
    pub fn new(
        namespace: Namespace,
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
            caps: Caps::DEFAULT,
            len: 0,
            tree: None,
        }
    }

    /// The same replica under other caps (the namespace's configuration; [`Caps::DEFAULT`]
    /// unless set). Set before anything is merged: entries are checked when they arrive.
    pub fn with_caps(mut self, caps: Caps) -> Self {
        self.caps = caps;
        self
    }

    /// The namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The caps entries are checked against.
    pub fn caps(&self) -> &Caps {
        &self.caps
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
        for (&(stat, writer), slot) in &counters.slots {
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
        self.caps.check(stat, counter)?;
        self.put(&key, counter, None);
        Ok(Entry { key, counter })
    }

    /// The entry for `key` signed by its writer, ready to leave the node. A local counter is
    /// signed here, once per change however many actions it counts; a remote one carries the
    /// signature it arrived with. `None` if the key is not held, or is a remote counter with no
    /// single signature (its writer signed two versions neither of which contains the other).
    pub fn signed(&mut self, key: &EntryKey) -> Option<SignedEntry> {
        let is_local = key.writer == self.local;
        let namespace = &self.namespace;
        let identity = &self.identity;
        let slot = self.tweets.get_mut(&key.tweet)?.slots.get_mut(&(key.stat, key.writer))?;
        if slot.signature.is_none() && is_local {
            let payload = signing::signing_payload(namespace, key, slot.counter);
            slot.signature = Some(identity.sign(&payload));
        }
        let signature = slot.signature?;
        Some(SignedEntry { entry: Entry { key: key.clone(), counter: slot.counter }, signature })
    }

    /// Merges entries from another node. Every entry is checked, whatever this replica holds
    /// (validity is a function of the entry alone): within the caps, then signed by the node in
    /// its key, all in one batch verification. An entry identical to one held, signature
    /// included, passed the same checks when it was taken in and is not checked again. Only
    /// valid entries are kept (with their signature, for relaying).
    pub fn merge(&mut self, namespace: &Namespace, entries: Vec<SignedEntry>) -> MergeReport {
        let mut report = MergeReport::default();
        if *namespace != self.namespace {
            report.rejected =
                entries.into_iter().map(|e| (e.entry.key, Rejection::ForeignNamespace)).collect();
            return report;
        }
        let mut unchecked = Vec::with_capacity(entries.len());
        for signed in entries {
            let Entry { key, counter } = &signed.entry;
            if let Err(bound) = self.caps.check(key.stat, *counter) {
                report.rejected.push((signed.entry.key, Rejection::OutOfBounds(bound)));
            } else if self.holds_exactly(&signed) {
                report.stale += 1;
            } else {
                unchecked.push(signed);
            }
        }

        let keys: Vec<Option<VerificationKey>> =
            unchecked.iter().map(|e| self.key_of(&e.entry.key.writer.node)).collect();
        let payloads: Vec<Vec<u8>> = unchecked
            .iter()
            .map(|e| signing::signing_payload(&self.namespace, &e.entry.key, e.entry.counter))
            .collect();
        let checks: Vec<Check<'_>> = unchecked
            .iter()
            .zip(&payloads)
            .zip(&keys)
            .filter_map(|((e, payload), key)| {
                Some(Check { payload, signature: &e.signature, key: key.as_ref()? })
            })
            .collect();
        let mut verdicts = signing::verify_all(&checks).into_iter();

        for (signed, key) in unchecked.into_iter().zip(keys) {
            let valid = key.is_some() && verdicts.next() == Some(true);
            let SignedEntry { entry, signature } = signed;
            if !valid {
                report.rejected.push((entry.key, Rejection::BadSignature));
                continue;
            }
            if let Some(key) = key {
                self.keys.insert(entry.key.writer.node, key);
            }
            match self.load(entry, Some(signature)) {
                Some(changed) => report.changed.push(changed),
                None => report.stale += 1,
            }
        }
        report
    }

    /// Whether this replica holds exactly this entry, with this signature.
    fn holds_exactly(&self, signed: &SignedEntry) -> bool {
        self.slot(&signed.entry.key).is_some_and(|slot| {
            slot.counter == signed.entry.counter && slot.signature == Some(signed.signature)
        })
    }

    /// Merges one entry without checking its signature: for entries read back from this node's
    /// own store, which it verified or wrote itself. Returns the entry if its counter grew.
    pub(crate) fn load(&mut self, entry: Entry, signature: Option<Signature>) -> Option<Entry> {
        let held = self.get(&entry.key);
        let held_counter = held.unwrap_or_default();
        if !held_counter.is_behind(entry.counter) {
            return None;
        }
        let merged = held_counter.merge(entry.counter);
        // A signature covers exactly one counter value: keep it only if that is the result.
        let signature = signature.filter(|_| merged == entry.counter);
        self.put(&entry.key, merged, signature);
        Some(Entry { key: entry.key, counter: merged })
    }

    /// Sets a counter (which must not shrink) and moves the totals by the difference.
    fn put(&mut self, key: &EntryKey, counter: PnCounter, signature: Option<Signature>) {
        let counters = match self.tweets.get_mut(&key.tweet) {
            Some(counters) => counters,
            None => self.tweets.entry(key.tweet.clone()).or_default(),
        };
        let slot = counters.slots.entry((key.stat, key.writer)).or_insert_with(|| {
            self.len += 1;
            Slot { counter: PnCounter::default(), signature: None, summary: None }
        });
        let total = &mut counters.totals[key.stat.index()];
        total.increments += u128::from(counter.increments - slot.counter.increments);
        total.decrements += u128::from(counter.decrements - slot.counter.decrements);
        let old = slot.summary;
        *slot = Slot { counter, signature, summary: None };
        // Once built, the tree follows every change (each slot then has its summary).
        if let Some(tree) = &mut self.tree {
            let summary = digest::summarize(key, counter);
            slot.summary = Some(summary);
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
        self.keys.get(node).copied().or_else(|| signing::public_key_of(node.peer_id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ids::Generation;

    fn replica(seed: u8) -> Replica {
        let namespace = Namespace::new("mainnet").expect("valid");
        Replica::new(namespace, Identity::from_secret([seed; 32]), Generation([seed; 16]))
    }

    fn sorted(replica: &Replica) -> Vec<Entry> {
        let mut entries: Vec<Entry> = replica.entries().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries
    }

    #[test]
    fn loading_rebuilds_state_without_signatures_and_signs_local_entries_again() {
        let t = TweetId::new("t").expect("valid");
        let mut a = replica(1);
        a.increment(&t, StatKind::Replies).expect("within bounds");
        a.increment(&t, StatKind::Replies).expect("within bounds");
        let key = EntryKey { tweet: t.clone(), stat: StatKind::Replies, writer: a.local_writer() };
        let mut b = replica(2);
        let namespace = b.namespace().clone();
        b.merge(&namespace, vec![a.signed(&key).expect("held")]);
        b.increment(&t, StatKind::Replies).expect("within bounds");

        // What a store keeps: every entry, with the signature held for a peer's.
        let saved: Vec<(Entry, Option<Signature>)> = sorted(&b)
            .into_iter()
            .map(|e| {
                let remote = e.key.writer != b.local_writer();
                let signature = remote.then(|| b.signed(&e.key).expect("held").signature);
                (e, signature)
            })
            .collect();
        let mut reloaded = replica(2);
        for (entry, signature) in saved {
            assert!(reloaded.load(entry, signature).is_some());
        }
        assert_eq!(sorted(&reloaded), sorted(&b));
        assert_eq!(reloaded.stats(&t).replies, 3);
        // Both the relayed entry and the local one can leave the node and verify elsewhere.
        let out: Vec<SignedEntry> =
            sorted(&reloaded).iter().map(|e| reloaded.signed(&e.key).expect("held")).collect();
        let mut c = replica(3);
        let report = c.merge(&namespace, out);
        assert_eq!((report.changed.len(), report.rejected.len()), (2, 0));
        assert_eq!(c.stats(&t).replies, 3);
    }
}
