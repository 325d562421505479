//! How the runtime lays out a node's state in a store's string keys and byte values.
//!
//! | key | value |
//! |---|---|
//! | `meta/version` | one byte: the layout version (3) |
//! | `meta/identity` | the 32-byte ed25519 secret key |
//! | `meta/generation` | the 16-byte generation of this store |
//! | `meta/proof` | the identity proof's nonce, u64 big-endian (once minted) |
//! | `bucket/{000..fff}` | the entry rows of every tweet whose id hashes there: see [`encode_bucket`] |
//! | `journal/{16 hex digits}` | peers' entry rows of one large merge, encoded as a bucket |
//! | `seal/{node}/{generation}/{root}.{leaves}/{part}` | a seal peers' rows rest on: see [`encode_seal`] |
//! | `quarantine/{key}/{part}` | a record that did not decode, set aside as it was (never read) |
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
//!
//! A peer's row keeps the leaves that vouch for its counter (witnesses: the seal's root and
//! leaf count, the index, the signed counter); the seal itself, with what is known of its tree, is kept in records of its
//! own: each merge that rests rows on a seal adds a part (what that merge showed of its tree)
//! in the transaction that writes the rows, named by a hash of its bytes, so no seal record is
//! read or rewritten per merge. When a node opens the store, a seal's parts are joined into
//! one, and seals no row rests on are deleted.

use std::collections::{BTreeMap, HashMap, HashSet};

use warpnet_stats_core::restore::{SealId, Witness, cover};
use warpnet_stats_core::{
    Entry, EntryKey, IdentityProof, Mark, Namespace, NodeId, PnCounter, StatKind, TweetId, Writer,
    seal::{Hash, Seal, Signature, Tree},
};
use warpnet_stats_store::{Store, StoreError, Write};

pub(crate) const VERSION: u8 = 3;
pub(crate) const VERSION_KEY: &str = "meta/version";
pub(crate) const IDENTITY_KEY: &str = "meta/identity";
pub(crate) const GENERATION_KEY: &str = "meta/generation";
pub(crate) const PROOF_KEY: &str = "meta/proof";

/// One stored counter: the entry, the leaves that vouch for it (peers' counters), and (local
/// counters of likes, retweets and replies) the subjects marked on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryRow {
    /// The counter.
    pub(crate) entry: Entry,
    /// The leaves of its writer's seals that vouch for it (none for local counters).
    pub(crate) witnesses: Vec<Witness>,
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
        let (namespace, tweet, stat) = (namespace.as_str(), key.tweet.as_str(), key.stat.as_str());
        let mut text =
            String::with_capacity(4 + namespace.len() + tweet.len() + stat.len() + writer.len());
        for part in [namespace, tweet, stat, writer.as_str()] {
            text.push('/');
            text.push_str(part);
        }
        text
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

/// One row merged into the row held for the same key: the joined counter, the leaves (of
/// either row, the held one's first) that carry its halves, the held row's marks.
pub(crate) fn merge_row(held: Option<EntryRow>, row: EntryRow) -> EntryRow {
    let Some(mut held) = held else { return row };
    let counter = held.entry.counter.merge(row.entry.counter);
    let candidates: Vec<Witness> = held.witnesses.iter().chain(&row.witnesses).copied().collect();
    held.witnesses = cover(&candidates, counter).into_iter().flatten().collect();
    held.entry.counter = counter;
    held
}

/// A seal as stored: the seal, its writer's identity proof, and what is known of its tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealRow {
    pub(crate) seal: Seal,
    pub(crate) identity: IdentityProof,
    pub(crate) tree: Tree,
}

/// The store key of a seal's record: `seal/{node}/{generation}/{root}.{leaves}` (layout 2
/// named it by its root alone).
pub(crate) fn seal_key(seal: &Seal) -> String {
    let root: String = seal.root.iter().map(|b| format!("{b:02x}")).collect();
    format!("seal/{}/{}/{root}.{}", seal.writer.node, seal.writer.generation, seal.leaves)
}

