//! The CRDT core of warpnet-stats: identifiers, PN-counters, the replica with incremental
//! totals, user actions, seals, catch-up digests, the light protocol's answers and the wire
//! codec. std only: no I/O, no clock, no async, no wasm, no libp2p swarm. Time and randomness
//! come in as arguments from the layers above (the protocol, store, net and node crates, and
//! the package), which this crate cannot see.

mod actions;
mod counter;
mod digest;
mod ids;
mod interest;
pub mod light;
mod merkle;
mod proof;
mod quota;
mod replica;
pub mod restore;
mod rules;
pub mod seal;
mod signing;
pub mod sync;
mod tally;
mod totals;
pub mod wire;
mod wire_light;
mod wire_sync;
mod witness;

pub use actions::{Action, Mark, NodeState, Outcome, Record};
pub use counter::PnCounter;
pub use ids::{
    EntryKey, Generation, KeyError, MAX_ID_LEN, MAX_NAMESPACE_LEN, Namespace, NodeId, ReplyId,
    StatKind, TweetId, UserId, Writer,
};
pub use interest::Interest;
pub use proof::{Difficulty, IdentityProof, Minter, PROOF_DOMAIN, WeakProof};
pub use replica::{Entry, Forgotten, MergeReport, Merged, Merging, Rejection, Replica};
pub use rules::{Caps, CapsError, OutOfBounds, Rules};
pub use signing::Identity;
pub use totals::{Contribution, Stats};
