//! Seals: one writer signature over the Merkle root of many of its counters, so signing and
//! checking cost grows with messages and writers, not with counters. A node keeps, for each
//! remote counter it holds, the leaf and the seal that vouch for it, and serves any subset of
//! a seal's leaves with a multiproof against the root the writer signed. Pure.

use ed25519_zebra::VerificationKey;

use super::counter::PnCounter;
use super::ids::{EntryKey, Generation, Namespace, NodeId, StatKind, TweetId, Writer};
use super::merkle;
use super::proof::IdentityProof;
use super::signing::{self, Check, Identity};

pub use super::merkle::{HASH_BYTES, Hash, MAX_LEAVES, ProofError, Tree};
pub use super::signing::Signature;

/// The domain-separation prefix of every signed seal payload.
pub const SEAL_DOMAIN: &[u8] = b"warpnet-stats/seal/2";

/// One counter as a leaf of a seal: an entry without its writer (the seal names the writer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Leaf {
    /// The tweet.
    pub tweet: TweetId,
    /// The statistic.
    pub stat: StatKind,
    /// The writer's counter.
    pub counter: PnCounter,
}

impl Leaf {
    /// The bytes a leaf's hash covers:
    ///
    /// ```text
    /// u8 len | tweet id    u8 stat code (1..4)    u64 BE increments    u64 BE decrements
    /// ```
    pub fn bytes(&self) -> Vec<u8> {
        let tweet = self.tweet.as_str().as_bytes();
        let mut out = Vec::with_capacity(18 + tweet.len());
        out.push(u8::try_from(tweet.len()).expect("tweet ids are at most 128 bytes"));
        out.extend_from_slice(tweet);
        out.push(self.stat.code());
        out.extend_from_slice(&self.counter.increments.to_be_bytes());
        out.extend_from_slice(&self.counter.decrements.to_be_bytes());
        out
    }

    /// The leaf's hash in a seal's tree ([`Leaf::bytes`] written to a buffer on the stack).
    pub fn hash(&self) -> Hash {
        let tweet = self.tweet.as_str().as_bytes();
        let mut buffer = [0u8; 1 + 128 + 1 + 16];
        let len = 18 + tweet.len();
        buffer[0] = u8::try_from(tweet.len()).expect("tweet ids are at most 128 bytes");
        buffer[1..=tweet.len()].copy_from_slice(tweet);
        buffer[1 + tweet.len()] = self.stat.code();
        buffer[2 + tweet.len()..10 + tweet.len()]
            .copy_from_slice(&self.counter.increments.to_be_bytes());
        buffer[10 + tweet.len()..len].copy_from_slice(&self.counter.decrements.to_be_bytes());
        debug_assert_eq!(&buffer[..len], self.bytes().as_slice());
        merkle::leaf_hash(&buffer[..len])
    }

    /// The entry key of this leaf under `writer`.
    pub fn key(&self, writer: Writer) -> EntryKey {
        EntryKey { tweet: self.tweet.clone(), stat: self.stat, writer }
    }
}

/// A writer's signed statement that a tree of `leaves` counters has this `root`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seal {
    /// Who signed.
    pub writer: Writer,
    /// How many leaves the tree has.
    pub leaves: u32,
    /// The tree's root.
    pub root: Hash,
    /// The writer's signature over [`seal_payload`].
    pub signature: Signature,
}

/// The exact bytes a seal's signature covers:
///
/// ```text
/// "warpnet-stats/seal/2"
/// u8 len | namespace    u8 len | node id bytes    16 bytes generation
/// u32 BE leaf count     16 bytes root
/// ```
pub fn seal_payload(namespace: &Namespace, writer: &Writer, leaves: u32, root: &Hash) -> Vec<u8> {
    let node = writer.node.to_bytes();
    let mut out = Vec::with_capacity(SEAL_DOMAIN.len() + 2 + 64 + node.len() + 36);
    out.extend_from_slice(SEAL_DOMAIN);
    out.push(u8::try_from(namespace.as_str().len()).expect("namespaces are at most 64 bytes"));
    out.extend_from_slice(namespace.as_str().as_bytes());
    out.push(u8::try_from(node.len()).expect("a PeerId is at most 70 bytes"));
    out.extend_from_slice(&node);
    out.extend_from_slice(&writer.generation.0);
    out.extend_from_slice(&leaves.to_be_bytes());
    out.extend_from_slice(root);
    out
}

/// Signs `leaves` (1 to [`merkle::MAX_LEAVES`] of them, in the order given) as `identity` in
/// `generation` of its store. Returns the seal and the whole tree.
pub fn seal_leaves(
    identity: &Identity,
    namespace: &Namespace,
    generation: Generation,
    leaves: &[Leaf],
) -> Result<(Seal, Tree), ProofError> {
    let writer = Writer { node: identity.node_id(), generation };
    let hashes: Vec<Hash> = leaves.iter().map(Leaf::hash).collect();
    let tree = Tree::build(&hashes)?;
    let payload = seal_payload(namespace, &writer, tree.leaves(), &tree.root());
    let signature = identity.sign(&payload);
    Ok((Seal { writer, leaves: tree.leaves(), root: tree.root(), signature }, tree))
}

