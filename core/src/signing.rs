//! Node identity (an ed25519 key) and batched signature checks. Pure: randomness for new keys
//! comes in from the caller.

use ed25519_dalek::{Signer, SigningKey};
use ed25519_zebra::{VerificationKey, VerificationKeyBytes, batch};

use super::ids::NodeId;

/// A node's signing identity: an ed25519 key whose libp2p PeerId is the [`NodeId`].
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    node: NodeId,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("node", &self.node).finish_non_exhaustive()
    }
}

impl Identity {
    /// The identity for a 32-byte ed25519 secret key (random bytes make a new identity).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&secret);
        let public =
            libp2p_identity::ed25519::PublicKey::try_from_bytes(key.verifying_key().as_bytes())
                .expect("a dalek verifying key is a valid ed25519 public key");
        let peer = libp2p_identity::PublicKey::from(public).to_peer_id();
        let node = NodeId::from_peer_id(peer).expect("an ed25519 PeerId embeds its key");
        Self { key, node }
    }

    /// The 32-byte secret key, for keeping the identity in a store.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// This identity's node id.
    pub fn node_id(&self) -> NodeId {
        self.node
    }

    /// The same key as a libp2p keypair, for the network layer.
    pub fn to_libp2p(&self) -> libp2p_identity::Keypair {
        libp2p_identity::Keypair::ed25519_from_bytes(self.key.to_bytes())
            .expect("32 bytes are a valid ed25519 secret key")
    }

    pub(crate) fn sign(&self, payload: &[u8]) -> Signature {
        Signature(self.key.sign(payload).to_bytes())
    }
}

/// A 64-byte ed25519 signature (over a seal's payload, [`super::seal::seal_payload`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

/// The ed25519 key a node id embeds, if it is a valid curve point not of small order (anyone
/// could sign for a small-order key).
pub(crate) fn public_key_of(node: &NodeId) -> Option<VerificationKey> {
    let bytes = *node.key_bytes();
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_or(true, |key| key.is_weak());
    if weak {
        return None;
    }
    VerificationKey::try_from(bytes).ok()
}

/// One signature to check.
pub(crate) struct Check<'a> {
    pub payload: &'a [u8],
    pub signature: &'a Signature,
    pub key: &'a VerificationKey,
}

/// Checks all signatures at once (ed25519 batch verification under the ZIP-215 rules, which
/// agree with one-by-one checks on every input; signatures by the same key share their key's
/// term, so a batch from one writer costs about half as much per signature). Only if the batch
/// fails are they checked one by one to find the bad ones. Returns one verdict per check.
pub(crate) fn verify_all(checks: &[Check<'_>]) -> Vec<bool> {
    let signatures: Vec<ed25519_zebra::Signature> =
        checks.iter().map(|c| ed25519_zebra::Signature::from_bytes(&c.signature.0)).collect();
    if checks.len() > 1 {
        let coefficients = Coefficients::of(checks);
        let mut verifier = batch::Verifier::new();
        for (check, signature) in checks.iter().zip(&signatures) {
            verifier.queue((VerificationKeyBytes::from(*check.key), *signature, check.payload));
        }
        if verifier.verify(coefficients).is_ok() {
            return vec![true; checks.len()];
        }
    }
    checks
        .iter()
        .zip(&signatures)
        .map(|(check, signature)| check.key.verify(signature, check.payload).is_ok())
        .collect()
}

/// The coefficients of one batch check, derived from everything checked (a BLAKE3 output stream
/// over every key, signature and payload, as deterministic batch verifiers do): whoever crafts
/// the signatures cannot know the coefficients before fixing them, and the core needs no
/// random source.
struct Coefficients(blake3::OutputReader);

impl Coefficients {
    fn of(checks: &[Check<'_>]) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key("warpnet-stats batch verification v1");
        for check in checks {
            hasher.update(check.key.as_ref());
            hasher.update(&check.signature.0);
            hasher.update(&(check.payload.len() as u64).to_le_bytes());
            hasher.update(check.payload);
        }
        Self(hasher.finalize_xof())
    }
}

impl rand_core::TryRng for Coefficients {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0; 4];
        self.0.fill(&mut bytes);
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0; 8];
        self.0.fill(&mut bytes);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill(dst);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Coefficients {}
