//! The node runtime: the one place where core and storage meet (and, later, the network). It
//! opens a store, rebuilds the node's state from it, and applies user actions so that each
//! batch of actions is one atomic store transaction. Randomness (new identities) comes in here.

mod batcher;
pub(crate) use batcher::YieldOnce;
#[cfg(target_arch = "wasm32")]
mod browser;
mod schema;

#[cfg(target_arch = "wasm32")]
pub use browser::{BrowserNode, OnChange};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// An action on this node.
    Local,
    /// Another tab sharing the store.
    Tab,
    /// A peer on the network (gossip or catch-up).
    Remote,
}

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use futures_channel::oneshot;

use crate::core::{
    Action, Batch, EntryKey, Generation, Identity, Mark, MergeReport, Namespace, NodeId, NodeState,
    Replica, SignedEntry, StatKind, Stats, SyncError, SyncRequest, SyncResponse, TweetId,
};
use crate::storage::{Store, StoreError, Write};
pub use schema::EntryRow;

/// Why a node could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store was written by a newer, incompatible version of this library.
    #[error("the store's layout version {0} is not supported (this build reads version 1)")]
    UnknownLayout(u8),
    /// The stored identity or generation is malformed.
    #[error("the store's {0} is malformed")]
    Corrupt(&'static str),
    /// The system's random source failed (needed for a new identity).
    #[error("no randomness available for a new identity: {0}")]
    Random(String),
}

/// What one action did, after its batch committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The tweet acted on.
    pub tweet: TweetId,
    /// The statistic the action counts in.
    pub stat: StatKind,
    /// The tweet's aggregate for that statistic once the whole batch committed.
    pub count: u64,
}

/// Stored rows a committed batch wrote (each a local counter with its marks), for other tabs
/// sharing the store and, later, for peers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The rows written.
    pub entries: Vec<EntryRow>,
}

