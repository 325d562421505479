//! Requests waiting for an answer, answered in turn at two levels: addresses (an IPv4 address
//! or an IPv6 /64; a peer not connected over IP stands alone) take turns, and within an
//! address its peers take turns. A flood from one address, whatever its number of peer ids
//! and requests in flight, gets one address's turns; a light tab's request waits for one turn
//! of each other address and of each other peer at its own address, not behind a queue of
//! catch-up requests from a node sharing its address (a NAT).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// What waits, by group (an address) and member (a peer), served as described above.
pub(crate) struct Waiting<G, M, T> {
    groups: HashMap<G, Group<M, T>>,
    /// The groups with something waiting, in turn.
    turns: VecDeque<G>,
    len: usize,
}

struct Group<M, T> {
    members: HashMap<M, VecDeque<T>>,
    /// The members with something waiting, in turn.
    turns: VecDeque<M>,
}

impl<G, M, T> Default for Waiting<G, M, T> {
    fn default() -> Self {
        Self { groups: HashMap::new(), turns: VecDeque::new(), len: 0 }
    }
}

impl<G: Copy + Eq + Hash, M: Copy + Eq + Hash, T> Waiting<G, M, T> {
    /// `item` of `member` of `group` waits (behind that member's earlier ones).
    pub(crate) fn push(&mut self, group: G, member: M, item: T) {
        let entry = self.groups.entry(group).or_insert_with(|| {
            self.turns.push_back(group);
            Group { members: HashMap::new(), turns: VecDeque::new() }
        });
        let queue = entry.members.entry(member).or_insert_with(|| {
            entry.turns.push_back(member);
            VecDeque::new()
        });
        queue.push_back(item);
        self.len += 1;
    }

    /// The next item in turn: the oldest of the next member of the next group.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let group = self.turns.pop_front()?;
        let entry = self.groups.get_mut(&group)?;
        let member = entry.turns.pop_front()?;
        let queue = entry.members.get_mut(&member)?;
        let item = queue.pop_front()?;
        self.len -= 1;
        if queue.is_empty() {
            entry.members.remove(&member);
        } else {
            entry.turns.push_back(member);
        }
        if entry.turns.is_empty() {
            self.groups.remove(&group);
        } else {
            self.turns.push_back(group);
        }
        Some(item)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(waiting: &mut Waiting<u8, u8, char>, n: usize) -> String {
        std::iter::from_fn(|| waiting.pop()).take(n).collect()
    }

    #[test]
    fn an_address_of_many_peers_gets_one_share() {
        let mut waiting = Waiting::default();
        for peer in 0..50 {
            waiting.push(1, peer, 'a');
            waiting.push(1, peer, 'a');
        }
        for _ in 0..3 {
            waiting.push(2, 0, 'b');
        }
        assert_eq!(serve(&mut waiting, 6), "ababab");
    }

    #[test]
    fn a_request_is_not_held_behind_its_neighbours_queue() {
        let mut waiting = Waiting::default();
        for _ in 0..16 {
            waiting.push(1, 0, 's');
        }
        waiting.push(1, 1, 'w');
        assert_eq!(serve(&mut waiting, 3), "sws");
    }

    #[test]
    fn waiting_nothing_earns_no_credit_and_everything_is_served() {
        let mut waiting = Waiting::default();
        for _ in 0..100 {
            waiting.push(1, 0, 'a');
        }
        assert_eq!(serve(&mut waiting, 50).len(), 50);
        for _ in 0..100 {
            waiting.push(2, 0, 'b');
        }
        // The newcomer takes turns with the other from here, not 50 in a row.
        assert_eq!(serve(&mut waiting, 4), "abab");
        assert_eq!(serve(&mut waiting, 1000).len(), 146);
        assert!(waiting.is_empty());
        assert!(waiting.groups.is_empty() && waiting.turns.is_empty());
    }
}
