//! The connections a node keeps: addresses it redials after every drop, with backoff, and the
//! dials in flight (at most one per address, each given up after the dial timeout, all
//! cancelled when the node goes offline).

use std::collections::BTreeMap;
use std::time::Duration;

use libp2p::multiaddr::Protocol as Part;
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use super::limits::Backoff;

/// A dial the protocol asked for, named so the driver can report how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DialId(pub u64);

/// A connection that lasted less than this when it closed counts as a failed attempt: the
/// next redial waits (a peer that accepts and drops at once is not hammered).
const STABLE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not connected; dial once online and the wait is over.
    Waiting(Instant),
    /// A dial is in flight.
    Dialling(DialId),
    /// Connected since then.
    Connected(Instant),
}

#[derive(Debug)]
struct Kept {
    address: Multiaddr,
    peer: Option<PeerId>,
    state: State,
    backoff: Backoff,
}

#[derive(Debug)]
struct Dial {
    address: Multiaddr,
    deadline: Instant,
}

/// What [`Links::poll`] wants done.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LinkAction {
    Dial(DialId, Multiaddr),
    Cancel(DialId),
}

/// Kept addresses and dials in flight.
#[derive(Debug)]
pub(crate) struct Links {
    kept: Vec<Kept>,
    dials: BTreeMap<DialId, Dial>,
    next: u64,
    dial_timeout: Duration,
    backoff: Backoff,
}

impl Links {
    pub(crate) fn new(dial_timeout: Duration, backoff: Backoff) -> Self {
        Self { kept: Vec::new(), dials: BTreeMap::new(), next: 0, dial_timeout, backoff }
    }

    /// Keeps a connection to `address` from now on (once per address).
    pub(crate) fn keep(&mut self, address: Multiaddr, now: Instant) {
        if self.kept.iter().any(|k| k.address == address) {
            return;
        }
        let peer = address.iter().find_map(|part| match part {
            Part::P2p(id) => Some(id),
            _ => None,
        });
        self.kept.push(Kept { address, peer, state: State::Waiting(now), backoff: self.backoff });
    }

    /// Starts a dial of `address` unless one is in flight already.
    pub(crate) fn dial(&mut self, address: Multiaddr, now: Instant) -> Option<LinkAction> {
        if self.dials.values().any(|d| d.address == address) {
            return None;
        }
        let id = DialId(self.next);
        self.next += 1;
        self.dials.insert(id, Dial { address: address.clone(), deadline: now + self.dial_timeout });
        Some(LinkAction::Dial(id, address))
    }

    /// Dials the kept addresses whose wait is over, and gives up dials past their deadline.
    pub(crate) fn poll(
        &mut self,
        now: Instant,
        online: bool,
        connected: impl Fn(&PeerId) -> bool,
    ) -> Vec<LinkAction> {
        let mut actions = Vec::new();
        let late: Vec<DialId> =
            self.dials.iter().filter(|(_, d)| d.deadline <= now).map(|(id, _)| *id).collect();
        for id in late {
            actions.push(LinkAction::Cancel(id));
            self.failed(id, now);
        }
        if !online {
            return actions;
        }
        for index in 0..self.kept.len() {
            let kept = &mut self.kept[index];
            let State::Waiting(until) = kept.state else { continue };
            if kept.peer.as_ref().is_some_and(&connected) {
                kept.state = State::Connected(now);
            } else if until <= now {
                let address = kept.address.clone();
                let in_flight =
                    self.dials.iter().find(|(_, d)| d.address == address).map(|(id, _)| *id);
                let id = match in_flight {
                    Some(id) => id,
                    None => match self.dial(address, now) {
                        Some(action @ LinkAction::Dial(id, _)) => {
                            actions.push(action);
                            id
                        }
                        _ => continue,
                    },
                };
                self.kept[index].state = State::Dialling(id);
            }
        }
        actions
    }

    /// A dial failed (or was given up): its kept address waits, longer each time in a row.
    pub(crate) fn failed(&mut self, dial: DialId, now: Instant) {
        self.dials.remove(&dial);
        for kept in &mut self.kept {
            if kept.state == State::Dialling(dial) {
                kept.state = State::Waiting(now + kept.backoff.next_wait());
            }
        }
    }

    /// A connection to `peer` is up (from `dial`, if it was one of ours).
    pub(crate) fn connected(&mut self, peer: PeerId, dial: Option<DialId>, now: Instant) {
        if let Some(dial) = dial {
            self.dials.remove(&dial);
        }
        for kept in &mut self.kept {
            let ours = dial.is_some_and(|d| kept.state == State::Dialling(d));
            if ours || (kept.peer == Some(peer) && !matches!(kept.state, State::Connected(_))) {
                if let State::Dialling(other) = kept.state
                    && Some(other) != dial
                {
                    // Connected by other means; the dial still in flight is left to end.
                    self.dials.remove(&other);
                }
                kept.peer = Some(peer);
                kept.state = State::Connected(now);
            }
        }
    }

    /// The last connection to `peer` closed: its kept addresses redial, at once if the
    /// connection had lasted, after a backoff if it dropped right away.
    pub(crate) fn disconnected(&mut self, peer: PeerId, now: Instant) {
        for kept in &mut self.kept {
            if kept.peer != Some(peer) {
                continue;
            }
            if let State::Connected(since) = kept.state {
                let wait = if now.saturating_duration_since(since) >= STABLE {
                    kept.backoff.reset();
                    Duration::ZERO
                } else {
                    kept.backoff.next_wait()
                };
                kept.state = State::Waiting(now + wait);
            }
        }
    }

    /// Going offline: every dial in flight is cancelled.
    pub(crate) fn go_offline(&mut self, now: Instant) -> Vec<LinkAction> {
        let dials: Vec<DialId> = self.dials.keys().copied().collect();
        for id in &dials {
            self.dials.remove(id);
        }
        for kept in &mut self.kept {
            if matches!(kept.state, State::Dialling(_) | State::Connected(_)) {
                kept.state = State::Waiting(now);
            }
        }
        dials.into_iter().map(LinkAction::Cancel).collect()
    }

    /// Back online: every kept address is dialled at once.
    pub(crate) fn go_online(&mut self, now: Instant) {
        for kept in &mut self.kept {
            kept.backoff.reset();
            if let State::Waiting(_) = kept.state {
                kept.state = State::Waiting(now);
            }
        }
    }

    /// Whether `dial` is still in flight.
    pub(crate) fn is_dialling(&self, dial: DialId) -> bool {
        self.dials.contains_key(&dial)
    }

    /// When something is next due: a kept address's wait or a dial's deadline.
    pub(crate) fn next_due(&self, online: bool) -> Option<Instant> {
        let deadlines = self.dials.values().map(|d| d.deadline);
        let waits = self.kept.iter().filter(|_| online).filter_map(|k| match k.state {
            State::Waiting(until) => Some(until),
            _ => None,
        });
        deadlines.chain(waits).min()
    }
}
