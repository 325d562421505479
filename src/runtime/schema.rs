//! How the runtime lays out a node's state in a store's string keys and byte values.
//!
//! | key | value |
//! |---|---|
//! | `meta/version` | one byte: the layout version (1) |
//! | `meta/identity` | the 32-byte ed25519 secret key |
//! | `meta/generation` | the 16-byte generation of this store |
//! | `bucket/{000..fff}` | the entry rows of every tweet whose id hashes there: see [`encode_bucket`] |
//! | `journal/{16 hex digits}` | peers' entry rows of one large merge, encoded as a bucket |
//!
//! Rows are grouped into 4096 buckets by an FNV-1a hash of the tweet id, because IndexedDB
//! costs about 17 µs per record read: opening 100,000 counters reads 4,096 records, not
//! 100,000. An action reads and rewrites its tweet's bucket in one transaction, which also
//! serialises tabs. A local counter's row holds the marks that justify it (who liked, who
//! retweeted, which reply ids), so counter and marks always change together.
//!
//! A large merge of peers' entries (a catch-up) is written as one journal record instead of
//! rewriting thousands of buckets per response; journal records are folded into the buckets
//! later, in one transaction. They never hold this node's own counters (the buckets do).

use std::collections::{BTreeMap, HashMap};

use crate::core::{
    Entry, EntryKey, Mark, Namespace, NodeId, PnCounter, Signature, StatKind, TweetId, Writer,
};

pub(crate) const VERSION: u8 = 1;
pub(crate) const VERSION_KEY: &str = "meta/version";
pub(crate) const IDENTITY_KEY: &str = "meta/identity";
pub(crate) const GENERATION_KEY: &str = "meta/generation";

/// One stored counter: the entry, the signature held for it, and (local counters of likes,
/// retweets and replies) the subjects marked on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryRow {
    /// The counter.
    pub(crate) entry: Entry,
    /// Its writer's signature, if one is held for exactly this counter.
    pub(crate) signature: Option<Signature>,
    /// The user ids (likes, retweets) or reply ids (replies) marked on this node.
    pub(crate) marks: Vec<String>,
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

/// Formats entry keys (`EntryKey::path`), remembering each writer's part (base58-encoding a node
/// id is the costly part, and a batch holds many rows of few writers).
#[derive(Default)]
pub(crate) struct KeyText {
    writers: HashMap<Writer, String>,
}

impl KeyText {
    pub(crate) fn of(&mut self, namespace: &Namespace, key: &EntryKey) -> String {
        let writer = self
            .writers
            .entry(key.writer)
            .or_insert_with(|| format!("{}/{}", key.writer.node, key.writer.generation));
        format!("/{namespace}/{}/{}/{writer}", key.tweet, key.stat)
    }
}

/// The store key of a journal record.
pub(crate) fn journal_key(id: u64) -> String {
    format!("journal/{id:016x}")
}

/// Whether a key holds a journal record.
pub(crate) fn is_journal(key: &str) -> bool {
    key.starts_with("journal/")
}

/// One row merged into the row held for the same key: the joined counter, the signature of
/// whichever side holds exactly that counter (none if neither does), the held row's marks.
pub(crate) fn merge_row(held: Option<EntryRow>, row: EntryRow) -> EntryRow {
    let Some(mut held) = held else { return row };
    let counter = held.entry.counter.merge(row.entry.counter);
    held.signature = if counter == row.entry.counter {
        row.signature
    } else if counter == held.entry.counter {
        held.signature
    } else {
        None
    };
    held.entry.counter = counter;
    held
}

/// How many buckets rows are spread over.
const BUCKETS: u64 = 4096;

/// The store key of the bucket holding a tweet's rows.
pub(crate) fn bucket_key(tweet: &TweetId) -> String {
    // FNV-1a, 64 bit: stable across builds and platforms, unlike std's hasher.
    let hash = tweet
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("bucket/{:03x}", hash % BUCKETS)
}

/// Whether a key holds a bucket of rows.
pub(crate) fn is_bucket(key: &str) -> bool {
    key.starts_with("bucket/")
}

/// A bucket's rows, `(entry key text, encoded row)`, each as `u32 BE length | bytes` twice.
pub(crate) fn encode_bucket(rows: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    encode_rows(rows.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
}

/// Rows in [`encode_bucket`]'s format, in the order given (a later row of the same key wins
/// when decoded).
pub(crate) fn encode_rows<'a>(rows: impl Iterator<Item = (&'a str, &'a [u8])> + Clone) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.clone().map(|(k, v)| k.len() + v.len() + 8).sum());
    for (key, row) in rows {
        for part in [key.as_bytes(), row] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// Reads [`encode_bucket`]'s bytes; `None` if they are not well formed.
pub(crate) fn decode_bucket(mut bytes: &[u8]) -> Option<BTreeMap<String, Vec<u8>>> {
    fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let (part, rest) =
            rest.split_at_checked(usize::try_from(u32::from_be_bytes(*len)).ok()?)?;
        *bytes = rest;
        Some(part)
    }
    let mut rows = BTreeMap::new();
    while !bytes.is_empty() {
        let key = String::from_utf8(take(&mut bytes)?.to_vec()).ok()?;
        rows.insert(key, take(&mut bytes)?.to_vec());
    }
    Some(rows)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_keys_are_stable() {
        // Pinned (values checked against an independent FNV-1a): changing the hash would
        // strand every stored row in the wrong bucket.
        let tweet = |t: &str| TweetId::new(t).expect("valid");
        assert_eq!(bucket_key(&tweet("1234567890")), "bucket/1a4");
        assert_eq!(bucket_key(&tweet("t")), "bucket/2a3");
        assert!(is_bucket(&bucket_key(&tweet("any"))));
    }

    #[test]
    fn remembered_key_texts_equal_the_entry_keys() {
        let namespace = Namespace::new("mainnet").expect("valid");
        let node = crate::core::Identity::from_secret([7; 32]).node_id();
        let writer = Writer { node, generation: crate::core::Generation([3; 16]) };
        let mut texts = KeyText::default();
        for (tweet, stat) in
            [("a", StatKind::Likes), ("b", StatKind::Views), ("a", StatKind::Replies)]
        {
            let key = EntryKey { tweet: TweetId::new(tweet).expect("valid"), stat, writer };
            assert_eq!(texts.of(&namespace, &key), key.path(&namespace));
        }
    }

    #[test]
    fn buckets_round_trip_and_refuse_truncation() {
        let rows: BTreeMap<String, Vec<u8>> =
            [("/a".to_owned(), vec![1, 2, 3]), ("/b".to_owned(), vec![])].into();
        let bytes = encode_bucket(&rows);
        assert_eq!(decode_bucket(&bytes), Some(rows));
        assert_eq!(decode_bucket(&[]), Some(BTreeMap::new()));
        // Every cut but the one between the two rows leaves a partial row.
        let boundary = 4 + 2 + 4 + 3;
        for cut in (1..bytes.len()).filter(|&cut| cut != boundary) {
            assert_eq!(decode_bucket(&bytes[..cut]), None, "truncated at {cut}");
        }
    }
}
