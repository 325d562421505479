//! Any seals one writer signs (parts of a few trees shown under their own leaf count or any
//! other their proof fits, so often one root under two counts; in one message or many; the
//! node reopened between any two): the node never panics, and everything it holds it serves
//! under signatures a fresh receiver checks, the receiver ending with exactly its counters.
#![no_main]

use arbitrary::Arbitrary;
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use warpnet_stats::{
    Caps, Difficulty, Generation, Identity, IdentityProof, MemoryStore, Node, PnCounter, Replica,
    Rules, StatKind, TweetId, Writer,
    seal::{Hash, Leaf, Sealed, Signature, Tree, seal_payload},
    sync::SyncSession,
};
use warpnet_stats_fuzz::{namespace, replica};

const RULES: Rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty(0) };

#[derive(Debug, Arbitrary)]
struct Shown {
    tree: u8,
    mask: u16,
    claimed: Option<u8>,
    send: bool,
    reopen: bool,
}

#[derive(Debug, Arbitrary)]
struct Input {
    trees: Vec<Vec<(u8, u8)>>,
    seals: Vec<Shown>,
}

/// `leaves` shown at `indices` under `leaf_count`, signed by the writer whatever root that
/// makes; `None` if the proof does not fit that count.
fn signed_as(
    identity: &Identity,
    leaves: &[Leaf],
    indices: &[u32],
    leaf_count: u32,
) -> Option<Sealed> {
    let hashes: Vec<Hash> = leaves.iter().map(Leaf::hash).collect();
    let tree = Tree::build(&hashes).ok()?;
    let proof = tree.prove(indices)?;
    let present: Vec<(u32, Hash)> = indices.iter().map(|&i| (i, hashes[i as usize])).collect();
    let claimed = Tree::from_proof(leaf_count, &present, &proof).ok()?;
    let writer = Writer { node: identity.node_id(), generation: Generation([7; 16]) };
    let payload = seal_payload(&namespace(), &writer, leaf_count, &claimed.root());
    let signature = identity.to_libp2p().sign(&payload).ok()?;
    Some(Sealed {
        writer,
        identity: IdentityProof { nonce: 0 },
        leaf_count,
        signature: Signature(signature.try_into().ok()?),
        leaves: indices.iter().map(|&i| (i, leaves[i as usize].clone())).collect(),
        proof,
    })
}

fn held(replica: &Replica) -> Vec<(String, u64, u64)> {
    let mut held: Vec<_> = replica
        .entries()
        .map(|e| (e.key.path(&namespace()), e.counter.increments, e.counter.decrements))
        .collect();
    held.sort();
    held
}

/// Pulls everything `node` serves into a fresh replica; every leaf must check.
fn served_by(node: &Node<MemoryStore>) -> Replica {
    let mut fresh = replica(8);
    let (mut session, mut request) = SyncSession::start();
    loop {
        let response = node.answer(&request).expect("answers");
        let step = session.handle(&mut fresh, response).expect("accepted");
        let merged = fresh.merge(&namespace(), step.fetched);
        assert!(merged.rejected.is_empty(), "served a leaf that does not check: {merged:?}");
        match step.next {
            Some(next) => request = next,
            None => return fresh,
        }
    }
}

fuzz_target!(|input: Input| {
    let identity = Identity::from_secret([7; 32]);
    let trees: Vec<Vec<Leaf>> = input
        .trees
        .iter()
        .take(4)
        .map(|leaves| {
            leaves
                .iter()
                .take(16)
                .map(|&(tweet, likes)| Leaf {
                    tweet: TweetId::new(format!("t{}", tweet % 8)).expect("valid"),
                    stat: StatKind::Likes,
                    counter: PnCounter::new(u64::from(likes % 5) + 1, 0),
                })
                .collect()
        })
        .filter(|leaves: &Vec<Leaf>| !leaves.is_empty())
        .collect();
    if trees.is_empty() {
        return;
    }
    let store = MemoryStore::new();
    let open = || block_on(Node::open(namespace(), RULES, store.clone())).expect("opens");
    let mut node = open();
    let mut message = Vec::new();
    for shown in input.seals.iter().take(24) {
        let leaves = &trees[usize::from(shown.tree) % trees.len()];
        let mut indices: Vec<u32> =
            (0..leaves.len() as u32).filter(|&i| shown.mask & (1 << i) != 0).collect();
        if indices.is_empty() {
            indices.push(0);
        }
        let count = shown.claimed.map_or(leaves.len() as u32, |c| u32::from(c % 40) + 1);
        message.extend(signed_as(&identity, leaves, &indices, count));
        if shown.send {
            block_on(node.merge(std::mem::take(&mut message))).expect("stores");
        }
        if shown.reopen {
            drop(node);
            node = open();
        }
    }
    block_on(node.merge(message)).expect("stores");
    for node in [open(), node] {
        assert_eq!(held(&served_by(&node)), node.with_replica(held));
    }
});
