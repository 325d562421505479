//! Catch-up scheduling with one peer: at most one session running and one more wanted after
//! it, whatever asks for it (a connection, a subscription, a rate-limited burst, the periodic
//! tick); retries after failures with backoff, at once if the peer connected anew meanwhile; a
//! next request held back while the peer's intake allowance is spent.

use web_time::Instant;

use super::limits::Backoff;
use warpnet_stats_core::sync::SyncSession;

/// A catch-up request the protocol sent, named so the driver can report its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Why a catch-up request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncFailure {
    /// The connection closed before the response came.
    ConnectionClosed,
    /// No response within the request timeout.
    Timeout,
    /// The peer does not speak the catch-up protocol.
    Unsupported,
    /// The stream failed (reset, malformed frame).
    Io,
}

#[derive(Debug)]
struct Running {
    request: RequestId,
    session: SyncSession,
    epoch: u64,
}

/// A session whose next request waits until the peer's intake allowance holds its answer.
#[derive(Debug)]
struct Waiting {
    until: Instant,
    session: SyncSession,
    request: Vec<u8>,
    epoch: u64,
}

/// The catch-up state of one connected peer.
#[derive(Debug)]
pub(crate) struct CatchUp {
    running: Option<Running>,
    waiting: Option<Waiting>,
    /// The epoch of the session last taken out of `running` (to judge its failure).
    taken_epoch: u64,
    again: bool,
    retry_at: Option<Instant>,
    backoff: Backoff,
    /// Connections opened to the peer so far.
    epoch: u64,
}

impl CatchUp {
    pub(crate) fn new(backoff: Backoff) -> Self {
        Self {
            running: None,
            waiting: None,
            taken_epoch: 0,
            again: false,
            retry_at: None,
            backoff,
            epoch: 0,
        }
    }

    pub(crate) fn new_connection(&mut self) {
        self.epoch += 1;
    }

    /// Whether a session is under way (waiting for a response, or to send its next request).
    pub(crate) fn running(&self) -> bool {
        self.running.is_some() || self.waiting.is_some()
    }

    /// When a failed catch-up is to be retried, or a waiting request sent.
    pub(crate) fn due_at(&self) -> Option<Instant> {
        match &self.waiting {
            Some(waiting) => Some(waiting.until),
            None => self.retry_at.filter(|_| self.running.is_none()),
        }
    }

    /// A catch-up is wanted: `true` if one should start now; otherwise it starts after the
    /// one running.
    pub(crate) fn want(&mut self) -> bool {
        if self.running() {
            self.again = true;
            return false;
        }
        self.retry_at = None;
        true
    }

    /// A new `session` waits for the response to its first `request`.
    pub(crate) fn start(&mut self, request: RequestId, session: SyncSession) {
        self.running = Some(Running { request, session, epoch: self.epoch });
    }

    /// The session last taken waits for the response to its next `request`.
    pub(crate) fn resume(&mut self, request: RequestId, session: SyncSession) {
        self.running = Some(Running { request, session, epoch: self.taken_epoch });
    }

    /// The session last taken sends its next `request` (encoded) at `until`, not before.
    pub(crate) fn wait(&mut self, until: Instant, session: SyncSession, request: Vec<u8>) {
        self.waiting = Some(Waiting { until, session, request, epoch: self.taken_epoch });
    }

    /// The waiting session and its request, taken out if due at `now`; then
    /// [`CatchUp::resume`] it with the request's id.
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<(SyncSession, Vec<u8>)> {
        let waiting = self.waiting.take_if(|waiting| waiting.until <= now)?;
        self.taken_epoch = waiting.epoch;
        Some((waiting.session, waiting.request))
    }

    /// The session waiting for `request`, taken out (`None` if `request` is not the one
    /// awaited: a late answer to an abandoned session).
    pub(crate) fn take_session(&mut self, request: RequestId) -> Option<SyncSession> {
        if self.running.as_ref().is_none_or(|r| r.request != request) {
            return None;
        }
        let running = self.running.take()?;
        self.taken_epoch = running.epoch;
        Some(running.session)
    }

    /// The session last taken failed: `true` if another should start at once (one was asked
    /// for meanwhile, or the peer connected anew since it started); otherwise a retry is
    /// scheduled after the backoff.
    pub(crate) fn failed(&mut self, now: Instant) -> bool {
        if std::mem::take(&mut self.again) || self.epoch > self.taken_epoch {
            self.taken_epoch = 0;
            return true;
        }
        self.taken_epoch = 0;
        self.retry_at = Some(now + self.backoff.next_wait());
        false
    }

    /// A catch-up completed: `true` if another was asked for meanwhile and should start.
    pub(crate) fn completed(&mut self) -> bool {
        self.backoff.reset();
        self.retry_at = None;
        self.taken_epoch = 0;
        self.running.is_none() && std::mem::take(&mut self.again)
    }
}
