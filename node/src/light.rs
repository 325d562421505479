//! A light node's side of the runtime: which tweets it holds other writers' counters of
//! ([`Interest`]: the watched ones, then the most recently used up to a bound; the order of
//! use kept in `used/{tweet}` records so a reload evicts in the same order), forgetting the
//! rest in memory and in the store, the tallies its edge nodes sent of popular tweets (kept in
//! `tally/{tweet}` records, so a reload shows them at once), which watched tweets an edge node
//! answered, and the statistics shown, each said to be loaded (current as of such an answer) and
//! verified (made from writers' signed entries held here) or not.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use super::{Node, schema};
use warpnet_stats_core::{
    EntryKey, Interest, Stats, TweetId,
    light::{Figures, Tallied},
};
use warpnet_stats_store::{Store, StoreError, Write};

/// A tweet's statistics as a node shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// The counts.
    pub stats: Stats,
    /// Whether they are made from writers' signed entries held here (else they are an edge
    /// node's tally, with this node's own counts as it holds them), and loaded.
    pub verified: bool,
    /// Whether they are current: on a light node, an edge node answered since the tweet was
    /// watched ([`Node::answered`]); always on a full node (which receives everything).
    pub loaded: bool,
}

/// Told of the tweets whose counts shown changed other than by a commit.
type ShownChanged = Rc<dyn Fn(&[TweetId])>;

/// What a light node holds and was told.
#[derive(Default)]
pub(super) struct LightState {
    /// Which tweets are held (a light node's; `None` for a full node).
    interest: Option<Interest>,
    /// The last use of each tweet, as stored: read at open, kept up to date once light.
    used: HashMap<TweetId, u64>,
    next_use: u64,
    tallies: HashMap<TweetId, Tallied>,
    /// The figures every writer's entries of a tweet made when last checked.
    confirmed: HashMap<TweetId, Figures>,
    /// The watched tweets an edge node answered since they were watched.
    loaded: HashSet<TweetId>,
    /// Told of the tweets whose counts shown changed other than by a commit.
    on_shown: Vec<ShownChanged>,
}

impl std::fmt::Debug for LightState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightState")
            .field("interest", &self.interest)
            .field("tallies", &self.tallies.len())
            .finish_non_exhaustive()
    }
}

impl LightState {
    /// The state of a node whose store holds these `used/` and `tally/` records.
    pub(super) fn opened(used: Vec<(TweetId, u64)>, tallies: Vec<Tallied>) -> Self {
        let next_use = used.iter().map(|(_, n)| n + 1).max().unwrap_or(0);
        let tallies = tallies.into_iter().map(|t| (t.tally.tweet.clone(), t)).collect();
        Self { used: used.into_iter().collect(), next_use, tallies, ..Self::default() }
    }
}

impl<S: Store> Node<S> {
    /// Makes this a light node: it holds other writers' counters of at most `max_tweets` tweets
    /// (at least one): those it watches, then those it used most recently (in the order of use
    /// kept in the store). Tweets held beyond (a store written with a larger bound, or by a
    /// full node) are forgotten now, least recently used first; its own counters always stay.
    pub async fn hold_at_most(&self, max_tweets: usize) -> Result<(), StoreError> {
        let mut held: BTreeSet<TweetId> = self.with_replica(|r| {
            let local = r.local_writer();
            r.entries().filter(|e| e.key.writer != local).map(|e| e.key.tweet).collect()
        });
        let mut interest = Interest::new(max_tweets);
        let evicted = {
            let mut light = self.light.borrow_mut();
            held.extend(light.used.keys().cloned());
            let mut order: Vec<(u64, &TweetId)> = held
                .iter()
                .map(|tweet| (light.used.get(tweet).copied().unwrap_or(0), tweet))
                .collect();
            order.sort();
            let evicted: Vec<TweetId> =
                order.into_iter().flat_map(|(_, tweet)| interest.touch(tweet)).collect();
            light.interest = Some(interest);
            evicted
        };
        self.forget(evicted, Vec::new()).await
    }

    /// This light node shows `tweets` (until [`Node::unwatch`]): they are held, and tweets no
    /// longer watched nor recently used are forgotten to make room. Does nothing on a full node.
    pub async fn watch(&self, tweets: &[TweetId]) -> Result<(), StoreError> {
        self.use_tweets(tweets, Interest::watch).await
    }

    /// This light node used `tweets` without watching them (acted on them): held as recently
    /// used.
    pub async fn touch(&self, tweets: &[TweetId]) -> Result<(), StoreError> {
        self.use_tweets(tweets, Interest::touch).await
    }

