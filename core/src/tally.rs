//! Tallies: an edge node's signed statement of one tweet's statistics over every writer it
//! holds. A light node shows a tweet too popular to fetch writer by writer from its tally, and
//! can check the tally later against the writers' own signed entries (the same [`Figures`]
//! computed from them). Pure: signing and checking, no I/O.

use super::ids::{Namespace, NodeId, StatKind, TweetId};
use super::signing::{self, Identity, Signature};
use super::totals::Stats;

/// The domain separator that starts every tally's signed bytes.
pub const TALLY_DOMAIN: &[u8] = b"warpnet-stats/tally/1";

/// What a tally states of one tweet: per statistic the sum of every writer's counter value
/// (in [`StatKind::ALL`] order, saturating), how many writers, and the XOR of every counter's
/// catch-up digest (which names the writers and their counters, so a client that fetched them
/// can tell the tally covers exactly what it fetched).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Figures {
    /// Each statistic's sum over the writers.
    pub totals: [i64; 4],
    /// How many writers (node and generation) wrote a counter of the tweet.
    pub writers: u32,
    /// The XOR of the counters' digests.
    pub digest: u64,
}

/// A node's signed [`Figures`] of one tweet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tally {
    /// The tweet.
    pub tweet: TweetId,
    /// What the signer held of it.
    pub figures: Figures,
    /// Who signed (an edge node).
    pub signer: NodeId,
    /// The signer's signature over [`tally_payload`].
    pub signature: Signature,
}

/// A tally as sent to one light node, with what the tally counted of that node's own counters
/// (its local writer's), so the light node can swap them for the newer ones it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tallied {
    /// The signed tally.
    pub tally: Tally,
    /// The light node's own counter values the tally's totals include, per statistic.
    pub yours: [i64; 4],
}

/// The exact bytes a tally's signature covers:
///
/// ```text
/// "warpnet-stats/tally/1"
/// u8 len | namespace    u8 len | tweet id    u8 len | signer node id bytes
/// 4 x i64 BE totals     u32 BE writers      u64 BE digest
/// ```
pub fn tally_payload(
    namespace: &Namespace,
    tweet: &TweetId,
    figures: &Figures,
    signer: &NodeId,
) -> Vec<u8> {
    let node = signer.to_bytes();
    let mut out = Vec::with_capacity(TALLY_DOMAIN.len() + 3 + 64 + 128 + node.len() + 44);
    out.extend_from_slice(TALLY_DOMAIN);
    for part in [namespace.as_str().as_bytes(), tweet.as_str().as_bytes(), &node] {
        out.push(u8::try_from(part.len()).expect("ids are at most 128 bytes"));
        out.extend_from_slice(part);
    }
    for total in figures.totals {
        out.extend_from_slice(&total.to_be_bytes());
    }
    out.extend_from_slice(&figures.writers.to_be_bytes());
    out.extend_from_slice(&figures.digest.to_be_bytes());
    out
}

impl Tally {
    /// `figures` of `tweet` in `namespace`, signed by `identity`.
    pub fn sign(
        identity: &Identity,
        namespace: &Namespace,
        tweet: TweetId,
        figures: Figures,
    ) -> Self {
        let signer = identity.node_id();
        let signature = identity.sign(&tally_payload(namespace, &tweet, &figures, &signer));
        Self { tweet, figures, signer, signature }
    }

    /// Whether the signature is the signer's over this tally in `namespace`.
    pub fn check(&self, namespace: &Namespace) -> bool {
        let Some(key) = signing::public_key_of(&self.signer) else { return false };
        let payload = tally_payload(namespace, &self.tweet, &self.figures, &self.signer);
        let signature = ed25519_zebra::Signature::from_bytes(&self.signature.0);
        key.verify(&signature, &payload).is_ok()
    }
}

impl Tallied {
    /// The statistics to show: the tally's totals with the light node's own counters as the
    /// tally counted them (`yours`) swapped for the values it holds now (`own`, per statistic),
    /// never below zero.
    pub fn stats(&self, own: [i128; 4]) -> Stats {
        let count = |stat: StatKind| {
            let i = stat.index();
            let shown =
                i128::from(self.tally.figures.totals[i]) - i128::from(self.yours[i]) + own[i];
            u64::try_from(shown.max(0)).unwrap_or(u64::MAX)
        };
        Stats {
            likes: count(StatKind::Likes),
            retweets: count(StatKind::Retweets),
            replies: count(StatKind::Replies),
            views: count(StatKind::Views),
        }
    }
}

/// An `i128` sum as a tally total: saturating at the ends of `i64`.
pub(crate) fn saturated(sum: i128) -> i64 {
    i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namespace() -> Namespace {
        Namespace::new("mainnet").expect("valid")
    }

    fn tally() -> Tally {
        let figures = Figures { totals: [5, 1, 0, 40], writers: 3, digest: 0xfeed };
        Tally::sign(
            &Identity::from_secret([9; 32]),
            &namespace(),
            TweetId::new("t").expect("valid"),
            figures,
        )
    }

    #[test]
    fn a_tally_checks_only_as_signed() {
        let good = tally();
        assert!(good.check(&namespace()));
        assert!(!good.check(&Namespace::new("testnet").expect("valid")));
        let mut forged = good.clone();
        forged.figures.totals[0] += 1;
        assert!(!forged.check(&namespace()));
        let mut moved = good.clone();
        moved.tweet = TweetId::new("u").expect("valid");
        assert!(!moved.check(&namespace()));
        let mut other_signer = good.clone();
        other_signer.signer = Identity::from_secret([8; 32]).node_id();
        assert!(!other_signer.check(&namespace()));
        let mut digest = good;
        digest.figures.digest ^= 1;
        assert!(!digest.check(&namespace()));
    }

    #[test]
    fn shown_stats_swap_the_counted_own_values_for_the_held_ones() {
        let tallied = Tallied { tally: tally(), yours: [1, 0, 0, 2] };
        let stats = tallied.stats([3, 0, 0, 2]);
        assert_eq!(stats, Stats { likes: 7, retweets: 1, replies: 0, views: 40 });
        let below = Tallied { tally: tally(), yours: [9, 0, 0, 0] };
        assert_eq!(below.stats([0; 4]).likes, 0);
        assert_eq!(saturated(i128::MAX), i64::MAX);
        assert_eq!(saturated(i128::MIN), i64::MIN);
    }
}
