//! Persisting a replica and rebuilding it from its own node's store: the leaves that vouch for
//! each remote counter ([`Witness`], chosen by [`cover`]), the seals they rest on, and the
//! loads that take them back in **without signature checks**. Only for rows a node wrote
//! itself or verified when they arrived: anything from a peer goes through
//! [`Replica::merge`](crate::Replica::merge) or [`Replica::start_merge`](crate::Replica::start_merge).

use crate::ids::EntryKey;
use crate::merkle::Tree;
use crate::proof::IdentityProof;
use crate::replica::{Entry, Replica};
use crate::seal::Seal;
pub use crate::witness::{SealId, Witness, Witnesses, cover};

/// Takes in a seal read back from the node's own store (not checked again). Load the seals
/// before the counters resting on them.
pub fn seal(replica: &mut Replica, seal: Seal, identity: IdentityProof, tree: Tree) {
    replica.load_seal(seal, identity, tree);
}

/// Merges one counter read back from the node's own store with the leaves that vouched for it
/// there (whose seals [`seal`] loaded first). Returns the entry if its counter grew.
pub fn entry(replica: &mut Replica, entry: Entry, witnesses: &[Witness]) -> Option<Entry> {
    replica.load(entry, witnesses)
}

/// The leaves that vouch for a held remote counter, to store with it.
pub fn witnesses(replica: &Replica, key: &EntryKey) -> Vec<Witness> {
    replica.witnesses(key)
}
