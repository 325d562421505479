//! The CRDT core from outside: user actions, identifiers, bounds and identity proofs, the
//! replica's merge laws (property tests), quotas, seals and the wire format with its golden bytes
//! and conformance vectors, catch-up sessions.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod bounds;
mod conformance;
mod ids;
mod laws;
mod proof;
mod quota;
mod replica;
mod sealed;
mod sync;
mod wire;