/// What every part of a seal's record starts with, and no other record's key.
pub(crate) fn seal_prefix(seal: &Seal) -> String {
    format!("{}/", seal_key(seal))
}

/// The store key of a part of a seal's record: the seal's key, then the first 8 bytes of a
/// hash of the part's bytes, in hex.
pub(crate) fn seal_part_key(seal: &Seal, bytes: &[u8]) -> String {
    format!("{}{}", seal_prefix(seal), content_tag(bytes))
}

/// The first 8 bytes of a hash of `bytes`, in hex: names a record by what it holds, so
/// writing the same bytes twice writes one record.
fn content_tag(bytes: &[u8]) -> String {
    blake3::hash(bytes).as_bytes()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a key holds a seal.
pub(crate) fn is_seal(key: &str) -> bool {
    key.starts_with("seal/")
}

/// `u32 BE leaf count | 64-byte signature | u64 BE identity proof nonce | known nodes`, each
/// node `u8 level | u32 BE index | 16-byte hash`.
pub(crate) fn encode_seal(row: &SealRow) -> Vec<u8> {
    let mut out = Vec::with_capacity(76 + 21 * row.tree.known().count());
    out.extend_from_slice(&row.seal.leaves.to_be_bytes());
    out.extend_from_slice(&row.seal.signature.0);
    out.extend_from_slice(&row.identity.nonce.to_be_bytes());
    for ((level, index), hash) in row.tree.known() {
        out.push(level);
        out.extend_from_slice(&index.to_be_bytes());
        out.extend_from_slice(&hash);
    }
    out
}

/// Reads a seal record; `None` if key or bytes are not well formed.
pub(crate) fn decode_seal(key: &str, bytes: &[u8]) -> Option<SealRow> {
    let (node, generation, root) = match key.strip_prefix("seal/")?.split('/').collect::<Vec<_>>()[..]
    {
        [node, generation, root] | [node, generation, root, _] => (node, generation, root),
        _ => return None,
    };
    let writer = Writer { node: node.parse().ok()?, generation: generation.parse().ok()? };
    // `{root}.{leaves}`, or `{root}` in layout 2 (whose records are named anew on open).
    let (root, named_leaves) = match root.split_once('.') {
        Some((root, leaves)) => (root, Some(leaves.parse::<u32>().ok()?)),
        None => (root, None),
    };
    let root = parse_hash(root)?;
    let (head, mut nodes) = bytes.split_at_checked(76)?;
    let leaves = u32::from_be_bytes(head[..4].try_into().ok()?);
    if named_leaves.is_some_and(|named| named != leaves) {
        return None;
    }
    let signature = Signature(head[4..68].try_into().ok()?);
    let identity = IdentityProof { nonce: u64::from_be_bytes(head[68..76].try_into().ok()?) };
    let mut known = Vec::with_capacity(nodes.len() / 21);
    while !nodes.is_empty() {
        let (node, rest) = nodes.split_at_checked(21)?;
        let index = u32::from_be_bytes(node[1..5].try_into().ok()?);
        known.push(((node[0], index), node[5..].try_into().ok()?));
        nodes = rest;
    }
    let tree = Tree::from_known(leaves, known).filter(|tree| tree.root() == root)?;
    Some(SealRow { seal: Seal { writer, leaves, root, signature }, identity, tree })
}

fn parse_hash(text: &str) -> Option<Hash> {
    if text.len() != 32 {
        return None;
    }
    let mut hash = [0u8; 16];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
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

/// `u64 BE increments | u64 BE decrements | u8 witnesses | witnesses | marks`: the witness
/// byte is 0 (none) or [`WITNESSES`] plus their count (1 or 2; layout 2 wrote the bare count,
/// of witnesses without the leaf count); each witness `16-byte seal root | u32 BE seal leaf
/// count | u32 BE index | u64 BE increments | u64 BE decrements`; each mark a `u8` length and
/// that many bytes of UTF-8 (ids are at most 128 bytes).
pub(crate) fn encode_row(row: &EntryRow) -> Vec<u8> {
    let counter = row.entry.counter;
    let mut out = Vec::with_capacity(
        17 + WITNESS_BYTES * row.witnesses.len()
            + row.marks.iter().map(|m| m.len() + 1).sum::<usize>(),
    );
    out.extend_from_slice(&counter.increments.to_be_bytes());
    out.extend_from_slice(&counter.decrements.to_be_bytes());
    let count = u8::try_from(row.witnesses.len()).expect("at most two witnesses");
    out.push(if count == 0 { 0 } else { WITNESSES | count });
    for witness in &row.witnesses {
        out.extend_from_slice(&witness.seal.root);
        out.extend_from_slice(&witness.seal.leaves.to_be_bytes());
        out.extend_from_slice(&witness.index.to_be_bytes());
        out.extend_from_slice(&witness.counter.increments.to_be_bytes());
        out.extend_from_slice(&witness.counter.decrements.to_be_bytes());
    }
    for mark in &row.marks {
        out.push(u8::try_from(mark.len()).expect("ids are at most 128 bytes"));
        out.extend_from_slice(mark.as_bytes());
    }
    out
}

/// The flag of the witness byte of a row whose witnesses carry their seal's leaf count.
const WITNESSES: u8 = 0x10;
const WITNESS_BYTES: usize = 16 + 4 + 4 + 16;
/// A witness of layout 2: no leaf count.
const LEGACY_WITNESS_BYTES: usize = 16 + 4 + 16;

/// A row's counter, witnesses and marks. A witness of layout 2 comes with a leaf count of 0
/// (no seal has it): [`migrate_from_v2`] gives it its seal's.
fn decode_value(bytes: &[u8]) -> Option<(PnCounter, Vec<Witness>, Vec<String>)> {
    let word = |i: usize| Some(u64::from_be_bytes(bytes.get(i..i + 8)?.try_into().ok()?));
    let half = |i: usize| Some(u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
    let counter = PnCounter::new(word(0)?, word(8)?);
    let flag = *bytes.get(16)?;
    let (count, width) = match flag {
        0 => (0, 0),
        1 | 2 => (usize::from(flag), LEGACY_WITNESS_BYTES),
        0x11 | 0x12 => (usize::from(flag & !WITNESSES), WITNESS_BYTES),
        _ => return None,
    };
    let mut witnesses = Vec::with_capacity(count);
    for n in 0..count {
        let at = 17 + n * width;
        let root = bytes.get(at..at + 16)?.try_into().ok()?;
        let (leaves, at) =
            if width == WITNESS_BYTES { (half(at + 16)?, at + 20) } else { (0, at + 16) };
        witnesses.push(Witness {
            seal: SealId { leaves, root },
            index: half(at)?,
            counter: PnCounter::new(word(at + 4)?, word(at + 12)?),
        });
    }
    let mut rest = bytes.get(17 + count * width..)?;
    let mut marks = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let (mark, tail) = tail.split_at_checked(usize::from(len))?;
        marks.push(String::from_utf8(mark.to_vec()).ok()?);
        rest = tail;
    }
    Some((counter, witnesses, marks))
}

/// Tidies the seal records a node read when opening: the seals some of `rows` rest on, each
/// with its parts joined; and the writes that leave one record for each of them (parts joined)
/// and none for the others (their rows were superseded).
pub(crate) fn tidy_seals<'a>(
    records: Vec<(String, SealRow)>,
    rows: impl Iterator<Item = &'a EntryRow>,
) -> (Vec<SealRow>, Vec<Write>) {
    let used: HashSet<(Writer, SealId)> =
        rows.flat_map(|row| row.witnesses.iter().map(|w| (row.entry.key.writer, w.seal))).collect();
    let mut writes = Vec::new();
    let mut seals: BTreeMap<(Writer, SealId), (SealRow, Vec<String>)> = BTreeMap::new();
    for (key, row) in records {
        let id = (row.seal.writer, row.seal.id());
        if !used.contains(&id) {
            writes.push((key, None));
            continue;
        }
        match seals.get_mut(&id) {
            Some((held, keys)) => {
                // Another signature over the same tree is as good: one is kept, with all
                // that is known of the tree.
                held.tree.absorb(row.tree);
                keys.push(key);
            }
            None => drop(seals.insert(id, (row, vec![key]))),
        }
    }
    let mut joined = Vec::with_capacity(seals.len());
    for (row, keys) in seals.into_values() {
        let bytes = encode_seal(&row);
        let key = seal_part_key(&row.seal, &bytes);
        // Parts joined into one record, and records of layout 2 named anew.
        if keys.len() > 1 || keys[0] != key {
            writes.extend(keys.into_iter().filter(|k| *k != key).map(|k| (k, None)));
            writes.push((key, Some(bytes)));
        }
        joined.push(row);
    }
    (joined, writes)
}

/// Where a record that does not decode is set aside: its key, then [`content_tag`] of its
/// bytes.
pub(crate) fn quarantine_key(key: &str, bytes: &[u8]) -> String {
    format!("quarantine/{key}/{}", content_tag(bytes))
}

/// Whether a key holds a record set aside by [`quarantine_key`].
pub(crate) fn is_quarantined(key: &str) -> bool {
    key.starts_with("quarantine/")
}

/// Whether a key holds rows set aside by [`migrate_from_v1`].
pub(crate) fn is_legacy(key: &str) -> bool {
    key.starts_with("legacy/")
}

/// Moves a layout-1 store to layout 2, in one transaction that reads every record it
/// rewrites (so a tab migrating at the same time changes nothing twice). Local rows keep their
/// encoding (a layout-1 row without a signature is a layout-2 row without witnesses). Peers'
/// rows carry one signature per entry, which layout 2 cannot vouch for (nor do they have
/// identity proofs): they are moved, untouched, to `legacy/v1/{record}` and not counted; their
/// writers serve them again, sealed, once upgraded.
pub(crate) async fn migrate_from_v1(store: &impl Store) -> Result<(), StoreError> {
    let mut keys = vec![VERSION_KEY.to_owned()];
    keys.extend(
        store.load().await?.into_iter().map(|(k, _)| k).filter(|k| is_bucket(k) || is_journal(k)),
    );
    let moved = store
        .update(&keys, |values| {
            if values.first() != Some(&Some(vec![1])) {
                return (Vec::new(), 0); // Migrated meanwhile.
            }
            let mut writes = vec![(VERSION_KEY.to_owned(), Some(vec![VERSION]))];
            let mut moved = 0;
            for (key, value) in keys.iter().zip(&values).skip(1) {
                let Some(rows) = value.as_deref().and_then(decode_bucket) else { continue };
                let (legacy, kept): (BTreeMap<_, _>, BTreeMap<_, _>) =
                    rows.into_iter().partition(|(_, row)| row.get(16) == Some(&1));
                if legacy.is_empty() {
                    continue;
                }
                moved += legacy.len();
                let kept = (!kept.is_empty()).then(|| encode_bucket(&kept));
                writes.push((key.clone(), kept));
                writes.push((format!("legacy/v1/{key}"), Some(encode_bucket(&legacy))));
            }
            (writes, moved)
        })
        .await?;
    if moved > 0 {
        tracing::warn!(
            moved,
            "layout 1 store migrated: peers' entries signed one by one kept in legacy/v1/* records, not counted"
        );
    }
    Ok(())
}

/// Moves a layout-2 store to layout 3, in one transaction that reads every record it rewrites:
/// each peer's row's witnesses get their seal's leaf count, read from the seal records (a
/// writer may sign one root under two leaf counts, so layout 3 names a seal by both). A
/// witness whose seal record is missing, or ambiguous (the same root under two leaf counts:
/// only a hostile writer signs that, and layout 2 could not tell them apart), is dropped: its
/// counter stays, unvouched until a peer sends the leaf again. Seal records are named anew
/// when the node opens ([`tidy_seals`]).
pub(crate) async fn migrate_from_v2(
    store: &impl Store,
    namespace: &Namespace,
) -> Result<(), StoreError> {
    let all = store.load().await?;
    let mut leaf_counts: HashMap<(Writer, Hash), Option<u32>> = HashMap::new();
    for (key, value) in &all {
        if let Some(row) = is_seal(key).then(|| decode_seal(key, value)).flatten() {
            let seal = row.seal;
            let count = leaf_counts.entry((seal.writer, seal.root)).or_insert(Some(seal.leaves));
            if *count != Some(seal.leaves) {
                *count = None;
            }
        }
    }
    let mut keys = vec![VERSION_KEY.to_owned()];
    keys.extend(all.into_iter().map(|(k, _)| k).filter(|k| is_bucket(k) || is_journal(k)));
    let mut decoder = RowDecoder::default();
    store
        .update(&keys, |values| {
            if values.first() != Some(&Some(vec![2])) {
                return (Vec::new(), ()); // Migrated meanwhile.
            }
            let mut writes = vec![(VERSION_KEY.to_owned(), Some(vec![VERSION]))];
            for (key, value) in keys.iter().zip(&values).skip(1) {
                let Some(mut rows) = value.as_deref().and_then(decode_bucket) else { continue };
                let mut changed = false;
                for (text, bytes) in &mut rows {
                    if !matches!(bytes.get(16), Some(1 | 2)) {
                        continue; // No witness (or not a row of layout 2).
                    }
                    let Some(mut row) = decoder.decode(namespace, text, bytes) else { continue };
                    let writer = row.entry.key.writer;
                    row.witnesses.retain_mut(|w| {
                        let count = leaf_counts.get(&(writer, w.seal.root)).copied().flatten();
                        w.seal.leaves = count.unwrap_or(0);
                        count.is_some()
                    });
                    *bytes = encode_row(&row);
                    changed = true;
                }
                if changed {
                    writes.push((key.clone(), Some(encode_bucket(&rows))));
                }
            }
            (writes, ())
        })
        .await
}

/// Whether a key holds the store's metadata (version, identity, generation).
pub(crate) fn is_meta(key: &str) -> bool {
    key.starts_with("meta/")
}

/// The record of when a light node last used a tweet: `used/{tweet id}`, holding a u64 BE
/// sequence number (higher: more recent).
pub(crate) fn used_key(tweet: &TweetId) -> String {
    format!("used/{}", tweet.as_str())
}

/// The record of the last tally a light node got of a tweet: `tally/{tweet id}`, holding
/// [`warpnet_stats_core::light::Tallied::encode`]'s bytes.
pub(crate) fn tally_key(tweet: &TweetId) -> String {
    format!("tally/{}", tweet.as_str())
}

/// A `tally/` record's tally; `None` if the key is not one, or it does not decode (then it is a
/// row like any unknown one) or names another tweet than its key.
pub(crate) fn decode_tally(key: &str, value: &[u8]) -> Option<warpnet_stats_core::light::Tallied> {
    let tweet = TweetId::new(key.strip_prefix("tally/")?).ok()?;
    warpnet_stats_core::light::Tallied::decode(value).ok().filter(|t| t.tally.tweet == tweet)
}

/// A `used/` record's tweet and sequence number; `None` if the key is not one, or does not
/// decode (then it is a row like any unknown one).
pub(crate) fn decode_used(key: &str, value: &[u8]) -> Option<(TweetId, u64)> {
    let tweet = TweetId::new(key.strip_prefix("used/")?).ok()?;
    Some((tweet, u64::from_be_bytes(value.try_into().ok()?)))
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
    let (counter, witnesses, marks) = decode_value(value)?;
    Some(EntryRow { entry: Entry { key, counter }, witnesses, marks })
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
        let node = warpnet_stats_core::Identity::from_secret([7; 32]).node_id();
        let writer = Writer { node, generation: warpnet_stats_core::Generation([3; 16]) };
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
