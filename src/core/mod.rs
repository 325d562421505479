//! The CRDT core: identifiers, PN-counters, the replica with incremental totals, user actions,
//! signatures, catch-up digests and the wire codec. std only: no I/O, no clock, no async, no wasm, no libp2p
//! swarm. Time and randomness come in as arguments from the layers above.

mod actions;
mod counter;
mod digest;
mod ids;
mod proof;
mod replica;
mod rules;
mod signing;
mod sync;
mod wire;

pub use actions::{Action, Mark, NodeState, Outcome, Record};
pub use counter::PnCounter;
pub use digest::Summary;
pub use ids::{
    EntryKey, Generation, KeyError, MAX_ID_LEN, MAX_NAMESPACE_LEN, Namespace, NodeId, ReplyId,
    StatKind, TweetId, UserId, Writer,
};
pub use proof::{Difficulty, IdentityProof, Minter, PROOF_DOMAIN};
pub use replica::{Contribution, Entry, MergeReport, Rejection, Replica, SignedEntry, Stats};
pub use rules::{Caps, CapsError, OutOfBounds};
pub use signing::{ENTRY_DOMAIN, Identity, Signature, signing_payload};
pub use sync::{
    MAX_REQUEST_ITEMS, MAX_RESPONSE_ENTRIES, MAX_RESPONSE_SUMMARIES, SyncError, SyncRequest,
    SyncResponse, SyncSession, SyncStep,
};
pub use wire::{Batch, EntryError, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, WIRE_VERSION, WireError};
