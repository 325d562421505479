//! The side-by-side workload of `scripts/bench --peers` (the same in benches/peers.mjs, for
//! Automerge and Yjs): 10 nodes, 1,000 tweets x 4 stats, 20,000 actions each by a user of its
//! own on a (node, tweet, stat) drawn from splitmix64 seeded 42, then 100 more likes on node 0.

/// splitmix64: the generator both sides draw the workload from.
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

pub const NODES: u64 = 10;
pub const TWEETS: u64 = 1_000;
pub const ACTIONS: u64 = 20_000;
pub const MORE_LIKES: u64 = 100;

/// One action: (node, tweet, stat index 0..4 in likes, retweets, replies, views order, user).
pub type Step = (usize, u64, usize, u64);

/// The 20,000 actions, then the 100 likes of node 0.
pub fn workload() -> (Vec<Step>, Vec<Step>) {
    let mut rng = SplitMix::new(42);
    let actions = (0..ACTIONS)
        .map(|user| {
            let node = (rng.next() % NODES) as usize;
            let tweet = rng.next() % TWEETS;
            let stat = (rng.next() % 4) as usize;
            (node, tweet, stat, user)
        })
        .collect();
    let more = (0..MORE_LIKES).map(|i| (0, rng.next() % TWEETS, 0, ACTIONS + i)).collect();
    (actions, more)
}

/// A checksum of every tweet's totals, the same whichever library counted:
/// sum over tweets t and stats s of count(t, s) * (4 t + s + 1).
pub fn checksum(count: impl Fn(u64, usize) -> u64) -> u64 {
    (0..TWEETS)
        .flat_map(|t| (0..4).map(move |s| (t, s)))
        .map(|(t, s)| count(t, s) * (4 * t + s as u64 + 1))
        .sum()
}
