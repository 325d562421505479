//! A local storage policy, not a validity rule: the most counters of any one remote writer a
//! replica keeps. Past it, new counters of that writer are refused (`Rejection::OverQuota`);
//! the ones held still take updates. Nodes may set different quotas, so a node at a writer's
//! quota holds less of it than its peers, as a Farcaster hub prunes a user beyond their
//! storage.

use std::collections::HashMap;

use super::ids::Writer;

/// How many counters each writer has here, against a limit for remote writers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Quota {
    limit: Option<usize>,
    held: HashMap<Writer, usize>,
}

impl Quota {
    pub(crate) fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
    }

    /// Whether one more counter of `writer` fits.
    pub(crate) fn admits(&self, writer: &Writer) -> bool {
        self.limit.is_none_or(|limit| self.held.get(writer).copied().unwrap_or(0) < limit)
    }

    /// One more counter of `writer` is held.
    pub(crate) fn count(&mut self, writer: Writer) {
        *self.held.entry(writer).or_default() += 1;
    }

    /// One counter of `writer` fewer is held.
    pub(crate) fn uncount(&mut self, writer: Writer) {
        if let Some(held) = self.held.get_mut(&writer) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                self.held.remove(&writer);
            }
        }
    }
}
