//! Which tweets a light node holds other writers' counters of: those its app shows (watched)
//! and those it showed or acted on lately, at most `max` in all unless more are watched. Past
//! that the least recently used tweet no one watches is let go; a watched tweet never is (its
//! edge nodes keep pushing it, and the app shows it). Pure: an order of use, no clock.

use std::collections::{BTreeMap, HashMap};

use super::ids::TweetId;

/// The tweets held, by use.
#[derive(Debug, Clone)]
pub struct Interest {
    max: usize,
    tweets: HashMap<TweetId, Held>,
    /// Tweets watched now, by last use.
    watched: BTreeMap<u64, TweetId>,
    /// Tweets held but not watched, by last use.
    idle: BTreeMap<u64, TweetId>,
    next: u64,
}

#[derive(Debug, Clone, Copy)]
struct Held {
    used: u64,
    watchers: u32,
}

impl Interest {
    /// Holding at most `max` tweets (at least one).
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            tweets: HashMap::new(),
            watched: BTreeMap::new(),
            idle: BTreeMap::new(),
            next: 0,
        }
    }

    /// The most tweets held.
    pub fn max(&self) -> usize {
        self.max
    }

    /// One more watcher of `tweet` (watches nest: each is ended by one [`Interest::unwatch`]);
    /// returns the tweets let go to make room.
    pub fn watch(&mut self, tweet: &TweetId) -> Vec<TweetId> {
        self.use_tweet(tweet, 1)
    }

    /// `tweet` was used (acted on, shown once) without being watched: held as recently used;
    /// returns the tweets let go to make room.
    pub fn touch(&mut self, tweet: &TweetId) -> Vec<TweetId> {
        self.use_tweet(tweet, 0)
    }

    /// One watcher of `tweet` fewer; once none is left the tweet stays held as recently used
    /// until room is needed. Unwatching a tweet not watched does nothing.
    pub fn unwatch(&mut self, tweet: &TweetId) {
        let Some(held) = self.tweets.get_mut(tweet) else { return };
        if held.watchers == 0 {
            return;
        }
        held.watchers -= 1;
        if held.watchers == 0 {
            let used = held.used;
            if let Some(tweet) = self.watched.remove(&used) {
                self.idle.insert(used, tweet);
            }
        }
    }

    /// Whether other writers' counters of `tweet` are held.
    pub fn holds(&self, tweet: &TweetId) -> bool {
        self.tweets.contains_key(tweet)
    }

    /// Whether `tweet` is watched now.
    pub fn is_watched(&self, tweet: &TweetId) -> bool {
        self.tweets.get(tweet).is_some_and(|held| held.watchers > 0)
    }

    /// How many tweets are held.
    pub fn len(&self) -> usize {
        self.tweets.len()
    }

    /// Whether no tweet is held.
    pub fn is_empty(&self) -> bool {
        self.tweets.is_empty()
    }

    /// The tweets watched now, least recently used first.
    pub fn watched(&self) -> impl Iterator<Item = &TweetId> {
        self.watched.values()
    }

    /// Every tweet held, least recently used first (what to restore after a reload, in order).
    pub fn by_use(&self) -> Vec<&TweetId> {
        let mut all: Vec<(u64, &TweetId)> =
            self.watched.iter().chain(&self.idle).map(|(used, tweet)| (*used, tweet)).collect();
        all.sort_unstable_by_key(|(used, _)| *used);
        all.into_iter().map(|(_, tweet)| tweet).collect()
    }

    fn use_tweet(&mut self, tweet: &TweetId, watchers: u32) -> Vec<TweetId> {
        let used = self.next;
        self.next += 1;
        let held = match self.tweets.get_mut(tweet) {
            Some(held) => {
                let order = if held.watchers > 0 { &mut self.watched } else { &mut self.idle };
                order.remove(&held.used);
                held
            }
            None => self.tweets.entry(tweet.clone()).or_insert(Held { used, watchers: 0 }),
        };
        held.used = used;
        held.watchers = held.watchers.saturating_add(watchers);
        let order = if held.watchers > 0 { &mut self.watched } else { &mut self.idle };
        order.insert(used, tweet.clone());
        let mut gone = Vec::new();
        while self.tweets.len() > self.max {
            // Never the tweet just used (the most recent of its order; max >= 1).
            let oldest = |order: &BTreeMap<u64, TweetId>| {
                order.first_key_value().map(|(at, _)| *at).filter(|at| *at != used)
            };
            let Some(oldest) = oldest(&self.idle).and_then(|at| self.idle.remove(&at)) else {
                break; // every other tweet held is watched
            };
            self.tweets.remove(&oldest);
            gone.push(oldest);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(n: u8) -> TweetId {
        TweetId::new(format!("t{n}")).expect("valid")
    }

    #[derive(Debug, Clone)]
    enum Op {
        Watch(u8),
        Touch(u8),
        Unwatch(u8),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0..12u8).prop_map(Op::Watch),
            (0..12u8).prop_map(Op::Touch),
            (0..12u8).prop_map(Op::Unwatch)
        ]
    }

    /// The same policy, plainly: tweets with their watchers, least recently used first.
    #[derive(Default)]
    struct Model(Vec<(u8, u32)>);

    impl Model {
        fn use_tweet(&mut self, t: u8, watchers: u32, max: usize) -> Vec<u8> {
            let held = self.0.iter().position(|(held, _)| *held == t).map(|at| self.0.remove(at));
            self.0.push((t, held.map_or(0, |(_, w)| w) + watchers));
            let mut gone = Vec::new();
            while self.0.len() > max {
                let others = &self.0[..self.0.len() - 1];
                let Some(at) = others.iter().position(|(_, w)| *w == 0) else { break };
                gone.push(self.0.remove(at).0);
            }
            gone
        }

        fn unwatch(&mut self, t: u8) {
            if let Some((_, w)) = self.0.iter_mut().find(|(held, _)| *held == t) {
                *w = w.saturating_sub(1);
            }
        }
    }

    proptest::proptest! {
        /// Whatever the uses: never more than `max` held beyond the watched ones, the just-used
        /// tweet and every watched one always held, and the same tweets let go as the plain
        /// model of the policy lets go.
        #[test]
        fn the_least_recently_used_unwatched_tweet_goes_first(
            max in 1..6usize,
            ops in proptest::collection::vec(op(), 0..60),
        ) {
            let (mut interest, mut model) = (Interest::new(max), Model::default());
            for op in ops {
                let (gone, expected) = match op {
                    Op::Watch(t) => (interest.watch(&tweet(t)), model.use_tweet(t, 1, max)),
                    Op::Touch(t) => (interest.touch(&tweet(t)), model.use_tweet(t, 0, max)),
                    Op::Unwatch(t) => {
                        interest.unwatch(&tweet(t));
                        model.unwatch(t);
                        (Vec::new(), Vec::new())
                    }
                };
                let expected: Vec<TweetId> = expected.into_iter().map(tweet).collect();
                proptest::prop_assert_eq!(&gone, &expected);
                if let Op::Watch(t) | Op::Touch(t) = op {
                    proptest::prop_assert!(interest.holds(&tweet(t)));
                    // Room is made at each use (an unwatch alone lets nothing go).
                    let watched = interest.watched().count();
                    proptest::prop_assert!(interest.len() <= max.max(watched + 1));
                }
                let held: Vec<TweetId> = model.0.iter().map(|(t, _)| tweet(*t)).collect();
                let by_use: Vec<TweetId> = interest.by_use().into_iter().cloned().collect();
                proptest::prop_assert_eq!(by_use, held);
                for (t, w) in &model.0 {
                    proptest::prop_assert_eq!(interest.is_watched(&tweet(*t)), *w > 0);
                }
            }
        }
    }

    #[test]
    fn a_watched_tweet_stays_while_unwatched_ones_can_go() {
        let mut interest = Interest::new(2);
        assert!(interest.watch(&tweet(0)).is_empty());
        assert!(interest.touch(&tweet(1)).is_empty());
        assert_eq!(interest.touch(&tweet(2)), vec![tweet(1)], "the idle one, though newer");
        interest.unwatch(&tweet(0));
        assert_eq!(interest.watch(&tweet(3)), vec![tweet(0)], "unwatched now, and older");
        assert_eq!(interest.watched().cloned().collect::<Vec<_>>(), vec![tweet(3)]);
        assert_eq!(Interest::new(0).max(), 1);
        // Room for one: the tweet used last stays, and so does a watched one.
        let mut one = Interest::new(1);
        one.watch(&tweet(0));
        assert!(one.touch(&tweet(1)).is_empty());
        assert!(one.holds(&tweet(0)) && one.holds(&tweet(1)));
        assert_eq!(one.touch(&tweet(2)), vec![tweet(1)], "the idle one goes first");
        one.unwatch(&tweet(0));
        assert_eq!(one.touch(&tweet(3)), vec![tweet(0), tweet(2)]);
    }
}
