//! The one read-modify-write of bucket records: a transaction reads the buckets it needs,
//! decoded ([`Buckets`]), changes rows in them, and writes back only the buckets that changed.
//! A bucket that does not decode is quarantined in the same transaction: its bytes are set
//! aside under `quarantine/` as they were, and the update goes on with the bucket empty (its
//! rows could not be read when the node opened either), so one bad record does not stop every
//! action on its tweets, nor the folding of the journal.

use std::collections::BTreeMap;

use super::schema::{self, EntryRow, KeyText, RowDecoder};
use super::{Node, StoreError};
use warpnet_stats_core::{EntryKey, Namespace, TweetId};
use warpnet_stats_store::{Store, Write};

/// The buckets one update read, decoded, with the rows it changed.
pub(super) struct Buckets {
    namespace: Namespace,
    /// Bucket keys, sorted.
    keys: Vec<String>,
    rows: Vec<BTreeMap<String, Vec<u8>>>,
    dirty: Vec<bool>,
    texts: KeyText,
    decoder: RowDecoder,
}

impl Buckets {
    fn index(&self, tweet: &TweetId) -> Option<usize> {
        self.keys.binary_search(&schema::bucket_key(tweet)).ok()
    }

    /// The row stored for `key`, if its bucket was read and holds one.
    pub(super) fn get(&mut self, key: &EntryKey) -> Option<EntryRow> {
        let index = self.index(&key.tweet)?;
        let text = self.texts.of(&self.namespace, key);
        self.held(index, &text)
    }

    fn held(&mut self, index: usize, text: &str) -> Option<EntryRow> {
        let value = self.rows[index].get(text)?;
        self.decoder.decode(&self.namespace, text, value)
    }

    /// Stores `row` as it is, replacing what its bucket held for its key. A row whose bucket
    /// was not read is not stored (`false`).
    pub(super) fn put(&mut self, row: &EntryRow) -> bool {
        let Some(index) = self.index(&row.entry.key.tweet) else { return false };
        let text = self.texts.of(&self.namespace, &row.entry.key);
        self.write(index, text, row);
        true
    }

    /// Deletes the row stored for `key` (if its bucket was read and holds one).
    pub(super) fn remove(&mut self, key: &EntryKey) {
        let Some(index) = self.index(&key.tweet) else { return };
        let text = self.texts.of(&self.namespace, key);
        if self.rows[index].remove(&text).is_some() {
            self.dirty[index] = true;
        }
    }

    fn write(&mut self, index: usize, text: String, row: &EntryRow) {
        self.rows[index].insert(text, schema::encode_row(row));
        self.dirty[index] = true;
    }

    /// Merges `row` with what its bucket holds for its key ([`schema::merge_row`]: a local row
    /// keeps its marks) and stores the result, which it returns (`None` if its bucket was not
    /// read).
    pub(super) fn merge(&mut self, row: EntryRow) -> Option<EntryRow> {
        let index = self.index(&row.entry.key.tweet)?;
        let text = self.texts.of(&self.namespace, &row.entry.key);
        let merged = schema::merge_row(self.held(index, &text), row);
        self.write(index, text, &merged);
        Some(merged)
    }

    /// The writes of the buckets that changed (a bucket left empty is deleted).
    fn writes(self) -> impl Iterator<Item = Write> {
        self.keys
            .into_iter()
            .zip(self.rows)
            .zip(self.dirty)
            .filter(|(_, dirty)| *dirty)
            .map(|((key, rows), _)| (key, (!rows.is_empty()).then(|| schema::encode_bucket(&rows))))
    }
}

impl<S: Store> Node<S> {
    /// In one transaction: reads `records` (handed to `change` as read) and the buckets named
    /// by `buckets` (decoded; one that does not decode is quarantined and taken as empty),
    /// lets `change` edit the buckets, and writes the changed buckets with the writes `change`
    /// returns.
    pub(super) async fn update_buckets<R>(
        &self,
        mut buckets: Vec<String>,
        records: &[String],
        change: impl FnOnce(&mut Buckets, Vec<Option<Vec<u8>>>) -> (Vec<Write>, R),
    ) -> Result<R, StoreError> {
        buckets.sort();
        buckets.dedup();
        let namespace = self.namespace();
        let keys: Vec<String> = records.iter().chain(&buckets).cloned().collect();
        let (result, quarantined) = self
            .store
            .update(&keys, |mut values| {
                let read = values.drain(..records.len()).collect();
                let mut set_aside: Vec<Write> = Vec::new();
                let rows = values
                    .iter()
                    .zip(&buckets)
                    .map(|(value, key)| {
                        let Some(bytes) = value else { return BTreeMap::new() };
                        schema::decode_bucket(bytes).unwrap_or_else(|| {
                            set_aside
                                .push((schema::quarantine_key(key, bytes), Some(bytes.clone())));
                            set_aside.push((key.clone(), None));
                            BTreeMap::new()
                        })
                    })
                    .collect();
                let quarantined =
                    set_aside.iter().filter(|(k, _)| schema::is_quarantined(k)).count();
                let mut stored = Buckets {
                    namespace,
                    dirty: vec![false; buckets.len()],
                    keys: buckets,
                    rows,
                    texts: KeyText::default(),
                    decoder: RowDecoder::default(),
                };
                let (writes, result) = change(&mut stored, read);
                // Set aside first: a bucket rewritten by this update replaces the deletion.
                set_aside.extend(writes);
                set_aside.extend(stored.writes());
                (set_aside, (result, quarantined))
            })
            .await?;
        if quarantined > 0 {
            self.quarantined.set(self.quarantined.get() + quarantined);
            tracing::warn!(
                quarantined,
                "buckets that did not decode were set aside under quarantine/"
            );
        }
        Ok(result)
    }
}
