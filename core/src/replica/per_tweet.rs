//! What the replica tells and drops of one tweet, for light nodes and the edge nodes serving
//! them: its digest (to send only what differs), its figures (to sign a tally), its keys in
//! key-hash order (to page through its writers), and forgetting its remote counters when a
//! light node no longer shows it (its own stay).

use super::{Replica, digest};
use crate::counter::PnCounter;
use crate::ids::{EntryKey, StatKind, TweetId, Writer};
use crate::seal::Seal;
use crate::tally::{Figures, saturated};

impl Replica {
    /// Every tweet this replica holds a counter of, in no order.
    pub fn tweets(&self) -> impl Iterator<Item = &TweetId> {
        self.tweets.keys()
    }

    /// The digest of every counter held of `tweet` but `except`'s: the XOR of their catch-up
    /// summaries' digests (zero for none). Two replicas with equal digests of a tweet hold the
    /// same counters of it (up to a 64-bit hash collision). Kept with every change: costs a
    /// lookup per statistic, however many writers the tweet has.
    pub fn tweet_digest(&self, tweet: &TweetId, except: Option<Writer>) -> u64 {
        let Some(counters) = self.tweets.get(tweet) else { return 0 };
        let Some(except) = except else { return counters.digest };
        StatKind::ALL.iter().fold(counters.digest, |acc, &stat| {
            let slot = counters.slots.get(&(stat, except));
            acc ^ slot.and_then(|slot| slot.summary).map_or(0, |summary| summary.digest)
        })
    }

    /// What this replica holds of `tweet`, as a tally states it: each statistic's sum, the
    /// writers, the digest of every counter. Kept with every change: costs nothing per writer.
    pub fn figures(&self, tweet: &TweetId) -> Figures {
        let Some(counters) = self.tweets.get(tweet) else { return Figures::default() };
        Figures {
            totals: counters.totals.map(|total| saturated(total.sum())),
            writers: counters.writers,
            digest: counters.digest,
        }
    }

    /// `writer`'s counter values of `tweet` per statistic (zero where it wrote none).
    pub fn writer_values(&self, tweet: &TweetId, writer: Writer) -> [i64; 4] {
        let Some(counters) = self.tweets.get(tweet) else { return [0; 4] };
        StatKind::ALL.map(|stat| {
            counters.slots.get(&(stat, writer)).map_or(0, |slot| saturated(slot.counter.value()))
        })
    }

    /// How many counters of `tweet` are held, `except`'s left out.
    pub fn tweet_len(&self, tweet: &TweetId, except: Option<Writer>) -> usize {
        let Some(counters) = self.tweets.get(tweet) else { return 0 };
        let excepted = except.map_or(0, |writer| {
            StatKind::ALL
                .iter()
                .filter(|&&stat| counters.slots.get(&(stat, writer)).is_some())
                .count()
        });
        counters.slots.len() - excepted
    }

    /// The keys of `tweet`'s counters, `except`'s left out, with their key hashes, in
    /// key-hash order (ties by key).
    pub fn tweet_keys(&self, tweet: &TweetId, except: Option<Writer>) -> Vec<(u64, EntryKey)> {
        self.tweet_keys_after(tweet, except, None, usize::MAX).0
    }

    /// Like [`Replica::tweet_keys`], only those whose key hash comes after `after` (all for
    /// `None`), the first `limit` of them with every other key sharing the last one's hash;
    /// and whether more follow. One pass over the tweet's counters, no hashing (each keeps its
    /// summary) and no sort beyond the keys returned: a page of a popular tweet's writers
    /// costs about a microsecond per hundred counters.
    pub fn tweet_keys_after(
        &self,
        tweet: &TweetId,
        except: Option<Writer>,
        after: Option<u64>,
        limit: usize,
    ) -> (Vec<(u64, EntryKey)>, bool) {
        let Some(counters) = self.tweets.get(tweet) else { return (Vec::new(), false) };
        let mut found: Vec<(u64, StatKind, Writer)> = counters
            .slots
            .iter()
            .filter(|((_, writer), _)| Some(*writer) != except)
            .map(|(&(stat, writer), slot)| {
                let hash = slot.summary.map_or_else(
                    || digest::key_hash(&EntryKey { tweet: tweet.clone(), stat, writer }),
                    |summary| summary.key_hash,
                );
                (hash, stat, writer)
            })
            .filter(|(hash, _, _)| after.is_none_or(|after| *hash > after))
            .collect();
        let mut more = false;
        if limit > 0 && found.len() > limit {
            found.select_nth_unstable(limit - 1);
            let last = found[limit - 1].0;
            // Keys sharing the last one's hash go on the same page: moved next to it.
            let tail = &mut found[limit..];
            let mut ties = 0;
            for at in 0..tail.len() {
                if tail[at].0 == last {
                    tail.swap(at, ties);
                    ties += 1;
                }
            }
            more = tail.len() > ties;
            found.truncate(limit + ties);
        }
        found.sort_unstable();
        let keys = found
            .into_iter()
            .map(|(hash, stat, writer)| (hash, EntryKey { tweet: tweet.clone(), stat, writer }))
            .collect();
        (keys, more)
    }