impl Changes {
    /// The changes as bytes (their store rows in the bucket encoding): how they travel to other
    /// tabs, as one message however many rows.
    pub fn encode(&self, namespace: &Namespace) -> Vec<u8> {
        let mut texts = schema::KeyText::default();
        let rows: Vec<(String, Vec<u8>)> = self
            .entries
            .iter()
            .map(|row| (texts.of(namespace, &row.entry.key), schema::encode_row(row)))
            .collect();
        schema::encode_rows(rows.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }

    /// Reads [`Changes::encode`]'s bytes; rows of another namespace or layout, or bytes that do
    /// not decode, yield nothing.
    pub fn decode(namespace: &Namespace, bytes: &[u8]) -> Changes {
        let mut decoder = schema::RowDecoder::default();
        let entries = schema::decode_bucket(bytes)
            .unwrap_or_default()
            .iter()
            .filter_map(|(key, value)| decoder.decode(namespace, key, value))
            .collect();
        Changes { entries }
    }

    /// Reads store rows `(entry key text, encoded row)`; rows of another namespace or layout are
    /// skipped.
    fn from_rows(namespace: &Namespace, rows: &[Write]) -> Changes {
        let entries = rows
            .iter()
            .filter_map(|(key, value)| schema::decode_row(namespace, key, value.as_deref()?))
            .collect();
        Changes { entries }
    }

    /// Merges the rows into a state. A local row's marks replace the state's only if its
    /// counter is the one the state now holds: every mark change moves the counter, so an
    /// older row (a late message from another tab) cannot bring back stale marks.
    fn apply_to(&self, state: &mut NodeState) {
        let local = state.replica().local_writer();
        for row in &self.entries {
            let key = &row.entry.key;
            state.replica_mut().restore(row.entry.clone(), row.signature);
            if let Some(mark) = schema::mark_of(key.stat)
                && key.writer == local
                && state.replica().get(key) == Some(row.entry.counter)
            {
                state.set_marks(mark, &key.tweet, &row.marks);
            }
        }
    }

    /// The tweets these changes touch, each once.
    pub fn tweets(&self) -> Vec<TweetId> {
        let mut tweets: Vec<TweetId> =
            self.entries.iter().map(|r| r.entry.key.tweet.clone()).collect();
        tweets.sort();
        tweets.dedup();
        tweets
    }
}

/// The error of an update that found a stored bucket it cannot decode (and left it as it was).
fn malformed(buckets: &[String]) -> StoreError {
    StoreError::Read(format!("a stored bucket among {buckets:?} is malformed; left untouched"))
}

/// Merges of at least this many peers' rows are written as one journal record.
const JOURNAL_FROM: usize = 512;

/// What [`Node::on_commit`] calls.
type Observer = Box<dyn Fn(&Changes, ChangeSource)>;

/// Told when the transaction holding its rows committed (or failed).
type Stored = oneshot::Sender<Result<(), StoreError>>;

/// Merged rows waiting for the next store transaction, each with whom to tell when it committed.
#[derive(Debug, Default)]
struct MergedQueue {
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

/// One node: its state in memory and its store.
pub struct Node<S> {
    store: S,
    state: RefCell<NodeState>,
    generation: Generation,
    skipped_rows: usize,
    queue: batcher::Queue,
    merged: MergedQueue,
    /// Journal records not yet folded into the buckets, with the buckets their rows belong in.
    journal: RefCell<BTreeMap<String, BTreeSet<String>>>,
    observers: RefCell<Vec<Observer>>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Node<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("store", &self.store)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Node<S> {
    /// Opens the node kept in `store` for `namespace`, creating its identity and generation if
    /// the store is new, and rebuilding its counters and marks from what the store holds.
    pub async fn open(namespace: Namespace, store: S) -> Result<Self, OpenError> {
        let mut fresh = [0u8; 48];
        getrandom::fill(&mut fresh).map_err(|e| OpenError::Random(e.to_string()))?;
        let keys =
            [schema::VERSION_KEY, schema::IDENTITY_KEY, schema::GENERATION_KEY].map(String::from);
        let meta = store
            .update(&keys, |values| match values.as_slice() {
                [Some(version), Some(secret), Some(generation)] => {
                    (Vec::new(), (version.clone(), secret.clone(), generation.clone()))
                }
                _ => {
                    // A new store (or one whose creation was cut short): mint its identity.
                    let (secret, generation) = (fresh[..32].to_vec(), fresh[32..].to_vec());
                    let writes = vec![
                        (keys[0].clone(), Some(vec![schema::VERSION])),
                        (keys[1].clone(), Some(secret.clone())),
                        (keys[2].clone(), Some(generation.clone())),
                    ];
                    (writes, (vec![schema::VERSION], secret, generation))
                }
            })
            .await?;
        let (version, secret, generation) = meta;
        if version != [schema::VERSION] {
            return Err(OpenError::UnknownLayout(version.first().copied().unwrap_or(0)));
        }
        let secret: [u8; 32] = secret.try_into().map_err(|_| OpenError::Corrupt("identity"))?;
        let generation =
            Generation(generation.try_into().map_err(|_| OpenError::Corrupt("generation"))?);

        let mut state =
            NodeState::new(namespace.clone(), Identity::from_secret(secret), generation);
        let mut skipped_rows = 0;
        let mut stored = Changes::default();
        let mut journaled = Vec::new();
        let mut journal = BTreeMap::new();
        let mut decoder = schema::RowDecoder::default();
        for (key, value) in store.load().await? {
            if schema::is_meta(&key) {
                continue;
            }
            let is_journal = schema::is_journal(&key);
            let rows = (schema::is_bucket(&key) || is_journal)
                .then(|| schema::decode_bucket(&value))
                .flatten();
            let Some(rows) = rows else {
                skipped_rows += 1;
                continue;
            };
            let mut buckets = BTreeSet::new();
            for (text, row) in rows {
                match decoder.decode(&namespace, &text, &row) {
                    Some(row) if is_journal => {
                        buckets.insert(schema::bucket_key(&row.entry.key.tweet));
                        journaled.push(row);
                    }
                    Some(row) => stored.entries.push(row),
                    None => skipped_rows += 1,
                }
            }
            if is_journal {
                // Left by a node that stopped before folding it: this one folds it.
                journal.insert(key, buckets);
            }
        }
        stored.apply_to(&mut state);
        for row in journaled {
            // Counters only: marks live in the buckets.
            state.replica_mut().restore(row.entry, row.signature);
        }
        Ok(Self {
            store,
            state: RefCell::new(state),
            generation,
            skipped_rows,
            queue: batcher::Queue::default(),
            merged: MergedQueue::default(),
            journal: RefCell::new(journal),
            observers: RefCell::default(),
        })
    }

    /// Applies a batch of user actions in one store transaction. Each tweet's counters and marks
    /// are re-read inside the transaction, so nodes sharing the store (tabs) never lose each
    /// other's increments. Nothing changes in memory unless the transaction commits.
    pub async fn act(
        &self,
        actions: &[(TweetId, Action)],
    ) -> Result<(Vec<Applied>, Changes), StoreError> {
        let (namespace, identity, local) = {
            let state = self.state.borrow();
            let replica = state.replica();
            (replica.namespace().clone(), replica.identity().clone(), replica.local_writer())
        };
        // One row per (tweet, statistic): the local counter with its marks.
        let mut touched: Vec<EntryKey> = actions
            .iter()
            .map(|(tweet, action)| EntryKey {
                tweet: tweet.clone(),
                stat: action.stat(),
                writer: local,
            })
            .collect();
        touched.sort();
        touched.dedup();
        let mut buckets: Vec<String> =
            touched.iter().map(|k| schema::bucket_key(&k.tweet)).collect();
        buckets.sort();
        buckets.dedup();

        // Every touched tweet's bucket is in `buckets` (sorted), so the search always succeeds.
        let bucket_index =
            |tweet: &TweetId| buckets.binary_search(&schema::bucket_key(tweet)).unwrap_or_default();
        let changes = self
            .store
            .update(&buckets, |values| {
                // A bucket that does not decode is left as it is, and the batch fails.
                let decoded: Option<Vec<BTreeMap<String, Vec<u8>>>> = values
                    .iter()
                    .map(|v| v.as_deref().map_or(Some(BTreeMap::new()), schema::decode_bucket))
                    .collect();
                let Some(mut stored) = decoded else {
                    return (Vec::new(), None);
                };
                // Apply on a scratch state seeded with what the store holds now; what was read
                // is taken in too, so a node behind its store (another tab wrote) catches up.
                let rows: Vec<Write> = touched
                    .iter()
                    .map(|key| {
                        let text = schema::entry_key(&namespace, key);
                        let row = stored[bucket_index(&key.tweet)].get(&text).cloned();
                        (text, row)
                    })
                    .collect();
                let seen = Changes::from_rows(&namespace, &rows);
                let mut scratch = NodeState::new(namespace.clone(), identity, self.generation);
                seen.apply_to(&mut scratch);
                let mut changed: Vec<EntryKey> = actions
                    .iter()
                    .filter_map(|(tweet, action)| Some(scratch.apply(tweet, action).entry?.key))
                    .collect();
                changed.sort();
                changed.dedup();
                let entries = changed
                    .into_iter()
                    .map(|key| {
                        let counter = scratch.replica().get(&key).unwrap_or_default();
                        let marks = schema::mark_of(key.stat)
                            .map_or_else(Vec::new, |mark| scratch.marks(mark, &key.tweet));
                        EntryRow {
                            entry: crate::core::Entry { key, counter },
                            signature: None,
                            marks,
                        }
                    })
                    .collect();
                let changes = Changes { entries };
                let mut dirty = vec![false; buckets.len()];
                for row in &changes.entries {
                    let index = bucket_index(&row.entry.key.tweet);
                    stored[index].insert(
                        schema::entry_key(&namespace, &row.entry.key),
                        schema::encode_row(row),
                    );
                    dirty[index] = true;
                }
                let writes = buckets
                    .iter()
                    .zip(stored)
                    .zip(dirty)
                    .filter(|(_, dirty)| *dirty)
                    .map(|((bucket, rows), _)| (bucket.clone(), Some(schema::encode_bucket(&rows))))
                    .collect();
                (writes, Some((seen, changes)))
            })
            .await?;
        let (seen, changes) = changes.ok_or_else(|| malformed(&buckets))?;

        self.absorb(&seen);
        self.absorb(&changes);
        self.notify(&changes, ChangeSource::Local);
        let state = self.state.borrow();
        let applied = actions
            .iter()
            .map(|(tweet, action)| Applied {
                tweet: tweet.clone(),
                stat: action.stat(),
                count: state.replica().count(tweet, action.stat()),
            })
            .collect();
        Ok((applied, changes))
    }

    /// Applies one action, batched with every other action submitted before the batch starts:
    /// actions fired together (a burst of clicks, a loop of calls) share one store transaction,
    /// and each call resolves only after the transaction holding its action committed.
    pub async fn submit(&self, tweet: TweetId, action: Action) -> Result<Applied, StoreError> {
        batcher::submit(self, tweet, action).await
    }

    /// Adds a function told of every committed change with its source: the rows of each batch
    /// of local actions ([`ChangeSource::Local`]: publish them, tell other tabs) and of each
    /// merge of peers' entries ([`ChangeSource::Remote`]).
    pub fn on_commit(&self, observer: impl Fn(&Changes, ChangeSource) + 'static) {
        self.observers.borrow_mut().push(Box::new(observer));
    }

    fn notify(&self, changes: &Changes, source: ChangeSource) {
        for observer in self.observers.borrow().iter() {
            observer(changes, source);
        }
    }

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

    /// Answers a peer's catch-up request from this node's state.
    pub fn answer(&self, request: &SyncRequest) -> Result<SyncResponse, SyncError> {
        self.state.borrow_mut().replica_mut().answer(request)
    }

    /// The current signed versions of the entries with these keys, as one batch to publish.
    pub fn signed_batch<'a>(&self, keys: impl IntoIterator<Item = &'a EntryKey>) -> Batch {
        let mut state = self.state.borrow_mut();
        let entries = keys.into_iter().filter_map(|key| state.replica_mut().signed(key)).collect();
        Batch { namespace: state.replica().namespace().clone(), entries }
    }

