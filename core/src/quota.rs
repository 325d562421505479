//! A local storage policy, not a validity rule: the most counters of any one remote writer a
//! replica keeps, and the most it keeps in all (its budget). Past them, new counters are
//! refused (`Rejection::OverQuota`); the ones held still take updates. The last tenth of the
//! budget is kept for writers holding few counters (a thousandth of the budget, at least 16),
//! so writers that filled the rest cannot keep new people from counting. Nodes may set
//! different policies, so a node at a limit holds less than its peers, as a Farcaster hub
//! prunes a user beyond their storage.

use std::collections::HashMap;

use super::ids::Writer;

/// How many counters each writer has here, against a limit for remote writers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Quota {
    limit: Option<usize>,
    budget: Option<usize>,
    held: HashMap<Writer, usize>,
    total: usize,
}

impl Quota {
    pub(crate) fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
    }

    pub(crate) fn set_budget(&mut self, budget: Option<usize>) {
        self.budget = budget;
    }

    /// Whether one more counter of `writer` fits.
    pub(crate) fn admits(&self, writer: &Writer) -> bool {
        let held = self.held.get(writer).copied().unwrap_or(0);
        let within_quota = self.limit.is_none_or(|limit| held < limit);
        let within_budget = self.budget.is_none_or(|budget| {
            let few = (budget / 1000).max(16);
            self.total < budget - budget / 10 || (self.total < budget && held < few)
        });
        within_quota && within_budget
    }

    /// One more counter of `writer` is held.
    pub(crate) fn count(&mut self, writer: Writer) {
        *self.held.entry(writer).or_default() += 1;
        self.total += 1;
    }

    /// One counter of `writer` fewer is held.
    pub(crate) fn uncount(&mut self, writer: Writer) {
        if let Some(held) = self.held.get_mut(&writer) {
            *held = held.saturating_sub(1);
            self.total = self.total.saturating_sub(1);
            if *held == 0 {
                self.held.remove(&writer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Generation;
    use crate::signing::Identity;

    fn writer(seed: u8) -> Writer {
        Writer {
            node: Identity::from_secret([seed; 32]).node_id(),
            generation: Generation([seed; 16]),
        }
    }

    /// Fills `quota` with up to `count` new counters of `writer`; how many fitted.
    fn fill(quota: &mut Quota, writer: Writer, count: usize) -> usize {
        (0..count)
            .take_while(|_| {
                let fits = quota.admits(&writer);
                if fits {
                    quota.count(writer);
                }
                fits
            })
            .count()
    }

    #[test]
    fn the_budget_bounds_the_total_and_keeps_its_last_tenth_for_writers_holding_few() {
        let mut quota = Quota::default();
        quota.set_budget(Some(100));
        assert_eq!(fill(&mut quota, writer(1), 200), 90, "nine tenths for anyone");
        assert_eq!(fill(&mut quota, writer(1), 1), 0);
        assert_eq!(fill(&mut quota, writer(2), 5), 5, "a newcomer holding few");
        assert_eq!(fill(&mut quota, writer(3), 20), 5, "up to the budget");
        assert_eq!(fill(&mut quota, writer(4), 1), 0, "full");
        quota.uncount(writer(1));
        assert_eq!(fill(&mut quota, writer(4), 2), 1, "room again");
        // With a per-writer quota as well, both hold.
        let mut quota = Quota::default();
        quota.set_limit(Some(10));
        quota.set_budget(Some(1000));
        assert_eq!(fill(&mut quota, writer(1), 20), 10);
    }
}
