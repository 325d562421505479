//! What a namespace's nodes accept: validity rules that are pure functions of an entry and the
//! namespace's configuration, so every node accepts the same entries and convergence holds
//! whatever hostile peers send.

use std::fmt;
use std::str::FromStr;

use super::counter::PnCounter;
use super::ids::{KeyError, StatKind};
use super::proof::Difficulty;

/// A namespace's configuration: the caps of every writer's counters and the difficulty of
/// every writer's identity proof. Every node of a namespace must use the same rules, or they
/// accept different entries and disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rules {
    /// What one writer may add to one tweet's statistic.
    pub caps: Caps,
    /// What one writer identity costs to mint.
    pub difficulty: Difficulty,
}

impl Rules {
    /// [`Caps::DEFAULT`] and [`Difficulty::DEFAULT`].
    pub const DEFAULT: Rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty::DEFAULT };
}

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

    /// The same caps with `stat`'s set to `cap`.
    pub fn with(mut self, stat: StatKind, cap: u64) -> Self {
        match stat {
            StatKind::Likes => self.likes = cap,
            StatKind::Retweets => self.retweets = cap,
            StatKind::Replies => self.replies = cap,
            StatKind::Views => self.views = cap,
        }
        self
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

/// `likes=1000,retweets=1000,replies=1000,views=1000000`, as [`Caps::from_str`] reads it.
impl fmt::Display for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = StatKind::ALL.map(|stat| format!("{stat}={}", self.get(stat)));
        f.write_str(&parts.join(","))
    }
}

/// Reads `stat=number` pairs separated by commas (e.g. `likes=50,views=5000`); statistics not
/// named keep their default cap.
impl FromStr for Caps {
    type Err = CapsError;
    fn from_str(text: &str) -> Result<Self, CapsError> {
        let mut caps = Caps::DEFAULT;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (stat, value) =
                part.split_once('=').ok_or_else(|| CapsError::Malformed(part.to_owned()))?;
            let stat: StatKind = stat.trim().parse()?;
            let value = value.trim().parse().map_err(|_| CapsError::Malformed(part.to_owned()))?;
            caps = caps.with(stat, value);
        }
        Ok(caps)
    }
}

/// Why a caps text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CapsError {
    /// A part that is not `stat=number`.
    #[error("{0:?} is not stat=number (e.g. likes=1000)")]
    Malformed(String),
    /// A statistic name other than likes, retweets, replies and views.
    #[error(transparent)]
    Stat(#[from] KeyError),
}

/// How a counter breaks the bounds of [`Caps::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
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