    /// Runs `f` with the replica mutably, e.g. to drive a catch-up session against it.
    pub fn with_replica_mut<T>(&self, f: impl FnOnce(&mut Replica) -> T) -> T {
        f(self.state.borrow_mut().replica_mut())
    }

    /// Takes in changes another node sharing this store has committed (e.g. another tab).
    pub fn absorb(&self, changes: &Changes) {
        changes.apply_to(&mut self.state.borrow_mut());
    }

    /// The namespace this node counts in.
    pub fn namespace(&self) -> Namespace {
        self.state.borrow().replica().namespace().clone()
    }

    /// A tweet's aggregated statistics.
    pub fn stats(&self, tweet: &TweetId) -> Stats {
        self.state.borrow().stats(tweet)
    }

    /// Each tweet the changes touch, once, with its current statistics.
    pub fn changed_stats(&self, changes: &Changes) -> Vec<(TweetId, Stats)> {
        let state = self.state.borrow();
        changes
            .tweets()
            .into_iter()
            .map(|tweet| {
                let stats = state.stats(&tweet);
                (tweet, stats)
            })
            .collect()
    }

    /// Whether this node holds a mark (e.g. whether `user` liked `tweet` here).
    pub fn has_mark(&self, mark: Mark, tweet: &TweetId, subject: &str) -> bool {
        self.state.borrow().has_mark(mark, tweet, subject)
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.state.borrow().replica().local_writer().node
    }

    /// The generation of this node's store.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// The node's store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Whether the node's data outlives the process.
    pub fn persistent(&self) -> bool {
        self.store.persistent()
    }

    /// Rows of the store that could not be decoded when opening (left in place, not used).
    pub fn skipped_rows(&self) -> usize {
        self.skipped_rows
    }

    /// Runs `f` with the replica, e.g. to read per-writer contributions.
    pub fn with_replica<T>(&self, f: impl FnOnce(&Replica) -> T) -> T {
        f(self.state.borrow().replica())
    }
}
