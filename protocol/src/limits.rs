//! Time-based allowances of the protocol, on time passed in: a token bucket (how much a peer
//! may send) and an exponential backoff (how long to wait before trying again).

use std::time::Duration;

use web_time::Instant;

use super::Allowance;

/// A token bucket: `burst` tokens at most, refilled at `per_second` tokens per second.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenBucket {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn full(allowance: Allowance, now: Instant) -> Self {
        Self { tokens: allowance.burst, at: now }
    }

    /// Adds what `now` brings since the bucket was last looked at.
    pub(crate) fn refill(&mut self, now: Instant, allowance: Allowance) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * allowance.per_second).min(allowance.burst);
        self.at = self.at.max(now);
    }

    /// Whether `amount` tokens are there at `now` (taking none).
    pub(crate) fn holds(&mut self, now: Instant, allowance: Allowance, amount: f64) -> bool {
        self.refill(now, allowance);
        self.tokens >= amount
    }

    /// Takes `amount` tokens, which [`TokenBucket::holds`] said are there (or, for what was
    /// taken in already, goes into debt).
    pub(crate) fn spend(&mut self, amount: f64) {
        self.tokens -= amount;
    }

    /// Gives back `amount` tokens spent beforehand that turned out not to be used (up to a
    /// full bucket).
    pub(crate) fn give_back(&mut self, amount: f64, allowance: Allowance) {
        self.tokens = (self.tokens + amount).min(allowance.burst);
    }

    /// How long from `now` until the bucket holds `amount` (zero if it does already; never
    /// if it cannot, `amount` being above the burst).
    pub(crate) fn wait_for(&mut self, now: Instant, allowance: Allowance, amount: f64) -> Duration {
        self.refill(now, allowance);
        let missing = amount.min(allowance.burst) - self.tokens;
        if missing <= 0.0 {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64(missing / allowance.per_second).unwrap_or(Duration::MAX)
    }

    /// Whether the bucket would be full at `now` (then forgetting it loses nothing).
    pub(crate) fn is_full(&self, now: Instant, allowance: Allowance) -> bool {
        let mut bucket = *self;
        bucket.refill(now, allowance);
        bucket.tokens >= allowance.burst
    }
}

/// Waits that double after each failure, from `first` up to `max`, back to `first` on reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    next: Duration,
    first: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        Self { next: first, first, max: max.max(first) }
    }

    /// The wait before the next attempt; the one after will be twice as long.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// Back to the first wait (after a success).
    pub(crate) fn reset(&mut self) {
        self.next = self.first;
    }
}
