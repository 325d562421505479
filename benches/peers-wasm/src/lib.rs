//! A node of the side-by-side benchmark (benches/peers.mjs), called from JS like Automerge's
//! and Yjs's documents: one call per action, its changes exported as sealed wire messages and
//! merged (decoded, signatures checked) into another node.

use std::collections::BTreeSet;

use warpnet_stats_core::{
    Action, Caps, Difficulty, EntryKey, Generation, Identity, IdentityProof, Minter, Namespace,
    NodeState, ReplyId, Rules, StatKind, TweetId, UserId,
    wire::{MAX_MESSAGE_BYTES, SealedBatch},
};
use wasm_bindgen::prelude::*;

/// The benchmark's rules: the default caps, identity proofs that any nonce satisfies (minting
/// at the default difficulty is measured on its own: [`mint`]).
const RULES: Rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty(0) };

fn namespace() -> Namespace {
    Namespace::new("bench").expect("a valid namespace")
}

fn js(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

/// One node: its counters, and the keys changed since its last export.
#[wasm_bindgen]
pub struct BenchNode {
    state: NodeState,
    changed: BTreeSet<EntryKey>,
}

#[wasm_bindgen]
impl BenchNode {
    /// A node whose identity and generation are drawn from `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(seed: u8) -> Result<BenchNode, JsError> {
        let identity = Identity::from_secret([seed; 32]);
        let mut state = NodeState::new(namespace(), RULES, identity, Generation([seed; 16]));
        state.replica_mut().set_identity_proof(IdentityProof { nonce: 0 }).map_err(js)?;
        Ok(BenchNode { state, changed: BTreeSet::new() })
    }

    /// Applies one action: `stat` 0 likes (by `who`), 1 retweets (by `who`), 2 replies (reply
    /// id `who`), 3 views. Returns the tweet's new count of that statistic.
    pub fn act(&mut self, tweet: &str, stat: u8, who: &str) -> Result<u32, JsError> {
        let tweet = TweetId::new(tweet).map_err(js)?;
        let action = match stat {
            0 => Action::Like(UserId::new(who).map_err(js)?),
            1 => Action::Retweet(UserId::new(who).map_err(js)?),
            2 => Action::Reply(ReplyId::new(who).map_err(js)?),
            _ => Action::View,
        };
        let outcome = self.state.apply(&tweet, &action).map_err(js)?;
        self.changed.extend(outcome.entry.map(|entry| entry.key));
        Ok(outcome.count as u32)
    }

    /// The counters changed since the last export, sealed (one signature per message) and
    /// encoded as wire messages, concatenated, each preceded by its length (4 bytes, big-endian).
    pub fn export(&mut self) -> Vec<u8> {
        let keys: Vec<EntryKey> = std::mem::take(&mut self.changed).into_iter().collect();
        let mut out = Vec::new();
        for (_, bytes) in SealedBatch::messages(self.state.replica(), &keys, MAX_MESSAGE_BYTES) {
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Merges what another node exported: decoded, signatures checked. Returns the counters
    /// that changed here.
    pub fn merge(&mut self, messages: &[u8]) -> Result<u32, JsError> {
        let (mut rest, mut changed) = (messages, 0);
        while let Some((length, tail)) = rest.split_first_chunk::<4>() {
            let length = u32::from_be_bytes(*length) as usize;
            let (bytes, tail) =
                tail.split_at_checked(length).ok_or_else(|| JsError::new("a cut message"))?;
            let batch = SealedBatch::decode(bytes).map_err(js)?;
            let report = self.state.replica_mut().merge(&batch.namespace, batch.sealed);
            if !report.rejected.is_empty() {
                return Err(JsError::new("a counter was rejected"));
            }
            changed += report.changed.len() as u32;
            rest = tail;
        }
        Ok(changed)
    }

    /// A tweet's total of statistic `stat` (0 likes, 1 retweets, 2 replies, 3 views).
    pub fn count(&self, tweet: &str, stat: u8) -> Result<u32, JsError> {
        let tweet = TweetId::new(tweet).map_err(js)?;
        let stat = *StatKind::ALL.get(stat as usize).ok_or_else(|| JsError::new("a stat 0-3"))?;
        Ok(self.state.replica().count(&tweet, stat) as u32)
    }
}

/// Mints the identity proof of node `seed` at the default difficulty (what a new node does once,
/// before it publishes); returns the attempts it took.
#[wasm_bindgen]
pub fn mint(seed: u8) -> f64 {
    let writer = NodeState::new(
        namespace(),
        Rules::DEFAULT,
        Identity::from_secret([seed; 32]),
        Generation([seed; 16]),
    )
    .replica()
    .local_writer();
    let mut minter = Minter::new(&namespace(), &writer, Difficulty::DEFAULT, 0);
    while minter.step(1 << 16).is_none() {}
    minter.attempts() as f64
}
