//! The PN-counter of one writer: how many increments and decrements it has ever made.
//! Both halves only grow, so merge is the pointwise maximum. Pure value type.

/// One writer's counter for one tweet and statistic.
///
/// `increments` and `decrements` only ever grow; the counter's value is their difference.
/// Merging two versions of the same counter keeps the larger of each half, which is
/// commutative, associative and idempotent, and never loses a decrement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PnCounter {
    /// Increments ever made (`p`).
    pub increments: u64,
    /// Decrements ever made (`n`).
    pub decrements: u64,
}

impl PnCounter {
    /// A counter with the given halves.
    pub fn new(increments: u64, decrements: u64) -> Self {
        Self { increments, decrements }
    }

    /// The counter's value, `increments - decrements` (negative only if its writer
    /// decremented more than it incremented).
    pub fn value(self) -> i128 {
        i128::from(self.increments) - i128::from(self.decrements)
    }

    /// The pointwise maximum of two versions of the same counter.
    #[must_use]
    pub fn merge(self, other: Self) -> Self {
        Self {
            increments: self.increments.max(other.increments),
            decrements: self.decrements.max(other.decrements),
        }
    }

    /// Whether `other` holds something this counter lacks, i.e. merging it would change this one.
    pub fn is_behind(self, other: Self) -> bool {
        other.increments > self.increments || other.decrements > self.decrements
    }
}
