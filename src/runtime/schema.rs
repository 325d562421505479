//! How the runtime lays out a node's state in a store's string keys and byte values.
//!
//! | key | value |
//! |---|---|
//! | `meta/version` | one byte: the layout version (1) |
//! | `meta/identity` | the 32-byte ed25519 secret key |
//! | `meta/generation` | the 16-byte generation of this store |
//! | `/{namespace}/{tweet}/{stat}/{node}/{generation}` (an entry key's text form) | an entry row: see [`encode_row`] |
//!
//! A local counter's row also holds the marks that justify it (who liked, who retweeted, which
//! reply ids), so an action reads and writes one record, and counter and marks change together.

use std::collections::HashMap;

use crate::core::{Entry, EntryKey, Mark, Namespace, NodeId, PnCounter, Signature, StatKind};

pub(crate) const VERSION: u8 = 1;
pub(crate) const VERSION_KEY: &str = "meta/version";
pub(crate) const IDENTITY_KEY: &str = "meta/identity";
pub(crate) const GENERATION_KEY: &str = "meta/generation";

/// One stored counter: the entry, the signature held for it, and (local counters of likes,
/// retweets and replies) the subjects marked on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    /// The counter.
    pub entry: Entry,
    /// Its writer's signature, if one is held for exactly this counter.
    pub signature: Option<Signature>,
    /// The user ids (likes, retweets) or reply ids (replies) marked on this node.
    pub marks: Vec<String>,
}

/// The mark kind kept with a statistic's local counter (none for views).
pub(crate) fn mark_of(stat: StatKind) -> Option<Mark> {
    match stat {
        StatKind::Likes => Some(Mark::Liked),
        StatKind::Retweets => Some(Mark::Retweeted),
        StatKind::Replies => Some(Mark::Replied),
        StatKind::Views => None,
    }
}

pub(crate) fn entry_key(namespace: &Namespace, key: &EntryKey) -> String {
    key.path(namespace)
}

/// `u64 BE increments | u64 BE decrements | u8 1 + 64-byte signature, or u8 0 | marks`, each
/// mark a `u8` length and that many bytes of UTF-8 (ids are at most 128 bytes).
pub(crate) fn encode_row(row: &EntryRow) -> Vec<u8> {
    let counter = row.entry.counter;
    let mut out =
        Vec::with_capacity(17 + 64 + row.marks.iter().map(|m| m.len() + 1).sum::<usize>());
    out.extend_from_slice(&counter.increments.to_be_bytes());
    out.extend_from_slice(&counter.decrements.to_be_bytes());
    match row.signature {
        Some(signature) => {
            out.push(1);
            out.extend_from_slice(&signature.0);
        }
        None => out.push(0),
    }
    for mark in &row.marks {
        out.push(u8::try_from(mark.len()).expect("ids are at most 128 bytes"));
        out.extend_from_slice(mark.as_bytes());
    }
    out
}

fn decode_value(bytes: &[u8]) -> Option<(PnCounter, Option<Signature>, Vec<String>)> {
    let word = |i: usize| Some(u64::from_be_bytes(bytes.get(i..i + 8)?.try_into().ok()?));
    let counter = PnCounter::new(word(0)?, word(8)?);
    let (signature, mut rest) = match bytes.get(16)? {
        0 => (None, &bytes[17..]),
        1 => (Some(Signature(bytes.get(17..81)?.try_into().ok()?)), &bytes[81..]),
        _ => return None,
    };
    let mut marks = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let (mark, tail) = tail.split_at_checked(usize::from(len))?;
        marks.push(String::from_utf8(mark.to_vec()).ok()?);
        rest = tail;
    }
    Some((counter, signature, marks))
}

/// Whether a key holds the store's metadata (version, identity, generation).
pub(crate) fn is_meta(key: &str) -> bool {
    key.starts_with("meta/")
}

/// Decodes entry rows, remembering the node ids it has parsed (a store holds many rows of few
/// nodes).
#[derive(Default)]
pub(crate) struct RowDecoder {
    nodes: HashMap<String, NodeId>,
}

impl RowDecoder {
    /// Decodes an entry row; `None` for a row this layout does not know (counted, never fatal).
    pub(crate) fn decode(
        &mut self,
        namespace: &Namespace,
        key: &str,
        value: &[u8],
    ) -> Option<EntryRow> {
        let memo = |text: &str| match self.nodes.get(text) {
            Some(node) => Ok(*node),
            None => {
                let node: NodeId = text.parse()?;
                self.nodes.insert(text.to_owned(), node);
                Ok(node)
            }
        };
        decode_with(namespace, EntryKey::parse_with(key, memo).ok()?, value)
    }
}

/// Decodes an entry row; `None` for a row this layout does not know (counted, never fatal).
pub(crate) fn decode_row(namespace: &Namespace, key: &str, value: &[u8]) -> Option<EntryRow> {
    decode_with(namespace, EntryKey::parse(key).ok()?, value)
}

fn decode_with(
    namespace: &Namespace,
    (row_namespace, key): (Namespace, EntryKey),
    value: &[u8],
) -> Option<EntryRow> {
    if row_namespace != *namespace {
        return None;
    }
    let (counter, signature, marks) = decode_value(value)?;
    Some(EntryRow { entry: Entry { key, counter }, signature, marks })
}
