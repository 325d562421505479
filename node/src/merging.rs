//! Merging peers' entries into a node: verified and taken into memory at once, then written
//! in the background, merges arriving during a write sharing the next transaction; a large
//! merge of peers' rows goes to one journal record, folded into the buckets later.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use super::{ChangeSource, Changes, EntryRow, Node, SealRow, schema};
use warpnet_stats_core::restore::{self, SealId};
#[cfg(doc)]
use warpnet_stats_core::seal::verify_sealed;
use warpnet_stats_core::{
    MergeReport, Merging, Writer,
    seal::{Sealed, Verified},
};
use warpnet_stats_store::{Store, StoreError, Write};

/// Merges of at least this many peers' rows are written as one journal record.
const JOURNAL_FROM: usize = 512;

/// The size a journal record is closed at (a row more may end it): small values keep the
/// on-disk store's pages small, so reading the buckets around them stays cheap. (One record of
/// a 20,000-row merge made a 128 MiB redb page, larger than its cache, read again for each of
/// the 4,096 buckets a fold reads: minutes of copying.)
const JOURNAL_RECORD_BYTES: usize = 64 << 10;

impl<S: Store> Node<S> {
    /// Merges sealed leaves from a peer (gossip or catch-up): verified, counted in memory at
    /// once, then stored (sharing a transaction with merges that arrive while one is being
    /// written). Refused entries are reported and never stored. Resolves once they are stored.
    pub async fn merge(&self, entries: Vec<Sealed>) -> Result<MergeReport, StoreError> {
        let mut merging = self.start_merge(Err(entries));
        let (report, rows) = self.merge_some(&mut merging, usize::MAX);
        self.store_merged(rows).await?;
        Ok(report)
    }

    /// Checks the seals of peers' sealed leaves, ready to take in with [`Node::merge_some`]:
    /// `Ok`, checked beforehand (on another thread), `Err`, to check here.
    pub(super) fn start_merge(&self, entries: Result<Verified, Vec<Sealed>>) -> Merging {
        match entries {
            Ok(verified) => self.with_replica(|replica| replica.start_verified_merge(verified)),
            Err(entries) => {
                let namespace = self.namespace();
                self.with_replica(|replica| replica.start_merge(&namespace, entries))
            }
        }
    }

    /// Takes in up to `budget` more leaves of a merge in memory (so stats, relaying and
    /// catch-up answers see them at once); returns what they did and the rows (with the seals
    /// they rest on) to store with [`Node::store_merged`].
    pub(super) fn merge_some(
        &self,
        merging: &mut Merging,
        budget: usize,
    ) -> (MergeReport, Changes) {
        let mut state = self.state.borrow_mut();
        let replica = state.replica_mut();
        let (report, learnt) = replica.merge_some(merging, budget);
        let mut changes = Changes::default();
        // One record per seal for what this merge showed of it (its groups' trees together).
        let mut seals: BTreeMap<(Writer, SealId), SealRow> = BTreeMap::new();
        for (seal, identity, tree) in learnt {
            match seals.entry((seal.writer, seal.id())) {
                Entry::Occupied(mut held) => held.get_mut().tree.absorb(tree),
                Entry::Vacant(slot) => drop(slot.insert(SealRow { seal, identity, tree })),
            }
        }
        changes.seals = seals.into_values().collect();
        for entry in &report.changed {
            let witnesses = restore::witnesses(replica, &entry.key);
            changes.entries.push(EntryRow { entry: entry.clone(), witnesses, marks: Vec::new() });
        }
        (report, changes)
    }

