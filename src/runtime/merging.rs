//! Merging peers' entries into a node: verified and taken into memory at once, then written
//! in the background, merges arriving during a write sharing the next transaction; a large
//! merge of peers' rows goes to one journal record, folded into the buckets later.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use futures_channel::oneshot;

use super::{ChangeSource, Changes, EntryRow, Node, malformed, schema};
use crate::core::{MergeReport, SignedEntry};
use crate::storage::{Store, StoreError};

/// Merges of at least this many peers' rows are written as one journal record.
const JOURNAL_FROM: usize = 512;

/// Told when the transaction holding its rows committed (or failed).
type Stored = oneshot::Sender<Result<(), StoreError>>;

/// Merged rows waiting for the next store transaction, each with whom to tell when it committed.
#[derive(Debug, Default)]
pub(super) struct MergedQueue {
    pending: RefCell<Vec<(Vec<EntryRow>, Stored)>>,
    flushing: Cell<bool>,
}

/// Marks the merged queue as not being written any more, even if the writer is dropped midway
/// (its waiters then get an error rather than waiting forever).
struct Flushing<'a>(&'a Cell<bool>);

impl Drop for Flushing<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl<S: Store> Node<S> {
    /// Merges signed entries from a peer (gossip or catch-up): [`Node::take_in`] and then
    /// [`Node::store_merged`]. Refused entries are reported and never stored.
    pub async fn merge(&self, entries: Vec<SignedEntry>) -> Result<MergeReport, StoreError> {
        let (report, rows) = self.take_in(entries);
        self.store_merged(rows).await?;
        Ok(report)
    }

    /// Verifies peers' entries and takes the valid ones in memory at once (so stats, relaying
    /// and catch-up answers see them); returns what happened and the rows to store with
    /// [`Node::store_merged`].
    pub fn take_in(&self, entries: Vec<SignedEntry>) -> (MergeReport, Vec<EntryRow>) {
        let namespace = self.namespace();
        let mut state = self.state.borrow_mut();
        let report = state.replica_mut().merge(&namespace, entries);
        let rows = report
            .changed
            .iter()
            .map(|entry| EntryRow {
                entry: entry.clone(),
                signature: state.replica_mut().signed(&entry.key).map(|s| s.signature),
                marks: Vec::new(),
            })
            .collect();
        (report, rows)
    }