    /// Drops every counter of `tweet` written by other nodes, with the seals only they rested
    /// on; this node's own counters stay (they are its writes, never fetched back). Returns
    /// what it dropped. What is forgotten is fetched again if the tweet is asked for later.
    pub fn forget(&mut self, tweet: &TweetId) -> Forgotten {
        let local = self.local;
        let Some(counters) = self.tweets.get_mut(tweet) else { return Forgotten::default() };
        let gone = counters.slots.drain_where(|(_, writer)| *writer != local);
        for ((stat, _), slot) in &gone {
            counters.totals[stat.index()].replace(slot.counter, PnCounter::default());
            counters.digest ^= slot.summary.map_or(0, |summary| summary.digest);
        }
        // Only this node's own counters are left: at most one writer.
        counters.writers = u32::from(!counters.slots.is_empty());
        if counters.slots.is_empty() {
            self.tweets.remove(tweet);
        }
        let mut forgotten = Forgotten { keys: Vec::with_capacity(gone.len()), seals: Vec::new() };
        for ((stat, writer), slot) in gone {
            let key = EntryKey { tweet: tweet.clone(), stat, writer };
            for witness in slot.witnesses.iter().flatten() {
                forgotten.seals.extend(self.seals.release(writer, witness.seal));
            }
            if let (Some(tree), Some(summary)) = (&mut self.tree, slot.summary) {
                tree.remove(&key, summary);
            }
            self.quota.uncount(writer);
            self.len -= 1;
            forgotten.keys.push(key);
        }
        forgotten
    }
}

