//! Helpers shared by the integration tests (native and wasm32).
#![allow(dead_code, unreachable_pub)]

use warpnet_stats::{
    Action, Caps, Difficulty, Generation, Identity, IdentityProof, Namespace, Node, Replica, Rules,
    Store, TweetId, UserId,
};

/// The rules of the tests' namespace: the default caps, and identity proofs that cost nothing
/// (difficulty 0: any nonce holds). Tests of the proofs themselves ask for more.
pub const RULES: Rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty(0) };

pub fn namespace() -> Namespace {
    Namespace::new("mainnet").expect("valid namespace")
}

/// A deterministic identity per seed, so tests and golden vectors are repeatable.
pub fn identity(seed: u8) -> Identity {
    Identity::from_secret([seed; 32])
}

pub fn generation(seed: u8) -> Generation {
    Generation([seed; 16])
}

pub fn replica(seed: u8) -> Replica {
    writer(namespace(), seed, seed)
}

/// A replica written by identity `seed` under `rules` (at difficulty 0: its proof set).
pub fn replica_under(seed: u8, rules: Rules) -> Replica {
    let mut replica = Replica::new(namespace(), rules, identity(seed), generation(seed));
    if rules.difficulty.0 == 0 {
        replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
    }
    replica
}

/// Identity proofs at [`Difficulty::DEFAULT`] of the writers of `identity(seed)` in
/// `generation(seed)` in the tests' namespace, for the fixtures (minted once with [`Minter`]).
pub const PROVEN: [(u8, u64); 4] =
    [(1, 2_890_704), (2, 24_916_480), (8, 9_797_190), (9, 8_169_947)];

/// The identity proof of writer `seed` (one of [`PROVEN`]).
pub fn proof_of(seed: u8) -> IdentityProof {
    let nonce = PROVEN.iter().find(|(s, _)| *s == seed).expect("a proven writer").1;
    IdentityProof { nonce }
}

/// A replica written by identity `seed` under the default rules, its proof from [`PROVEN`].
pub fn proven(seed: u8) -> Replica {
    let mut replica = Replica::new(namespace(), Rules::DEFAULT, identity(seed), generation(seed));
    replica.set_identity_proof(proof_of(seed)).expect("holds at the default difficulty");
    replica
}

/// A replica of `namespace` written by identity `seed` in generation `generation`, under
/// [`RULES`], its identity proof set.
pub fn writer(namespace: Namespace, seed: u8, generation_seed: u8) -> Replica {
    let mut replica = Replica::new(namespace, RULES, identity(seed), generation(generation_seed));
    replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
    replica
}

pub fn tweet(text: &str) -> TweetId {
    TweetId::new(text).expect("valid tweet id")
}

pub fn user(text: &str) -> UserId {
    UserId::new(text).expect("valid user id")
}

/// Opens a node of the tests' namespace on `store`, blocking.
pub fn open_node<S: Store>(store: S) -> Node<S> {
    futures::executor::block_on(Node::open(namespace(), RULES, store)).expect("opens")
}

/// Applies one action on `node`, blocking; the count after it, or the error's message.
pub fn act<S: Store>(node: &Node<S>, tweet_id: &str, action: Action) -> Result<u64, String> {
    let (applied, _) = futures::executor::block_on(node.act(&[(tweet(tweet_id), action)]))
        .map_err(|e| e.to_string())?;
    applied[0].as_ref().map(|a| a.count).map_err(|e| e.to_string())
}

pub mod light;
#[cfg(not(target_arch = "wasm32"))]
pub mod net;
pub mod sim;

/// A seal by the writer whose secret key is `secret` (in generation 7) over exactly these
/// counters, shown whole: what any writer, honest or not, can sign.
pub fn sealed_by(
    secret: [u8; 32],
    leaves: &[(&str, warpnet_stats::StatKind, warpnet_stats::PnCounter)],
) -> warpnet_stats::seal::Sealed {
    let leaves: Vec<warpnet_stats::seal::Leaf> = leaves
        .iter()
        .map(|&(t, stat, counter)| warpnet_stats::seal::Leaf { tweet: tweet(t), stat, counter })
        .collect();
    let (seal, tree) = warpnet_stats::seal::seal_leaves(
        &Identity::from_secret(secret),
        &namespace(),
        Generation([7; 16]),
        &leaves,
    )
    .expect("1 to 8192 leaves");
    let shown = (0..).zip(leaves).collect();
    warpnet_stats::seal::Sealed::of(&seal, warpnet_stats::IdentityProof { nonce: 0 }, &tree, shown)
        .expect("every leaf known")
}
