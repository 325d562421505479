//! The CRDT core of warpnet-stats: identifiers, PN-counters, the replica with incremental
//! totals, user actions, seals, catch-up digests, the light protocol's answers and the wire
//! codec. std only: no I/O, no clock, no async, no wasm, no libp2p swarm. Time and randomness
//! come in as arguments from the layers above (the `warpnet-stats` crate), which this crate
//! cannot see.

mod actions;
mod counter;
mod digest;
mod ids;
mod interest;
mod light;
mod merkle;
mod proof;
mod quota;
mod replica;
pub mod restore;
mod rules;
mod seal;
mod signing;
mod sync;
mod tally;
mod totals;
mod wire;
mod wire_light;
mod wire_sync;
mod witness;

pub use actions::{Action, Mark, NodeState, Outcome, Record};
pub use counter::PnCounter;
pub use digest::Summary;
pub use ids::{
    EntryKey, Generation, KeyError, MAX_ID_LEN, MAX_NAMESPACE_LEN, Namespace, NodeId, ReplyId,
    StatKind, TweetId, UserId, Writer,
};
pub use interest::Interest;
pub use light::{
    Changed, FULL_TWEET_COUNTERS, LightError, SignedTallies, Verification, check_from_edge,
    served_by_tally, update_for,
};
pub use merkle::{HASH_BYTES, Hash, MAX_LEAVES, ProofError, Tree};
pub use proof::{Difficulty, IdentityProof, Minter, PROOF_DOMAIN, WeakProof};
pub use replica::{Entry, Forgotten, MergeReport, Merged, Merging, Rejection, Replica};
pub use rules::{Caps, CapsError, OutOfBounds, Rules};
pub use seal::{
    Leaf, SEAL_DOMAIN, Seal, SealError, Sealed, Verified, seal_leaves, seal_payload, verify_sealed,
};
pub use signing::{Identity, Signature};
pub use sync::{
    MAX_REQUEST_ITEMS, MAX_RESPONSE_ENTRIES, MAX_RESPONSE_SUMMARIES, SyncError, SyncRequest,
    SyncResponse, SyncSession, SyncStep,
};
pub use tally::{Figures, TALLY_DOMAIN, Tallied, Tally, tally_payload};
pub use totals::{Contribution, Stats};
pub use wire::{
    GroupError, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, SealedBatch, WIRE_VERSION, WireError,
};
pub use wire_light::{LightRequest, LightResponse, MAX_WATCH_TWEETS};
