//! Identity proofs: a price on every writer identity, against Sybil inflation (the caps bound
//! what one identity adds; this bounds how many identities an attacker can afford). A writer
//! (node id and generation) counts in a namespace only with a nonce such that
//! `blake3(seed ‖ nonce)` starts with the namespace's number of zero bits, where `seed` is
//! `blake3("warpnet-stats/identity/1" ‖ namespace ‖ node id ‖ generation)`. Minting takes
//! 2^difficulty attempts on average, in slices so a page stays responsive; checking takes two
//! hashes.

use super::ids::{Namespace, Writer};

/// The domain separator of identity proofs.
pub const PROOF_DOMAIN: &[u8] = b"warpnet-stats/identity/1";

/// How many leading zero bits a proof's hash needs: each one doubles the cost of minting.
/// Part of a namespace's configuration, like the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Difficulty(pub u8);

impl Difficulty {
    /// The default: 2^23, about 8.4 million attempts on average: ~1.1 s in wasm at the
    /// 7.8 M attempts/s measured (`scripts/bench --wasm`), as long natively.
    pub const DEFAULT: Difficulty = Difficulty(23);

    /// The average number of attempts to mint a proof.
    pub fn expected_attempts(self) -> f64 {
        2f64.powi(i32::from(self.0))
    }
}

impl Default for Difficulty {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A proof that work was spent on one writer identity in one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityProof {
    /// The nonce found.
    pub nonce: u64,
}

/// An identity proof that does not hold for the writer and namespace it was given to, at the
/// namespace's difficulty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the identity proof does not hold for this writer at difficulty {}", .difficulty.0)]
#[non_exhaustive]
pub struct WeakProof {
    /// The difficulty it was checked at.
    pub difficulty: Difficulty,
}

impl IdentityProof {
    /// Whether this proof holds for `writer` in `namespace` at `difficulty`.
    pub fn holds(&self, namespace: &Namespace, writer: &Writer, difficulty: Difficulty) -> bool {
        leading_zeros(&seed(namespace, writer), self.nonce) >= u32::from(difficulty.0)
    }
}

/// The per-identity part of every attempt's input.
fn seed(namespace: &Namespace, writer: &Writer) -> [u8; 32] {
    let node = writer.node.to_bytes();
    let mut hasher = blake3::Hasher::new();
    hasher.update(PROOF_DOMAIN);
    hasher.update(&[namespace.as_str().len() as u8]);
    hasher.update(namespace.as_str().as_bytes());
    hasher.update(&[node.len() as u8]);
    hasher.update(&node);
    hasher.update(&writer.generation.0);
    *hasher.finalize().as_bytes()
}

/// The leading zero bits of one attempt's hash (one 40-byte blake3 block).
fn leading_zeros(seed: &[u8; 32], nonce: u64) -> u32 {
    let mut input = [0u8; 40];
    input[..32].copy_from_slice(seed);
    input[32..].copy_from_slice(&nonce.to_be_bytes());
    let hash = blake3::hash(&input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_be_bytes(first).leading_zeros()
}

/// Mints an identity proof a slice at a time: `step` tries a given number of nonces and
/// returns the proof once one holds. The caller decides how long a slice is (a browser yields
/// to the page between slices) and reports progress from [`Minter::attempts`].
#[derive(Debug, Clone)]
pub struct Minter {
    seed: [u8; 32],
    difficulty: Difficulty,
    next: u64,
    tried: u64,
}

impl Minter {
    /// A minter for `writer` in `namespace`, trying nonces from `start` up (a random start lets
    /// several minters of one identity share nothing).
    pub fn new(namespace: &Namespace, writer: &Writer, difficulty: Difficulty, start: u64) -> Self {
        Self { seed: seed(namespace, writer), difficulty, next: start, tried: 0 }
    }

    /// Tries up to `attempts` more nonces; the proof, if one of them holds.
    pub fn step(&mut self, attempts: u64) -> Option<IdentityProof> {
        let wanted = u32::from(self.difficulty.0);
        for _ in 0..attempts {
            let nonce = self.next;
            self.next = self.next.wrapping_add(1);
            self.tried += 1;
            if leading_zeros(&self.seed, nonce) >= wanted {
                return Some(IdentityProof { nonce });
            }
        }
        None
    }

    /// Nonces tried so far.
    pub fn attempts(&self) -> u64 {
        self.tried
    }

    /// The difficulty being minted for.
    pub fn difficulty(&self) -> Difficulty {
        self.difficulty
    }
}
