//! The local writer's identity proof: read from the store when the node opens, otherwise minted
//! once per store in slices that leave the event loop free (the node counts meanwhile, and its
//! peer publishes once the proof is set), then kept in the store. Nodes sharing a store (tabs)
//! take a proof another one stored.

use std::time::Duration;

use futures_timer::Delay;

use super::{Node, schema};
use warpnet_stats_core::{IdentityProof, Minter};
use warpnet_stats_store::{Store, StoreError};

/// Attempts per slice between yields to the event loop: about 33 ms in wasm, under the 50 ms of
/// a long task, and long enough that a browser's 4 ms minimum timer delay costs little.
const SLICE: u64 = 1 << 18;
/// Slices between looks at the store for a proof another node sharing it minted.
const LOOK_EVERY: u64 = 4;

/// How minting the local writer's identity proof goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Minting {
    /// Attempts made so far.
    pub attempts: u64,
    /// Attempts a proof takes on average at the namespace's difficulty.
    pub expected: f64,
    /// Whether the proof is set.
    pub done: bool,
}

/// The proof kept in `store`, if any.
pub(super) async fn read_proof(store: &impl Store) -> Result<Option<IdentityProof>, StoreError> {
    let key = [schema::PROOF_KEY.to_owned()];
    let stored = store.update(&key, |mut values| (Vec::new(), values.pop().flatten())).await?;
    Ok(stored.and_then(|bytes| {
        Some(IdentityProof { nonce: u64::from_be_bytes(bytes.try_into().ok()?) })
    }))
}

impl<S: Store> Node<S> {
    /// The local writer's identity proof, once set: the node's counters are published only
    /// with one.
    pub fn identity_proof(&self) -> Option<IdentityProof> {
        self.with_replica(|r| r.identity_proof())
    }

    /// How far minting got: nothing attempted yet, and whether the proof is set.
    pub fn minting(&self) -> Minting {
        let expected = self.with_replica(|r| r.rules().difficulty.expected_attempts());
        Minting { attempts: 0, expected, done: self.identity_proof().is_some() }
    }

    /// Mints the local writer's identity proof unless it is set, in slices of attempts with a
    /// yield to the event loop after each, telling `progress` after each slice. Resolves once
    /// the proof is set: found here (and stored; if the store fails the proof is used all the
    /// same and minted again after a restart), or found by another node sharing the store.
    pub async fn mint_identity(&self, mut progress: impl FnMut(Minting)) -> IdentityProof {
        let (namespace, writer, difficulty) =
            self.with_replica(|r| (r.namespace().clone(), r.local_writer(), r.rules().difficulty));
        // A random start, so nodes minting for the same store at once do not repeat each other.
        let mut start = [0u8; 8];
        let _ = getrandom::fill(&mut start);
        let mut minter = Minter::new(&namespace, &writer, difficulty, u64::from_le_bytes(start));
        let expected = difficulty.expected_attempts();
        let mut slices = 0u64;
        loop {
            if let Some(proof) = self.identity_proof() {
                progress(Minting { attempts: minter.attempts(), expected, done: true });
                return proof;
            }
            if slices % LOOK_EVERY == LOOK_EVERY - 1
                && let Ok(Some(stored)) = read_proof(&self.store).await
            {
                // Another tab's proof (same store, same writer); one that does not hold is
                // left for this loop to replace.
                let _weak = self.with_replica_mut(|r| r.set_identity_proof(stored));
            }
            if let Some(proof) = minter.step(SLICE) {
                let nonce = proof.nonce.to_be_bytes().to_vec();
                let write = vec![(schema::PROOF_KEY.to_owned(), Some(nonce))];
                if let Err(error) = self.store.update(&[], |_| (write, ())).await {
                    tracing::warn!(%error, "the identity proof could not be stored");
                }
                if let Err(error) = self.with_replica_mut(|r| r.set_identity_proof(proof)) {
                    tracing::warn!(%error, "a minted identity proof was not taken");
                }
                continue;
            }
            slices += 1;
            progress(Minting { attempts: minter.attempts(), expected, done: false });
            // A timer, not a microtask: in a browser the page renders between slices.
            Delay::new(Duration::ZERO).await;
        }
    }
}