    /// Writes merged rows to the store, each merged with what the store holds (so a local row
    /// keeps its marks), then tells the observers ([`ChangeSource::Remote`]). Rows stored while
    /// a write is under way wait and go together in the next transaction, so a fast stream of
    /// merges costs few transactions. Resolves once the transaction holding `rows` committed.
    pub(super) async fn store_merged(&self, changes: Changes) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let write = |groups: Vec<Changes>| async move {
            let count = groups.len();
            let mut all = Changes::default();
            for group in groups {
                all.append(group);
            }
            self.write_merged(all).await?;
            Ok(vec![(); count])
        };
        self.merged.submit(changes, false, write).await
    }

    /// Writes one group of merged rows with their seals: a large group of peers' rows as one
    /// journal record, the rest into their buckets.
    async fn write_merged(&self, changes: Changes) -> Result<(), StoreError> {
        let Changes { entries: rows, seals } = changes;
        let local = self.with_replica(|r| r.local_writer());
        let (to_journal, to_buckets): (Vec<&EntryRow>, Vec<&EntryRow>) =
            rows.iter().partition(|row| row.entry.key.writer != local);
        let mut journaled = false;
        if to_journal.len() >= JOURNAL_FROM {
            journaled = self.write_journal(&to_journal, &seals).await?;
        }
        let (to_buckets, seals_left) =
            if journaled { (to_buckets, &[][..]) } else { (rows.iter().collect(), &seals[..]) };
        let written = self.write_buckets(to_buckets, seals_left).await?;
        let entries = if journaled { rows } else { written };
        self.notify(&Changes { entries, seals }, ChangeSource::Remote);
        Ok(())
    }

    /// Writes rows as new journal records (each at most [`JOURNAL_RECORD_BYTES`]), with the
    /// seals they rest on, in one transaction; `false` (nothing written) if no record id could
    /// be drawn.
    async fn write_journal(
        &self,
        rows: &[&EntryRow],
        seals: &[SealRow],
    ) -> Result<bool, StoreError> {
        let namespace = self.namespace();
        let mut texts = schema::KeyText::default();
        let mut merged: BTreeMap<String, EntryRow> = BTreeMap::new();
        for &row in rows {
            let text = texts.of(&namespace, &row.entry.key);
            let held = merged.remove(&text);
            merged.insert(text, schema::merge_row(held, row.clone()));
        }
        let mut records: Vec<(String, Vec<u8>, BTreeSet<String>)> = Vec::new();
        let mut part: Vec<(&String, Vec<u8>)> = Vec::new();
        let mut buckets = BTreeSet::new();
        let mut size = 0;
        let mut rows = merged.iter().peekable();
        while let Some((text, row)) = rows.next() {
            let bytes = schema::encode_row(row);
            size += text.len() + bytes.len() + 8;
            buckets.insert(schema::bucket_key(&row.entry.key.tweet));
            part.push((text, bytes));
            if size >= JOURNAL_RECORD_BYTES || rows.peek().is_none() {
                let mut id = [0u8; 8];
                if getrandom::fill(&mut id).is_err() {
                    return Ok(false);
                }
                let bytes =
                    schema::encode_rows(part.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
                let key = schema::journal_key(u64::from_be_bytes(id));
                records.push((key, bytes, std::mem::take(&mut buckets)));
                part.clear();
                size = 0;
            }
        }
        let writes: Vec<Write> =
            records.iter().map(|(key, bytes, _)| (key.clone(), Some(bytes.clone()))).collect();
        self.store
            .update(&[], |_| {
                let mut all = seal_writes(seals);
                all.extend(writes);
                (all, ())
            })
            .await?;
        let mut journal = self.journal.borrow_mut();
        journal.extend(records.into_iter().map(|(key, _, buckets)| (key, buckets)));
        Ok(true)
    }

    /// Merges rows into their buckets, and seals into their records, in one transaction;
    /// returns the rows as merged.
    async fn write_buckets(
        &self,
        rows: Vec<&EntryRow>,
        seals: &[SealRow],
    ) -> Result<Vec<EntryRow>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let buckets = rows.iter().map(|row| schema::bucket_key(&row.entry.key.tweet)).collect();
        self.update_buckets(buckets, &[], |stored, _| {
            let written = rows.into_iter().filter_map(|row| stored.merge(row.clone())).collect();
            (seal_writes(seals), written)
        })
        .await
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
        let buckets = journal.values().flatten().cloned().collect();
        let folded = self
            .update_buckets(buckets, &records, |stored, journaled| {
                let mut decoder = schema::RowDecoder::default();
                for bytes in journaled.iter().flatten() {
                    for (text, value) in schema::decode_bucket(bytes).unwrap_or_default() {
                        if let Some(row) = decoder.decode(&namespace, &text, &value) {
                            stored.merge(row);
                        }
                    }
                }
                (records.iter().map(|record| (record.clone(), None)).collect(), ())
            })
            .await;
        if folded.is_err() {
            // Kept for the next attempt.
            self.journal.borrow_mut().extend(journal);
        }
        folded
    }

    /// Whether journal records wait to be folded into the buckets ([`Node::compact`]).
    pub fn has_journal(&self) -> bool {
        !self.journal.borrow().is_empty()
    }
}

/// The writes of `seals`: each a new part of its seal's record holding what a merge learnt of
/// the seal's tree, so no record is read or rewritten per merge (the parts of a seal are
/// joined when the node opens). A part's name is a hash of its bytes: writing the same part
/// twice is harmless, two different parts never share a name.
fn seal_writes(seals: &[SealRow]) -> Vec<Write> {
    seals
        .iter()
        .map(|row| {
            let bytes = schema::encode_seal(row);
            (schema::seal_part_key(&row.seal, &bytes), Some(bytes))
        })
        .collect()
}