/// Some leaves of one seal as they travel: the writer's signature, the tree's size, the leaves
/// by index (rising), and the multiproof that connects them to the root the writer signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Who signed.
    pub writer: Writer,
    /// The writer's identity proof in this namespace.
    pub identity: IdentityProof,
    /// How many leaves the signed tree has.
    pub leaf_count: u32,
    /// The writer's signature over the tree's root.
    pub signature: Signature,
    /// The leaves shown, by index.
    pub leaves: Vec<(u32, Leaf)>,
    /// The hashes of the rest of the tree that the leaves need ([`Tree::prove`]).
    pub proof: Vec<Hash>,
}

impl Sealed {
    /// These leaves of a seal whose tree is known: `None` if one of them is not known there.
    pub fn of(
        seal: &Seal,
        identity: IdentityProof,
        tree: &Tree,
        leaves: Vec<(u32, Leaf)>,
    ) -> Option<Sealed> {
        let indices: Vec<u32> = leaves.iter().map(|(i, _)| *i).collect();
        let proof = tree.prove(&indices)?;
        Some(Sealed {
            writer: seal.writer,
            identity,
            leaf_count: seal.leaves,
            signature: seal.signature,
            leaves,
            proof,
        })
    }
}

/// Why a sealed group of leaves was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The leaves and proof do not make a tree of the stated size.
    #[error("malformed proof: {0}")]
    Proof(#[from] ProofError),
    /// The signature does not verify against the writer's key for the rebuilt root.
    #[error("bad signature")]
    BadSignature,
}

/// Checks every sealed group: rebuilds each tree from its leaves and proof, then verifies all
/// signatures in one batch. Returns, per group, the seal and what is known of its tree.
pub fn verify_sealed(
    namespace: &Namespace,
    groups: &[Sealed],
) -> Vec<Result<(Seal, Tree), SealError>> {
    let trees: Vec<Result<Tree, SealError>> =
        groups.iter().map(|g| g.tree().map_err(SealError::from)).collect();
    let pending: Vec<(&Sealed, &Tree)> =
        groups.iter().zip(&trees).filter_map(|(g, t)| Some((g, t.as_ref().ok()?))).collect();
    let mut verdicts = check_signatures(namespace, &pending, signing::public_key_of).into_iter();
    groups
        .iter()
        .zip(trees)
        .map(|(group, tree)| {
            let tree = tree?;
            if verdicts.next() != Some(true) {
                return Err(SealError::BadSignature);
            }
            Ok((group.seal_of(&tree), tree))
        })
        .collect()
}

/// Sealed groups together with what checking them found ([`verify_sealed`]): made only by
/// [`Verified::check`], so a merge given one
/// ([`Replica::start_verified_merge`](crate::Replica::start_verified_merge)) takes its
/// verdicts instead of checking again. The check can run on another thread.
#[derive(Debug)]
pub struct Verified {
    namespace: Namespace,
    groups: Vec<Sealed>,
    verdicts: Verdicts,
}

/// What checking each group of a batch found: its seal and tree, or why not.
pub(crate) type Verdicts = Vec<Result<(Seal, Tree), SealError>>;

impl Verified {
    /// Checks every group of `groups`, signed for `namespace`.
    pub fn check(namespace: &Namespace, groups: Vec<Sealed>) -> Self {
        let verdicts = verify_sealed(namespace, &groups);
        Self { namespace: namespace.clone(), groups, verdicts }
    }

    /// The groups checked.
    pub fn groups(&self) -> &[Sealed] {
        &self.groups
    }

    /// What was found of each group, in order.
    pub fn verdicts(&self) -> &[Result<(Seal, Tree), SealError>] {
        &self.verdicts
    }

    pub(crate) fn into_parts(self) -> (Namespace, Vec<Sealed>, Verdicts) {
        (self.namespace, self.groups, self.verdicts)
    }
}

impl Sealed {
    /// The tree these leaves and proof make (its root is what the signature must cover).
    pub(crate) fn tree(&self) -> Result<Tree, ProofError> {
        let present: Vec<(u32, Hash)> =
            self.leaves.iter().map(|(i, leaf)| (*i, leaf.hash())).collect();
        Tree::from_proof(self.leaf_count, &present, &self.proof)
    }

    /// The seal these leaves claim, given their rebuilt tree.
    pub(crate) fn seal_of(&self, tree: &Tree) -> Seal {
        Seal {
            writer: self.writer,
            leaves: tree.leaves(),
            root: tree.root(),
            signature: self.signature,
        }
    }