    /// This light node no longer shows `tweets`: held as recently used until room is needed,
    /// and no longer loaded once no watch of them is left (their edge nodes stop pushing; the
    /// observers are told).
    pub fn unwatch(&self, tweets: &[TweetId]) {
        let (unloaded, observers) = {
            let mut light = self.light.borrow_mut();
            let LightState { interest: Some(interest), loaded, on_shown, .. } = &mut *light else {
                return;
            };
            let mut unloaded = Vec::new();
            for tweet in tweets {
                interest.unwatch(tweet);
                if !interest.is_watched(tweet) && loaded.remove(tweet) {
                    unloaded.push(tweet.clone());
                }
            }
            (unloaded, on_shown.clone())
        };
        if !unloaded.is_empty() {
            for observer in observers {
                observer(&unloaded);
            }
        }
    }

    /// An edge node answered this light node's watch of `tweets` and what it sent is taken
    /// in: those still watched are loaded (their counts current), and the observers are told
    /// of those newly so, whether or not their counts changed.
    pub fn answered(&self, tweets: &[TweetId]) {
        let (loaded, observers) = {
            let mut light = self.light.borrow_mut();
            let LightState { interest: Some(interest), loaded, on_shown, .. } = &mut *light else {
                return;
            };
            let newly: Vec<TweetId> = tweets
                .iter()
                .filter(|t| interest.is_watched(t) && loaded.insert((*t).clone()))
                .cloned()
                .collect();
            (newly, on_shown.clone())
        };
        if !loaded.is_empty() {
            for observer in observers {
                observer(&loaded);
            }
        }
    }

    /// How many tweets this light node holds other writers' counters of (`None`: a full node).
    pub fn held_tweets(&self) -> Option<usize> {
        self.light.borrow().interest.as_ref().map(Interest::len)
    }

    async fn use_tweets(
        &self,
        tweets: &[TweetId],
        use_one: fn(&mut Interest, &TweetId) -> Vec<TweetId>,
    ) -> Result<(), StoreError> {
        let (evicted, writes) = {
            let mut light = self.light.borrow_mut();
            let light = &mut *light;
            let Some(interest) = light.interest.as_mut() else { return Ok(()) };
            let mut evicted = Vec::new();
            let mut writes = Vec::new();
            for tweet in tweets {
                evicted.extend(use_one(interest, tweet));
                light.used.insert(tweet.clone(), light.next_use);
                writes.push((schema::used_key(tweet), Some(light.next_use.to_be_bytes().to_vec())));
                light.next_use += 1;
            }
            (evicted, writes)
        };
        self.forget(evicted, writes).await
    }

    /// Forgets other writers' counters of `tweets` in memory and in the store (folding the
    /// journal first, so none of their rows stays there), with `writes` in the same
    /// transaction; then the records of the seals they alone rested on.
    async fn forget(&self, tweets: Vec<TweetId>, mut writes: Vec<Write>) -> Result<(), StoreError> {
        let (mut keys, mut seals): (Vec<EntryKey>, Vec<String>) = (Vec::new(), Vec::new());
        self.with_replica_mut(|r| {
            for forgotten in tweets.iter().map(|t| r.forget(t)) {
                keys.extend(forgotten.keys);
                seals.extend(forgotten.seals.iter().map(schema::seal_prefix));
            }
        });
        let observers = {
            let mut light = self.light.borrow_mut();
            for tweet in &tweets {
                if light.tallies.remove(tweet).is_some() {
                    writes.push((schema::tally_key(tweet), None));
                }
                light.confirmed.remove(tweet);
                light.loaded.remove(tweet);
                light.used.remove(tweet);
                writes.push((schema::used_key(tweet), None));
            }
            light.on_shown.clone()
        };
        if !tweets.is_empty() {
            for observer in observers {
                observer(&tweets);
            }
        }
        if keys.is_empty() {
            if !writes.is_empty() {
                self.store.update(&[], |_| (writes, ())).await?;
            }
            return Ok(());
        }
        if self.has_journal() {
            self.compact().await?;
        }
        let buckets = keys.iter().map(|key| schema::bucket_key(&key.tweet)).collect();
        self.update_buckets(buckets, &[], |stored, _| {
            for key in &keys {
                stored.remove(key);
            }
            (writes, ())
        })
        .await?;
        // A seal's record is its parts (`seal_key/part`), all under its key. Left behind (a
        // failed delete), the next open deletes them.
        if seals.is_empty() { Ok(()) } else { self.store.delete_prefixed(&seals).await }
    }

