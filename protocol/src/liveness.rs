//! Connection liveness: a connection whose pings go unanswered is closed (its kept address is
//! then redialled), whether ping reports a failure or not. Ping times out only once its stream
//! is open, and opening one on a dead WebRTC connection waits out a 10 s upgrade timeout
//! first: a browser kept a dead edge node's connection up to ~18 s. So each connection's last
//! answered ping is kept, and one unanswered for [`DEAD_AFTER`] is closed. Likewise a peer
//! this node dialled that has not told its gossip subscription within [`SUBSCRIBE_WITHIN`]
//! (gossipsub tells it on a peer's first connection only: beside a dying one, a new connection
//! never carries it, and this node's gossip finds no one subscribed) is disconnected, to be
//! redialled clean.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::swarm::ConnectionId;
use web_time::Instant;

use super::{Action, Connection, Protocol};

/// How long a connection may go without an answered ping: the ping interval (2 s) and the time
/// an answer may take (5 s).
pub(super) const DEAD_AFTER: Duration = Duration::from_secs(7);
/// How long a peer this node dialled may take to tell its gossip subscription.
pub(super) const SUBSCRIBE_WITHIN: Duration = Duration::from_secs(3);
/// How often the connections are looked over.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// When each connection was last heard from.
#[derive(Debug, Default)]
pub(super) struct Liveness {
    heard: HashMap<ConnectionId, Instant>,
    check_at: Option<Instant>,
}

impl Liveness {
    /// `connection` opened at `now`.
    pub(super) fn connected(&mut self, connection: ConnectionId, now: Instant) {
        self.heard.insert(connection, now);
        self.check_at.get_or_insert(now + CHECK_EVERY);
    }

    /// `connection` closed.
    pub(super) fn closed(&mut self, connection: ConnectionId) {
        self.heard.remove(&connection);
    }

    /// When the connections are next looked over.
    pub(super) fn due_at(&self) -> Option<Instant> {
        self.check_at
    }

    /// The connections not heard from for [`DEAD_AFTER`] at `now`, if they are due to be looked
    /// over.
    fn dead(&mut self, now: Instant) -> Option<Vec<ConnectionId>> {
        if self.check_at.is_none_or(|at| at > now) {
            return None;
        }
        self.check_at = (!self.heard.is_empty()).then_some(now + CHECK_EVERY);
        let dead: Vec<ConnectionId> = self
            .heard
            .iter()
            .filter(|(_, heard)| now.saturating_duration_since(**heard) >= DEAD_AFTER)
            .map(|(connection, _)| *connection)
            .collect();
        for connection in &dead {
            // Heard from again as if new, so it is closed once.
            self.heard.insert(*connection, now);
        }
        Some(dead)
    }
}

impl Protocol {
    /// A ping on `connection` was answered at `now`.
    pub fn handle_ping_answered(&mut self, connection: ConnectionId, now: Instant) {
        if let Some(heard) = self.liveness.heard.get_mut(&connection) {
            *heard = now;
        }
    }

    /// The peer on `connection` does not answer pings at all: its liveness is not judged by
    /// them.
    pub fn handle_ping_unsupported(&mut self, connection: ConnectionId) {
        self.liveness.closed(connection);
    }

    /// A ping on `connection` timed out or failed: the connection is dead; close it (its
    /// kept address is then redialled).
    pub fn handle_ping_failed(&mut self, connection: ConnectionId) {
        self.actions.push_back(Action::HangUp(connection));
    }

    /// Closes the connections whose pings went unanswered for [`DEAD_AFTER`], and disconnects
    /// the peers dialled that told no subscription within [`SUBSCRIBE_WITHIN`] (once each).
    pub(super) fn close_dead(&mut self, now: Instant) {
        let Some(dead) = self.liveness.dead(now) else { return };
        for connection in dead {
            tracing::debug!(?connection, "no ping answered for 7 s: closing the connection");
            self.actions.push_back(Action::HangUp(connection));
        }
        let dialled_long_ago = |c: &Connection| {
            !c.inbound && now.saturating_duration_since(c.since) >= SUBSCRIBE_WITHIN
        };
        for (peer, link) in &mut self.peers {
            if !link.subscribed && link.connections.iter().any(dialled_long_ago) {
                tracing::debug!(%peer, "no gossip subscription told: redialling clean");
                link.subscribed = true;
                self.actions.push_back(Action::Disconnect(*peer));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_unheard_for_seven_seconds_is_dead_once() {
        let start = Instant::now();
        let (a, b) = (ConnectionId::new_unchecked(1), ConnectionId::new_unchecked(2));
        let mut liveness = Liveness::default();
        liveness.connected(a, start);
        liveness.connected(b, start);
        let at = |s: u64| start + Duration::from_secs(s);
        assert_eq!(liveness.dead(start), None, "not due yet");
        for s in 1..7 {
            liveness.heard.insert(b, at(s)); // b answers its pings
            assert_eq!(liveness.dead(at(s)), Some(Vec::new()), "{s} s");
        }
        assert_eq!(liveness.dead(at(7)), Some(vec![a]));
        assert_eq!(liveness.dead(at(8)), Some(Vec::new()), "told once");
        liveness.closed(a);
        assert_eq!(liveness.dead(at(20)), Some(vec![b]), "b went quiet too");
    }
}