/// What [`Replica::forget`] dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// The counters.
    pub keys: Vec<EntryKey>,
    /// The seals no counter rested on any more.
    pub seals: Vec<Seal>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::ids::{Generation, Namespace};
    use crate::proof::{Difficulty, IdentityProof};
    use crate::rules::Rules;
    use crate::signing::Identity;

    fn replica(seed: u8) -> Replica {
        let namespace = Namespace::new("mainnet").expect("valid");
        let rules = Rules { difficulty: Difficulty(0), ..Rules::DEFAULT };
        let identity = Identity::from_secret([seed; 32]);
        let mut replica = Replica::new(namespace, rules, identity, Generation([seed; 16]));
        replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
        replica
    }

    fn tweet(id: &str) -> TweetId {
        TweetId::new(id).expect("valid")
    }

    /// Writer `seed`'s likes: `likes[i]` on tweet `t{i}`, sealed.
    fn writer(seed: u8, likes: &[u64]) -> Vec<crate::seal::Sealed> {
        let mut writer = replica(seed);
        let mut keys = Vec::new();
        for (i, &n) in likes.iter().enumerate() {
            for _ in 0..n {
                keys.push(
                    writer.increment(&tweet(&format!("t{i}")), StatKind::Likes).expect("ok").key,
                );
            }
        }
        keys.dedup();
        writer.sealed(&keys)
    }

    /// `tweet`'s digest but `except`'s and its figures, computed afresh from every entry held.
    fn recounted(r: &Replica, tweet: &TweetId, except: Option<Writer>) -> (u64, Figures) {
        let mut sums = [0i128; 4];
        let (mut writers, mut digest, mut all) = (BTreeSet::new(), 0, 0);
        for entry in r.entries().filter(|e| e.key.tweet == *tweet) {
            sums[entry.key.stat.index()] += entry.counter.value();
            writers.insert(entry.key.writer);
            let summary = super::digest::summarize(&entry.key, entry.counter).digest;
            all ^= summary;
            if Some(entry.key.writer) != except {
                digest ^= summary;
            }
        }
        let figures =
            Figures { totals: sums.map(saturated), writers: writers.len() as u32, digest: all };
        (digest, figures)
    }

    /// Every tweet's digest (but each writer's, and whole) and figures are what its entries
    /// make, as kept with each change.
    fn kept_as_recounted(r: &Replica) -> Result<(), proptest::test_runner::TestCaseError> {
        let writers: BTreeSet<Writer> = r.entries().map(|e| e.key.writer).collect();
        for t in 0..4 {
            let t = tweet(&format!("t{t}"));
            for except in std::iter::once(None).chain(writers.iter().copied().map(Some)) {
                let (digest, figures) = recounted(r, &t, except);
                proptest::prop_assert_eq!(r.tweet_digest(&t, except), digest);
                proptest::prop_assert_eq!(r.figures(&t), figures);
                let held = r.entries().filter(|e| e.key.tweet == t && Some(e.key.writer) != except);
                proptest::prop_assert_eq!(r.tweet_len(&t, except), held.count());
                if let Some(writer) = except {
                    let values = StatKind::ALL.map(|stat| {
                        r.entries()
                            .find(|e| {
                                e.key.tweet == t && e.key.stat == stat && e.key.writer == writer
                            })
                            .map_or(0, |e| saturated(e.counter.value()))
                    });
                    proptest::prop_assert_eq!(r.writer_values(&t, writer), values);
                }
            }
        }
        Ok(())
    }

    proptest::proptest! {
        /// Forgetting a tweet leaves the replica as if its remote counters had never come:
        /// the same counters, totals, digests (tree and per tweet), seals and quota counts.
        #[test]
        fn forgetting_a_tweet_is_never_having_had_its_remote_counters(
            writers in proptest::collection::vec(proptest::collection::vec(0..3u64, 1..4), 1..4),
            own in proptest::collection::vec(0..3u64, 1..4),
            forgotten in 0..4usize,
            tree_first in proptest::bool::ANY,
        ) {
            let namespace = Namespace::new("mainnet").expect("valid");
            let forgotten = tweet(&format!("t{forgotten}"));
            let (mut full, mut never) = (replica(9), replica(9));
            for r in [&mut full, &mut never] {
                r.set_writer_quota(Some(1000));
                for (i, &n) in own.iter().enumerate() {
                    for _ in 0..n {
                        r.increment(&tweet(&format!("t{i}")), StatKind::Likes).expect("ok");
                        r.increment(&tweet(&format!("t{i}")), StatKind::Views).expect("ok");
                    }
                }
                if tree_first {
                    r.sync_digest();
                }
            }
            for (w, likes) in writers.iter().enumerate() {
                let sealed = writer(w as u8 + 20, likes);
                full.merge(&namespace, sealed.clone());
                // The same leaves, but none on the forgotten tweet.
                let kept: Vec<_> = sealed.into_iter().filter_map(|mut g| {
                    let keep: Vec<u32> = g.leaves.iter().filter(|(_, l)| l.tweet != forgotten).map(|(i, _)| *i).collect();
                    let tree = g.tree().ok()?;
                    g.leaves.retain(|(_, l)| l.tweet != forgotten);
                    g.proof = tree.prove(&keep)?;
                    (!g.leaves.is_empty()).then_some(g)
                }).collect();
                never.merge(&namespace, kept);
            }
            kept_as_recounted(&full)?;
            let dropped = full.forget(&forgotten).keys;
            kept_as_recounted(&full)?;
            proptest::prop_assert!(dropped.iter().all(|k| k.tweet == forgotten && k.writer != full.local_writer()));
            let sorted = |r: &Replica| {
                let mut e: Vec<_> = r.entries().collect();
                e.sort_by(|a, b| a.key.cmp(&b.key));
                e
            };
            proptest::prop_assert_eq!(sorted(&full), sorted(&never));
            proptest::prop_assert_eq!(full.len(), never.len());
            proptest::prop_assert_eq!(full.stats(&forgotten), never.stats(&forgotten));
            proptest::prop_assert_eq!(full.tweet_digest(&forgotten, None), never.tweet_digest(&forgotten, None));
            proptest::prop_assert_eq!(full.seal_count(), never.seal_count());
            proptest::prop_assert_eq!(full.sync_digest(), never.sync_digest());
        }
    }

    #[test]
    fn a_tweets_digest_is_what_its_counters_are() {
        let namespace = Namespace::new("mainnet").expect("valid");
        let (mut a, mut b) = (replica(1), replica(2));
        assert_eq!(a.tweet_digest(&tweet("t0"), None), 0, "nothing held");
        let likes = writer(30, &[2, 1]);
        a.merge(&namespace, likes.clone());
        assert_ne!(a.tweet_digest(&tweet("t0"), None), b.tweet_digest(&tweet("t0"), None));
        b.merge(&namespace, likes);
        assert_eq!(a.tweet_digest(&tweet("t0"), None), b.tweet_digest(&tweet("t0"), None));
        // The digest follows the tree's summaries once it is built, and before.
        let before = a.tweet_digest(&tweet("t1"), None);
        a.sync_digest();
        assert_eq!(a.tweet_digest(&tweet("t1"), None), before);
        a.increment(&tweet("t1"), StatKind::Likes).expect("ok");
        assert_ne!(a.tweet_digest(&tweet("t1"), None), before);
    }

    #[test]
    fn forgetting_keeps_this_nodes_own_counters() {
        let namespace = Namespace::new("mainnet").expect("valid");
        let mut r = replica(1);
        r.increment(&tweet("t0"), StatKind::Likes).expect("ok");
        r.merge(&namespace, writer(30, &[3]));
        assert_eq!(r.stats(&tweet("t0")).likes, 4);
        let forgotten = r.forget(&tweet("t0"));
        assert_eq!(forgotten.keys.len(), 1);
        assert_eq!(forgotten.seals.len(), 1, "the seal it rested on");
        assert_eq!(r.stats(&tweet("t0")).likes, 1);
        assert_eq!(r.len(), 1);
        assert_eq!(r.seal_count(), 0, "the seal nothing rests on any more is dropped");
        assert_eq!(r.forget(&tweet("t0")), Forgotten::default());
        assert_eq!(r.forget(&tweet("unknown")), Forgotten::default());
    }
}
