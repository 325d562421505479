//! Fixtures shared by the native (criterion) and wasm (wasm-bindgen-test) benchmarks.
#![allow(dead_code, unreachable_pub)]

use warpnet_stats::{
    Caps, Difficulty, EntryKey, Generation, Identity, IdentityProof, Namespace, Replica, Rules,
    StatKind, TweetId, UserId, seal::Sealed,
};

pub fn namespace() -> Namespace {
    Namespace::new("mainnet").expect("valid")
}

pub fn tweet(i: usize) -> TweetId {
    TweetId::new(format!("tweet-{i}")).expect("valid")
}

pub fn users(n: usize) -> Vec<UserId> {
    (0..n).map(|i| UserId::new(format!("user-{i}")).expect("valid")).collect()
}

/// Caps no benchmark reaches: the hot paths are measured, not the bounds.
pub const UNBOUNDED: Caps =
    Caps { likes: u64::MAX, retweets: u64::MAX, replies: u64::MAX, views: u64::MAX };

/// The benchmarks' namespace rules: no bound reached, identity proofs free (difficulty 0: any
/// nonce holds, though every one is still checked).
pub const RULES: Rules = Rules { caps: UNBOUNDED, difficulty: Difficulty(0) };

pub fn replica(seed: u64) -> Replica {
    writer(seed, Generation([seed as u8; 16]))
}

fn writer(seed: u64, generation: Generation) -> Replica {
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    let mut replica = Replica::new(namespace(), RULES, Identity::from_secret(secret), generation);
    replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds at difficulty 0");
    replica
}

/// `rounds` successive batches from `writers` nodes, each writer changing `per_writer` tweets
/// per round and sealing them (as it publishes): every batch is newer than the one before it,
/// as live gossip would be.
pub fn rounds(writers: u64, per_writer: usize, rounds: usize) -> Vec<Vec<Sealed>> {
    let mut nodes: Vec<Replica> = (1..=writers).map(replica).collect();
    (0..rounds)
        .map(|_| {
            nodes
                .iter_mut()
                .flat_map(|node| {
                    let keys: Vec<EntryKey> = (0..per_writer)
                        .map(|t| {
                            node.increment(&tweet(t), StatKind::Likes).expect("within bounds").key
                        })
                        .collect();
                    node.sealed(&keys)
                })
                .collect()
        })
        .collect()
}

/// A replica holding one tweet whose likes come from `writers` distinct nodes (merged before
/// measuring: this measures reads, not verification).
pub fn tweet_with_writers(writers: usize) -> Replica {
    let mut replica = replica(0);
    for i in 0..writers {
        let mut node = writer(i as u64 + 1, Generation([1; 16]));
        let key = node.increment(&tweet(0), StatKind::Likes).expect("within bounds").key;
        node.increment(&tweet(0), StatKind::Likes).expect("within bounds");
        node.decrement(&tweet(0), StatKind::Likes).expect("within bounds");
        assert!(replica.merge(&namespace(), node.sealed([&key])).rejected.is_empty());
    }
    replica
}

/// `writers` nodes with one like on each of `per_writer` tweets, with their keys.
pub fn writers_with(writers: u64, per_writer: usize) -> Vec<(Replica, Vec<EntryKey>)> {
    (1..=writers)
        .map(|seed| {
            let mut node = replica(seed);
            let keys = (0..per_writer)
                .map(|t| node.increment(&tweet(t), StatKind::Likes).expect("within bounds").key)
                .collect();
            (node, keys)
        })
        .collect()
}

/// `n` payloads of entry size signed by `n` keys, for baseline measurements of the signature
/// primitive itself (ed25519-zebra, without any of this crate's work around it).
pub struct RawSignatures {
    pub messages: Vec<Vec<u8>>,
    pub signatures: Vec<ed25519_zebra::Signature>,
    pub keys: Vec<ed25519_zebra::VerificationKey>,
}

impl RawSignatures {
    pub fn new(n: usize) -> Self {
        let signers: Vec<ed25519_zebra::SigningKey> =
            (0..n).map(|i| ed25519_zebra::SigningKey::from([i as u8 + 1; 32])).collect();
        let messages: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 120]).collect();
        let signatures = signers.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
        let keys = signers.iter().map(ed25519_zebra::VerificationKey::from).collect();
        Self { messages, signatures, keys }
    }

    pub fn verify_batch(&self) {
        let mut batch = ed25519_zebra::batch::Verifier::new();
        for ((m, s), k) in self.messages.iter().zip(&self.signatures).zip(&self.keys) {
            batch.queue((ed25519_zebra::VerificationKeyBytes::from(*k), *s, m.as_slice()));
        }
        batch.verify(rand_core::UnwrapErr(getrandom::SysRng)).expect("valid");
    }

    pub fn verify_each(&self) {
        for ((m, s), k) in self.messages.iter().zip(&self.signatures).zip(&self.keys) {
            k.verify(s, m).expect("valid");
        }
    }
}

/// The light-node pattern: one tweet liked by `writers` nodes, each of which sealed that like
/// among `leaves` counters of its own (in key-hash order: the like lands anywhere in the
/// seal); what a relay serves a light node asking for that tweet: each writer's one leaf with
/// its proof.
pub fn light_node_batch(writers: u64, leaves: usize) -> Vec<Sealed> {
    (1..=writers)
        .map(|seed| {
            let mut node = writer(seed, Generation([1; 16]));
            let hot = node.increment(&tweet(0), StatKind::Likes).expect("within bounds").key;
            let mut keys: Vec<EntryKey> = (1..leaves)
                .map(|t| node.increment(&tweet(t), StatKind::Views).expect("within bounds").key)
                .collect();
            keys.push(hot.clone());
            let mut relay = replica(u64::MAX - seed);
            relay.merge(&namespace(), node.sealed(&keys));
            let mut served = relay.sealed([&hot]);
            assert_eq!((served.len(), served[0].leaves.len()), (1, 1));
            served.remove(0)
        })
        .collect()
}
