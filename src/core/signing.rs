//! Node identity (an ed25519 key), the canonical bytes an entry's signature covers, and
//! batched signature checks. Pure: randomness for new keys comes in from the caller.

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use libp2p_identity::PeerId;

use super::counter::PnCounter;
use super::ids::{EntryKey, Namespace, NodeId};

/// The domain-separation prefix of every signed entry payload.
pub const ENTRY_DOMAIN: &[u8] = b"warpnet-stats/entry/1";

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

/// A 64-byte ed25519 signature over an entry's [`signing_payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

/// The exact bytes an entry's signature covers:
///
/// ```text
/// "warpnet-stats/entry/1"
/// u8 len | namespace      u8 len | tweet id       u8 stat code (1..4)
/// u8 len | node id bytes  16 bytes generation     u64 BE increments   u64 BE decrements
/// ```
///
/// Lengths fit in a byte because ids are limited to 128 bytes and namespaces to 64.
pub fn signing_payload(namespace: &Namespace, key: &EntryKey, counter: PnCounter) -> Vec<u8> {
    let node = key.writer.node.to_bytes();
    let mut out = Vec::with_capacity(ENTRY_DOMAIN.len() + 64 + key.tweet.as_str().len() + 70);
    out.extend_from_slice(ENTRY_DOMAIN);
    for part in [namespace.as_str().as_bytes(), key.tweet.as_str().as_bytes()] {
        out.push(u8::try_from(part.len()).expect("ids are at most 128 bytes"));
        out.extend_from_slice(part);
    }
    out.push(key.stat.code());
    out.push(u8::try_from(node.len()).expect("a PeerId is at most 70 bytes"));
    out.extend_from_slice(&node);
    out.extend_from_slice(&key.writer.generation.0);
    out.extend_from_slice(&counter.increments.to_be_bytes());
    out.extend_from_slice(&counter.decrements.to_be_bytes());
    out
}

/// The protobuf prefix of an ed25519 public key inside a PeerId: key type 1 (Ed25519), then
/// 32 bytes of key data.
const ED25519_KEY_PREFIX: [u8; 4] = [0x08, 0x01, 0x12, 0x20];

/// Whether a PeerId embeds an ed25519 public key (an identity multihash of its protobuf
/// encoding). A structural check only: the key's curve point is decoded, once per node, when
/// its first signature is checked.
pub(crate) fn embeds_ed25519_key(peer: &PeerId) -> bool {
    let multihash = peer.as_ref();
    let digest = multihash.digest();
    multihash.code() == 0 && digest.len() == 36 && digest[..4] == ED25519_KEY_PREFIX
}

/// The ed25519 key a PeerId embeds, if it is a valid curve point not of small order.
pub(crate) fn public_key_of(peer: &PeerId) -> Option<VerifyingKey> {
    if !embeds_ed25519_key(peer) {
        return None;
    }
    let bytes: &[u8; 32] = peer.as_ref().digest()[4..].try_into().ok()?;
    let key = VerifyingKey::from_bytes(bytes).ok()?;
    (!key.is_weak()).then_some(key)
}

/// One signature to check.
pub(crate) struct Check<'a> {
    pub payload: &'a [u8],
    pub signature: &'a Signature,
    pub key: &'a VerifyingKey,
}

/// Checks all signatures at once (ed25519 batch verification, about twice as cheap per
/// signature); only if the batch fails are they checked one by one to find the bad ones. A
/// single signature is checked on its own. Returns one verdict per check, in order.
pub(crate) fn verify_all(checks: &[Check<'_>]) -> Vec<bool> {
    let signatures: Vec<ed25519_dalek::Signature> =
        checks.iter().map(|c| ed25519_dalek::Signature::from_bytes(&c.signature.0)).collect();
    if checks.len() > 1 {
        let messages: Vec<&[u8]> = checks.iter().map(|c| c.payload).collect();
        let keys: Vec<VerifyingKey> = checks.iter().map(|c| *c.key).collect();
        if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
            return vec![true; checks.len()];
        }
    }
    checks
        .iter()
        .zip(&signatures)
        .map(|(check, signature)| check.key.verify(check.payload, signature).is_ok())
        .collect()
}
