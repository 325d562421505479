//! What the replica reads out: a tweet's aggregated statistics, one writer's share of them, and
//! the running totals kept per (tweet, statistic). Pure value types.

use super::counter::PnCounter;
use super::ids::{StatKind, Writer};

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

/// One statistic of one tweet over all writers: increments less decrements (each writer's
/// at most 2^64 apart, so 2^63 writers fit).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Total(i128);

impl Total {
    /// Moves the total from a writer's `old` counter to its `new` one.
    pub(crate) fn replace(&mut self, old: PnCounter, new: PnCounter) {
        self.0 += new.value() - old.value();
    }

    /// Increments less decrements over every writer.
    pub(crate) fn sum(self) -> i128 {
        self.0
    }

    /// The count shown: never below zero, at most `u64::MAX`.
    pub(crate) fn count(self) -> u64 {
        u64::try_from(self.0.max(0)).unwrap_or(u64::MAX)
    }
}