    /// Drops the tallies of `untallied` (the edge node serves them by their entries now, or
    /// its tally did not check: they are shown from the counters held here again) and keeps
    /// `tallies` an edge node sent (checked by the network layer: signed by the edge node that
    /// sent them, of tweets this node watches), each replacing the tweet's last. Done in memory
    /// now (the observers are told); returns the writes that keep it in the store
    /// ([`Node::write`]), so a reload shows them.
    pub fn replace_tallies(&self, untallied: &[TweetId], tallies: Vec<Tallied>) -> Vec<Write> {
        let mut writes = Vec::new();
        let (changed, observers) = {
            let mut light = self.light.borrow_mut();
            let light = &mut *light;
            let mut changed = Vec::new();
            for tweet in untallied {
                if light.tallies.remove(tweet).is_some() {
                    light.confirmed.remove(tweet);
                    writes.push((schema::tally_key(tweet), None));
                    changed.push(tweet.clone());
                }
            }
            for tallied in tallies {
                let tweet = tallied.tally.tweet.clone();
                writes.push((schema::tally_key(&tweet), Some(tallied.encode())));
                light.tallies.insert(tweet.clone(), tallied);
                changed.push(tweet);
            }
            (changed, light.on_shown.clone())
        };
        if !changed.is_empty() {
            for observer in observers {
                observer(&changed);
            }
        }
        writes
    }

    /// Keeps `tallies` ([`Node::replace_tallies`]), in memory and in the store.
    pub async fn keep_tallies(&self, tallies: Vec<Tallied>) -> Result<(), StoreError> {
        let writes = self.replace_tallies(&[], tallies);
        self.write(writes).await
    }

    /// Drops the tallies of `tweets` ([`Node::replace_tallies`]), in memory and in the store.
    pub async fn drop_tallies(&self, tweets: &[TweetId]) -> Result<(), StoreError> {
        let writes = self.replace_tallies(tweets, Vec::new());
        self.write(writes).await
    }

    /// Stores `writes` of [`Node::replace_tallies`].
    pub async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() { Ok(()) } else { self.store.update(&[], |_| (writes, ())).await }
    }

    /// Adds a function told of the tweets whose counts shown changed other than by a commit:
    /// their tallies came or went ([`Node::replace_tallies`]), they were loaded
    /// ([`Node::answered`]), or their other writers' counters were forgotten to make room
    /// (only its own counts are shown of such a tweet until it is used again).
    pub fn on_shown(&self, observer: impl Fn(&[TweetId]) + 'static) {
        self.light.borrow_mut().on_shown.push(Rc::new(observer));
    }

    /// The last tally of `tweet` an edge node sent, if any.
    pub fn tally(&self, tweet: &TweetId) -> Option<Tallied> {
        self.light.borrow().tallies.get(tweet).cloned()
    }

    /// `tweet`'s statistics as shown: its tally with this node's own counters swapped in, if
    /// an edge node sent one (verified once every writer's entries were checked to make it,
    /// [`Node::confirm`]); else the sum of the counters held here.
    pub fn shown(&self, tweet: &TweetId) -> Shown {
        let light = self.light.borrow();
        let loaded = light.interest.is_none() || light.loaded.contains(tweet);
        match light.tallies.get(tweet) {
            Some(tallied) => {
                let own = self.with_replica(|r| r.writer_values(tweet, r.local_writer()));
                let confirmed = light.confirmed.get(tweet) == Some(&tallied.tally.figures);
                let stats = tallied.stats(own.map(i128::from));
                Shown { stats, verified: confirmed && loaded, loaded }
            }
            None => Shown { stats: self.stats(tweet), verified: loaded, loaded },
        }
    }

    /// Every tweet this node shows counts of (held counters or a tally), each as shown.
    pub fn shown_all(&self) -> Vec<(TweetId, Shown)> {
        let mut tweets: HashSet<TweetId> = self.with_replica(|r| r.tweets().cloned().collect());
        tweets.extend(self.light.borrow().tallies.keys().cloned());
        tweets.into_iter().map(|tweet| (tweet.clone(), self.shown(&tweet))).collect()
    }

    /// Every writer's entries of `tweet`, fetched and checked, make `figures`: whether that is
    /// what the tweet's tally states (then its counts show as verified until the next tally),
    /// or `true` if the tweet has no tally (its counts are made from entries held here).
    pub fn confirm(&self, tweet: &TweetId, figures: Figures) -> bool {
        let mut light = self.light.borrow_mut();
        let Some(tallied) = light.tallies.get(tweet) else { return true };
        let agrees = tallied.tally.figures == figures;
        if agrees {
            light.confirmed.insert(tweet.clone(), figures);
        }
        agrees
    }
}
