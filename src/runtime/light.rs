//! A light node's view of the tweets it shows: the tallies its edge nodes sent of popular
//! tweets (kept in memory: after a reload a tweet's tally comes again when it is watched), and
//! the statistics shown, each said to be verified (made from writers' signed entries held
//! here) or the edge node's word (a tally).

use super::Node;
use crate::core::{Stats, Tallied, TweetId};
use crate::storage::Store;

/// A tweet's statistics as a node shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// The counts.
    pub stats: Stats,
    /// Whether they are made from writers' signed entries held here (else they are an edge
    /// node's tally, with this node's own counts as it holds them).
    pub verified: bool,
}

impl<S: Store> Node<S> {
    /// Keeps tallies an edge node sent (checked by the network layer: signed by the edge node
    /// that sent them, of tweets this node watches), each replacing the tweet's last.
    pub fn keep_tallies(&self, tallies: Vec<Tallied>) {
        let mut kept = self.tallies.borrow_mut();
        for tallied in tallies {
            kept.insert(tallied.tally.tweet.clone(), tallied);
        }
    }

    /// The last tally of `tweet` an edge node sent, if any.
    pub fn tally(&self, tweet: &TweetId) -> Option<Tallied> {
        self.tallies.borrow().get(tweet).cloned()
    }

    /// `tweet`'s statistics as shown: its tally with this node's own counters swapped in, if
    /// an edge node sent one; else the sum of the counters held here.
    pub fn shown(&self, tweet: &TweetId) -> Shown {
        match self.tallies.borrow().get(tweet) {
            Some(tallied) => {
                let own = self.with_replica(|r| r.writer_values(tweet, r.local_writer()));
                Shown { stats: tallied.stats(own.map(i128::from)), verified: false }
            }
            None => Shown { stats: self.stats(tweet), verified: true },
        }
    }
}
