//! How a peer's loop shares its thread, as policy the loop asks ([`Peer::run`]): when minting
//! the identity proof waits, how much of a merge one turn takes in, when the journal is
//! folded. No clock, no I/O, no async: the tests below pass in the states they mean, natively
//! and in wasm.

#[cfg(doc)]
use super::Peer;
use warpnet_stats_protocol::MergeFrom;

/// How many leaves a merge takes in per turn of the loop (a few milliseconds natively), so
/// network events and the next catch-up answer go between slices.
const SLICE: usize = 1024;

/// What the loop is doing, as minting's pause sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Busy {
    /// Merges are being taken in.
    pub(super) merging: bool,
    /// Signatures of peers' entries are being checked.
    pub(super) checking: bool,
    /// A peer is connected.
    pub(super) connected: bool,
    /// A catch-up is under way.
    pub(super) catching_up: bool,
}

/// What the journal's folding waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Writes {
    /// Writes of merged entries are still going.
    pub(super) storing: bool,
    /// Merges are still being taken in.
    pub(super) merging: bool,
    /// The node's journal holds rows to fold.
    pub(super) journal: bool,
}

/// The loop's pacing decisions, and the little they remember.
#[derive(Debug, Default)]
pub(super) struct Pacing {
    /// Whether this node has counted anything of its own (it then needs its proof to publish).
    counted_here: bool,
    /// A catch-up completed since the journal was last folded.
    fold_due: bool,
}

impl Pacing {
    /// The pacing of a node that has (or has not yet) counted something of its own.
    pub(super) fn new(counted_here: bool) -> Self {
        Self { counted_here, fold_due: false }
    }

    /// The node counted something of its own.
    pub(super) fn counted(&mut self) {
        self.counted_here = true;
    }

    /// Whether minting the identity proof waits. The proof is needed only to publish what is
    /// counted here: while nothing is, minting waits for a peer and for the catch-ups (a fresh
    /// node's cold sync has the thread to itself). Once something is counted, it goes on
    /// whatever runs.
    pub(super) fn minting_waits(&self, busy: Busy) -> bool {
        !self.counted_here && (busy.merging || busy.checking || !busy.connected || busy.catching_up)
    }

    /// How many leaves this turn takes in of the merge whose turn it is: a slice, or all of it
    /// once the loop has ended and its last merges are drained (nothing else is left to share
    /// the thread with; while a stopping peer lingers, its turns still take a slice).
    pub(super) fn budget(&self, draining: bool) -> usize {
        if draining { usize::MAX } else { SLICE }
    }

    /// A merge from `from` was taken in whole: a catch-up's last response makes the journal's
    /// folding due.
    pub(super) fn merged(&mut self, from: &MergeFrom) {
        if matches!(from, MergeFrom::CatchUp { last: true, .. }) {
            self.fold_due = true;
        }
    }

    /// Whether to fold the journal now: due since a catch-up completed, once every write and
    /// merge before it finished, and only if the journal holds anything. Answers yes once per
    /// completed catch-up.
    pub(super) fn fold_now(&mut self, writes: Writes) -> bool {
        let now = self.fold_due && !writes.storing && !writes.merging && writes.journal;
        if now {
            self.fold_due = false;
        }
        now
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use libp2p::PeerId;

    use super::*;

    const IDLE: Busy =
        Busy { merging: false, checking: false, connected: true, catching_up: false };

    fn catch_up(last: bool) -> MergeFrom {
        MergeFrom::CatchUp { peer: PeerId::random(), last }
    }

    #[test]
    fn minting_waits_for_a_peer_and_its_catch_ups_until_something_is_counted() {
        let mut pacing = Pacing::new(false);
        assert!(!pacing.minting_waits(IDLE), "connected and idle: minting goes on");
        let busy = [
            Busy { connected: false, ..IDLE },
            Busy { catching_up: true, ..IDLE },
            Busy { merging: true, ..IDLE },
            Busy { checking: true, ..IDLE },
        ];
        assert!(busy.iter().all(|b| pacing.minting_waits(*b)));
        pacing.counted();
        assert!(busy.iter().all(|b| !pacing.minting_waits(*b)), "counted: it never waits");
        assert!(busy.iter().all(|b| !Pacing::new(true).minting_waits(*b)));
    }

    #[test]
    fn a_turn_takes_a_slice_and_a_stopping_peer_takes_everything() {
        let pacing = Pacing::default();
        assert_eq!(pacing.budget(false), SLICE);
        assert_eq!(pacing.budget(true), usize::MAX);
    }

    #[test]
    fn the_journal_is_folded_once_after_a_catch_up_and_only_when_writes_are_done() {
        let mut pacing = Pacing::default();
        let done = Writes { storing: false, merging: false, journal: true };
        assert!(!pacing.fold_now(done), "no catch-up completed yet");
        pacing.merged(&catch_up(false));
        pacing.merged(&MergeFrom::Light { peer: PeerId::random(), answered: Vec::new() });
        assert!(!pacing.fold_now(done), "neither a catch-up's page nor a light answer");
        pacing.merged(&catch_up(true));
        assert!(!pacing.fold_now(Writes { storing: true, ..done }), "writes still going");
        assert!(!pacing.fold_now(Writes { merging: true, ..done }), "merges still going");
        assert!(!pacing.fold_now(Writes { journal: false, ..done }), "nothing to fold");
        assert!(pacing.fold_now(done));
        assert!(!pacing.fold_now(done), "once per completed catch-up");
        pacing.merged(&catch_up(true));
        assert!(pacing.fold_now(done));
    }
}
