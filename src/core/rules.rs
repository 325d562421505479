//! What a namespace's nodes accept: validity rules that are pure functions of an entry and the
//! namespace's configuration, so every node accepts the same entries and convergence holds
//! whatever hostile peers send.

use super::counter::PnCounter;
use super::ids::StatKind;

/// The most one writer (a node, in one generation of its store) may add to one tweet's
/// statistic. Part of a namespace's configuration: every node of a namespace must use the same
/// caps, or they accept different entries and disagree.
///
/// The defaults ([`Caps::DEFAULT`]) follow what one honest node does: likes and retweets are
/// bounded by the users of a node (one per user), replies by their authors, views grow with
/// every visit. A node serving more users than a cap needs a namespace with larger caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Caps {
    /// Likes per writer and tweet.
    pub likes: u64,
    /// Retweets per writer and tweet.
    pub retweets: u64,
    /// Replies per writer and tweet.
    pub replies: u64,
    /// Views per writer and tweet.
    pub views: u64,
}

impl Caps {
    /// 1,000 likes, retweets and replies, and 1,000,000 views, per writer and tweet.
    pub const DEFAULT: Caps =
        Caps { likes: 1_000, retweets: 1_000, replies: 1_000, views: 1_000_000 };

    /// The cap of one statistic.
    pub fn get(&self, stat: StatKind) -> u64 {
        [self.likes, self.retweets, self.replies, self.views][stat.index()]
    }

    /// Whether a counter is within the rules for `stat`: a writer's contribution never below
    /// zero (no more decrements than increments) and never above the cap.
    pub fn check(&self, stat: StatKind, counter: PnCounter) -> Result<(), OutOfBounds> {
        if counter.decrements > counter.increments {
            return Err(OutOfBounds::BelowZero);
        }
        let cap = self.get(stat);
        if counter.increments - counter.decrements > cap {
            return Err(OutOfBounds::AboveCap { stat, cap });
        }
        Ok(())
    }
}

impl Default for Caps {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How a counter breaks the bounds of [`Caps::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum OutOfBounds {
    /// More decrements than increments: the writer would take away others' counts.
    #[error("a writer's count cannot go below zero")]
    BelowZero,
    /// The writer's contribution is above the cap of the statistic.
    #[error("a writer's {stat} cannot exceed {cap} per tweet")]
    AboveCap {
        /// The statistic.
        stat: StatKind,
        /// Its cap.
        cap: u64,
    },
}
