//! How the runtime lays out a node's state in a store's string keys and byte values.
//!
//! | key | value |
//! |---|---|
//! | `meta/version` | one byte: the layout version (1) |
//! | `meta/identity` | the 32-byte ed25519 secret key |
//! | `meta/generation` | the 16-byte generation of this store |
//! | `/{namespace}/{tweet}/{stat}/{node}/{generation}` (an entry key's text form) | u64 BE increments, u64 BE decrements, then the 64-byte signature if one is held |
//! | `mark/{liked,retweeted,replied}/{tweet}/{subject}` | empty: the mark is set (deleted when cleared) |

use crate::core::{Entry, EntryKey, Mark, Namespace, PnCounter, Record, Signature, TweetId};

pub(crate) const VERSION: u8 = 1;
pub(crate) const VERSION_KEY: &str = "meta/version";
pub(crate) const IDENTITY_KEY: &str = "meta/identity";
pub(crate) const GENERATION_KEY: &str = "meta/generation";

/// One decoded row of the store.
pub(crate) enum Row {
    Meta,
    Entry(Entry, Option<Signature>),
    Mark(Record),
}

fn mark_name(mark: Mark) -> &'static str {
    match mark {
        Mark::Liked => "liked",
        Mark::Retweeted => "retweeted",
        Mark::Replied => "replied",
    }
}

pub(crate) fn entry_key(namespace: &Namespace, key: &EntryKey) -> String {
    key.path(namespace)
}

pub(crate) fn entry_value(counter: PnCounter, signature: Option<Signature>) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    out.extend_from_slice(&counter.increments.to_be_bytes());
    out.extend_from_slice(&counter.decrements.to_be_bytes());
    if let Some(signature) = signature {
        out.extend_from_slice(&signature.0);
    }
    out
}

pub(crate) fn decode_entry_value(bytes: &[u8]) -> Option<(PnCounter, Option<Signature>)> {
    let word = |i: usize| Some(u64::from_be_bytes(bytes.get(i..i + 8)?.try_into().ok()?));
    let counter = PnCounter::new(word(0)?, word(8)?);
    match bytes.len() {
        16 => Some((counter, None)),
        80 => Some((counter, Some(Signature(bytes[16..].try_into().ok()?)))),
        _ => None,
    }
}

pub(crate) fn mark_key(mark: Mark, tweet: &TweetId, subject: &str) -> String {
    format!("mark/{}/{tweet}/{subject}", mark_name(mark))
}

/// Decodes a row; `None` for a row this layout does not know (counted, never fatal).
pub(crate) fn decode_row(namespace: &Namespace, key: &str, value: &[u8]) -> Option<Row> {
    if key.starts_with("meta/") {
        return Some(Row::Meta);
    }
    if let Some(rest) = key.strip_prefix("mark/") {
        let mut parts = rest.splitn(3, '/');
        let name = parts.next()?;
        let mark = Mark::ALL.into_iter().find(|m| mark_name(*m) == name)?;
        let tweet = TweetId::new(parts.next()?).ok()?;
        let subject = parts.next().filter(|s| !s.is_empty() && !s.contains('/'))?.to_owned();
        return Some(Row::Mark(Record { mark, tweet, subject, present: true }));
    }
    let (row_namespace, key) = EntryKey::parse(key).ok()?;
    if row_namespace != *namespace {
        return None;
    }
    let (counter, signature) = decode_entry_value(value)?;
    Some(Row::Entry(Entry { key, counter }, signature))
}