    /// Only the leaves `keep` keeps, with their proof made anew from what the others showed of
    /// the tree (a proof covers the leaves shown together: dropping some leaves the rest
    /// unprovable). Hashing only, no signature check. `None` if none is kept; unchanged if
    /// the leaves and proof make no tree (the merge refuses it whole).
    pub fn narrowed(mut self, keep: impl Fn(&Leaf) -> bool) -> Option<Sealed> {
        if self.leaves.iter().all(|(_, leaf)| keep(leaf)) {
            return Some(self);
        }
        let Ok(tree) = self.tree() else { return Some(self) };
        self.leaves.retain(|(_, leaf)| keep(leaf));
        let indices: Vec<u32> = self.leaves.iter().map(|(i, _)| *i).collect();
        self.proof = tree.prove(&indices)?;
        Some(self)
    }

    /// An upper bound of this group's encoded size in a message.
    pub(crate) fn size_bound(&self) -> usize {
        let leaves: usize = self.leaves.iter().map(|(_, l)| l.tweet.as_str().len() + 40).sum();
        160 + merkle::HASH_BYTES * self.proof.len() + leaves
    }
}

/// Verifies the signatures of groups whose trees are rebuilt, in one batch; `key_of` gives a
/// node's public key (`None`: the node id embeds no usable key). One verdict per group.
pub(crate) fn check_signatures(
    namespace: &Namespace,
    groups: &[(&Sealed, &Tree)],
    key_of: impl Fn(&NodeId) -> Option<VerificationKey>,
) -> Vec<bool> {
    let keys: Vec<Option<VerificationKey>> =
        groups.iter().map(|(g, _)| key_of(&g.writer.node)).collect();
    let payloads: Vec<Vec<u8>> = groups
        .iter()
        .map(|(g, tree)| seal_payload(namespace, &g.writer, tree.leaves(), &tree.root()))
        .collect();
    let checks: Vec<Check<'_>> = groups
        .iter()
        .zip(&payloads)
        .zip(&keys)
        .filter_map(|(((g, _), payload), key)| {
            Some(Check { payload, signature: &g.signature, key: key.as_ref()? })
        })
        .collect();
    let mut verdicts = signing::verify_all(&checks).into_iter();
    keys.iter().map(|key| key.is_some() && verdicts.next() == Some(true)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Generation;

    fn setup(count: u32) -> (Identity, Namespace, Writer, Vec<Leaf>) {
        let identity = Identity::from_secret([7; 32]);
        let writer = Writer { node: identity.node_id(), generation: Generation([1; 16]) };
        let leaves = (0..count)
            .map(|i| Leaf {
                tweet: TweetId::new(format!("tweet-{}", i / 4)).expect("valid"),
                stat: StatKind::ALL[(i % 4) as usize],
                counter: PnCounter::new(u64::from(i) + 1, 0),
            })
            .collect();
        (identity, Namespace::new("mainnet").expect("valid"), writer, leaves)
    }

    #[test]
    fn any_part_of_a_seal_verifies_and_tampering_does_not() {
        let (identity, namespace, writer, leaves) = setup(11);
        let (seal, tree) =
            seal_leaves(&identity, &namespace, writer.generation, &leaves).expect("sealed");
        assert_eq!(seal.writer, writer);
        let part: Vec<(u32, Leaf)> = [2u32, 3, 9].map(|i| (i, leaves[i as usize].clone())).into();
        let sealed = Sealed::of(&seal, IdentityProof { nonce: 0 }, &tree, part).expect("known");
        let mut forged = sealed.clone();
        forged.leaves[1].1.counter.increments += 1;
        let mut elsewhere = sealed.clone();
        elsewhere.leaf_count = 12;
        let other = Namespace::new("testnet").expect("valid");
        let verdicts = verify_sealed(&namespace, &[sealed.clone(), forged, elsewhere]);
        let (checked, rebuilt) = verdicts[0].clone().expect("valid");
        assert_eq!(checked, seal);
        assert_eq!(verdicts[1], Err(SealError::BadSignature));
        assert!(verdicts[2].is_err());
        assert_eq!(verify_sealed(&other, &[sealed])[0], Err(SealError::BadSignature));
        // A receiver can serve one of the leaves it got, with the writer's same signature.
        let again = Sealed::of(
            &checked,
            IdentityProof { nonce: 0 },
            &rebuilt,
            vec![(9, leaves[9].clone())],
        )
        .expect("known");
        assert!(verify_sealed(&namespace, &[again])[0].is_ok());
        assert!(
            Sealed::of(
                &checked,
                IdentityProof { nonce: 0 },
                &rebuilt,
                vec![(4, leaves[4].clone())]
            )
            .is_none()
        );
    }
}
