//! Merges waiting to be taken in, a slice at a time and in turn, so a large one (a flood's
//! thousands of entries) delays a small one (an honest like) by a slice, not by all of it.
//! Gossip messages are taken in any order; a peer's catch-up responses in the order they came
//! (its last one completes the catch-up).

use std::collections::VecDeque;

use warpnet_stats_protocol::MergeFrom;

/// Merges in turn: the one at the front takes the next slice, then goes to the back.
#[derive(Debug)]
pub(super) struct MergeQueue<T> {
    turns: VecDeque<Turn<T>>,
    next: u64,
}

/// A merge's place in the queue.
#[derive(Debug)]
pub(super) struct Turn<T> {
    /// Which came first.
    order: u64,
    /// Where its entries came from.
    pub(super) from: MergeFrom,
    /// The merge.
    pub(super) job: T,
}

impl<T> Default for MergeQueue<T> {
    fn default() -> Self {
        Self { turns: VecDeque::new(), next: 0 }
    }
}

impl<T> MergeQueue<T> {
    /// Queues a merge, last in turn.
    pub(super) fn push(&mut self, from: MergeFrom, job: T) {
        self.turns.push_back(Turn { order: self.next, from, job });
        self.next += 1;
    }

    /// Takes out the merge whose turn it is: the first that is not a catch-up response
    /// behind another from the same peer. Give it back with [`MergeQueue::put_back`] unless
    /// it is done.
    pub(super) fn take(&mut self) -> Option<Turn<T>> {
        let behind = |turn: &Turn<T>| match turn.from {
            MergeFrom::CatchUp { peer, .. } => self.turns.iter().any(|other| {
                matches!(other.from, MergeFrom::CatchUp { peer: p, .. } if p == peer)
                    && other.order < turn.order
            }),
            MergeFrom::Gossip { .. } | MergeFrom::Light { .. } => false,
        };
        let at = self.turns.iter().position(|turn| !behind(turn))?;
        self.turns.remove(at)
    }

    /// Gives back a merge taken out, last in turn.
    pub(super) fn put_back(&mut self, turn: Turn<T>) {
        self.turns.push_back(turn);
    }

    /// Whether no merge waits.
    pub(super) fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use libp2p::PeerId;
    use libp2p::gossipsub::MessageId;

    use super::*;

    fn gossip(n: u8) -> MergeFrom {
        let arrived = web_time::Instant::now();
        MergeFrom::Gossip { message: MessageId::new(&[n]), source: PeerId::random(), arrived }
    }

    /// Takes turns until every job has had `slices[job]` of them; returns whose turn it was.
    fn run(queue: &mut MergeQueue<(usize, usize)>) -> Vec<usize> {
        let mut turns = Vec::new();
        while let Some(mut turn) = queue.take() {
            turns.push(turn.job.0);
            turn.job.1 -= 1;
            if turn.job.1 > 0 {
                queue.put_back(turn);
            }
        }
        turns
    }

    #[test]
    fn merges_take_slices_in_turn_so_a_small_one_waits_one_slice_per_merge_ahead() {
        let mut queue = MergeQueue::default();
        queue.push(gossip(0), (0, 6)); // a flood message: six slices
        queue.push(gossip(1), (1, 6));
        queue.push(gossip(2), (2, 1)); // a like
        assert_eq!(run(&mut queue)[..5], [0, 1, 2, 0, 1]);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_peers_catch_up_responses_are_taken_in_the_order_they_came() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut queue = MergeQueue::default();
        queue.push(MergeFrom::CatchUp { peer: a, last: false }, (0, 3));
        queue.push(MergeFrom::CatchUp { peer: a, last: true }, (1, 1));
        queue.push(MergeFrom::CatchUp { peer: b, last: true }, (2, 1));
        queue.push(gossip(0), (3, 2));
        // a's last response waits for its first; b's and the gossip go in turn meanwhile.
        assert_eq!(run(&mut queue), [0, 2, 3, 0, 3, 0, 1]);
    }
}