    /// Writes merged rows to the store, each merged with what the store holds (so a local row
    /// keeps its marks), then tells the observers ([`ChangeSource::Remote`]). Rows stored while
    /// a write is under way wait and go together in the next transaction, so a fast stream of
    /// merges costs few transactions. Resolves once the transaction holding `rows` committed.
    pub async fn store_merged(&self, rows: Vec<EntryRow>) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let (reply, stored) = oneshot::channel();
        self.merged.pending.borrow_mut().push((rows, reply));
        if !self.merged.flushing.replace(true) {
            let _flushing = Flushing(&self.merged.flushing);
            loop {
                let queued = std::mem::take(&mut *self.merged.pending.borrow_mut());
                if queued.is_empty() {
                    break;
                }
                let (rows, replies): (Vec<Vec<EntryRow>>, Vec<_>) = queued.into_iter().unzip();
                let result = self.write_merged(rows.into_iter().flatten().collect()).await;
                for reply in replies {
                    let _ = reply.send(result.clone());
                }
            }
        }
        stored.await.unwrap_or_else(|_| Err(StoreError::Write("the write was dropped".into())))
    }

    /// Writes one group of merged rows: a large group of peers' rows as one journal record, the
    /// rest into their buckets.
    async fn write_merged(&self, rows: Vec<EntryRow>) -> Result<(), StoreError> {
        let local = self.with_replica(|r| r.local_writer());
        let (to_journal, to_buckets): (Vec<&EntryRow>, Vec<&EntryRow>) =
            rows.iter().partition(|row| row.entry.key.writer != local);
        let mut journaled = false;
        if to_journal.len() >= JOURNAL_FROM {
            journaled = self.write_journal(&to_journal).await?;
        }
        let to_buckets = if journaled { to_buckets } else { rows.iter().collect() };
        let written = self.write_buckets(to_buckets).await?;
        self.notify(
            &Changes { entries: if journaled { rows } else { written } },
            ChangeSource::Remote,
        );
        Ok(())
    }

    /// Writes rows as one new journal record; `false` (nothing written) if no record id could
    /// be drawn.
    async fn write_journal(&self, rows: &[&EntryRow]) -> Result<bool, StoreError> {
        let mut id = [0u8; 8];
        if getrandom::fill(&mut id).is_err() {
            return Ok(false);
        }
        let namespace = self.namespace();
        let mut texts = schema::KeyText::default();
        let mut merged: BTreeMap<String, EntryRow> = BTreeMap::new();
        let mut buckets = BTreeSet::new();
        for &row in rows {
            buckets.insert(schema::bucket_key(&row.entry.key.tweet));
            let text = texts.of(&namespace, &row.entry.key);
            let held = merged.remove(&text);
            merged.insert(text, schema::merge_row(held, row.clone()));
        }
        let encoded: Vec<(&String, Vec<u8>)> =
            merged.iter().map(|(text, row)| (text, schema::encode_row(row))).collect();
        let bytes = schema::encode_rows(encoded.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
        let key = schema::journal_key(u64::from_be_bytes(id));
        let write = vec![(key.clone(), Some(bytes))];
        self.store.update(&[], |_| (write, ())).await?;
        self.journal.borrow_mut().insert(key, buckets);
        Ok(true)
    }

    /// Merges rows into their buckets in one transaction; returns the rows as merged.
    async fn write_buckets(&self, rows: Vec<&EntryRow>) -> Result<Vec<EntryRow>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let namespace = self.namespace();
        let mut by_bucket: BTreeMap<String, Vec<&EntryRow>> = BTreeMap::new();
        for row in rows {
            by_bucket.entry(schema::bucket_key(&row.entry.key.tweet)).or_default().push(row);
        }
        let buckets: Vec<String> = by_bucket.keys().cloned().collect();
        let mut texts = schema::KeyText::default();
        let written = self
            .store
            .update(&buckets, |values| {
                let (mut writes, mut written) = (Vec::new(), Vec::new());
                for ((bucket, rows), value) in by_bucket.into_iter().zip(values) {
                    let Some(mut stored) =
                        value.as_deref().map_or(Some(BTreeMap::new()), schema::decode_bucket)
                    else {
                        return (Vec::new(), None);
                    };
                    for row in rows {
                        let text = texts.of(&namespace, &row.entry.key);
                        let held = stored
                            .get(&text)
                            .and_then(|v| schema::decode_row(&namespace, &text, v));
                        let merged = schema::merge_row(held, row.clone());
                        stored.insert(text, schema::encode_row(&merged));
                        written.push(merged);
                    }
                    writes.push((bucket, Some(schema::encode_bucket(&stored))));
                }
                (writes, Some(written))
            })
            .await?;
        written.ok_or_else(|| malformed(&buckets))
    }

    /// Folds the journal records into the buckets in one transaction and deletes them (a node
    /// runs this after a catch-up). A record another node folded meanwhile is skipped.
    pub async fn compact(&self) -> Result<(), StoreError> {
        let journal = std::mem::take(&mut *self.journal.borrow_mut());
        if journal.is_empty() {
            return Ok(());
        }
        let namespace = self.namespace();
        let records: Vec<String> = journal.keys().cloned().collect();
        let buckets: Vec<String> =
            journal.values().flatten().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        let keys: Vec<String> = records.iter().chain(&buckets).cloned().collect();
        let folded = self
            .store
            .update(&keys, |values| {
                let mut values = values.into_iter();
                let journaled: Vec<Option<Vec<u8>>> = values.by_ref().take(records.len()).collect();
                let decoded: Option<Vec<BTreeMap<String, Vec<u8>>>> = values
                    .map(|v| v.as_deref().map_or(Some(BTreeMap::new()), schema::decode_bucket))
                    .collect();
                let Some(mut stored) = decoded else { return (Vec::new(), false) };
                let mut decoder = schema::RowDecoder::default();
                for bytes in journaled.iter().flatten() {
                    for (text, value) in schema::decode_bucket(bytes).unwrap_or_default() {
                        let Some(row) = decoder.decode(&namespace, &text, &value) else { continue };
                        let bucket = schema::bucket_key(&row.entry.key.tweet);
                        let Ok(index) = buckets.binary_search(&bucket) else { continue };
                        let held = stored[index]
                            .get(&text)
                            .and_then(|v| decoder.decode(&namespace, &text, v));
                        stored[index]
                            .insert(text, schema::encode_row(&schema::merge_row(held, row)));
                    }
                }
                let writes = buckets
                    .iter()
                    .zip(&stored)
                    .map(|(bucket, rows)| (bucket.clone(), Some(schema::encode_bucket(rows))))
                    .chain(records.iter().map(|record| (record.clone(), None)))
                    .collect();
                (writes, true)
            })
            .await;
        match folded {
            Ok(true) => Ok(()),
            failed => {
                // Kept for the next attempt.
                self.journal.borrow_mut().extend(journal);
                failed.and_then(|_| Err(malformed(&buckets)))
            }
        }
    }

    /// Whether journal records wait to be folded into the buckets ([`Node::compact`]).
    pub fn has_journal(&self) -> bool {
        !self.journal.borrow().is_empty()
    }
}
