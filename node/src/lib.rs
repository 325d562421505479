//! The node runtime: where core, storage and network meet (neither of those knows the others).
//! It opens a store, rebuilds the node's state from it, applies user actions so that each batch
//! of actions is one atomic store transaction, and (peer.rs) puts the node on the network.
//! Time and randomness come in here.

mod batcher;
mod buckets;
mod identity;
mod light;
#[cfg(target_arch = "wasm32")]
use batcher::YieldOnce;
#[cfg(target_arch = "wasm32")]
mod browser;
mod merge_queue;
mod merging;
mod opening;
mod pacing;
mod peer;
mod peer_handle;
mod schema;
#[cfg(test)]
mod shared_store_tests;

pub use identity::Minting;
pub use light::Shown;
pub use peer::{Peer, wall_clock};
pub use peer_handle::PeerHandle;

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

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use schema::{EntryRow, SealRow};
use warpnet_stats_core::{
    Action, Entry, EntryKey, Generation, Identity, Mark, Namespace, NodeId, NodeState, OutOfBounds,
    Outcome, Replica, Rules, StatKind, Stats, TweetId, restore,
    sync::{SyncError, SyncRequest, SyncResponse},
    wire::SealedBatch,
};
use warpnet_stats_store::{Store, StoreError};

/// Why a node could not be opened.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store was written by a newer, incompatible version of this library.
    #[error("the store's layout version {0} is not supported (this build reads versions 1 to 3)")]
    UnknownLayout(u8),
    /// The stored identity or generation is malformed.
    #[error("the store's {0} is malformed")]
    Corrupt(&'static str),
    /// The store holds part of a node's identity, not all (a new one is never minted over it).
    #[error(
        "the store lacks {} but holds the rest of its identity; it was left untouched (restore \
         it from a backup, or delete the store to start over as a new node)",
        .0.join(", ")
    )]
    IncompleteMeta(Vec<&'static str>),
    /// The system's random source failed (needed for a new identity).
    #[error("no randomness available for a new identity: {0}")]
    Random(#[source] getrandom::Error),
}

/// Why an action failed; either way it changed nothing.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// It would take this node's counter out of the namespace's bounds (above the stat's cap,
    /// below zero).
    #[error(transparent)]
    OutOfBounds(#[from] OutOfBounds),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Stored rows a committed batch wrote (each a counter, with its marks if it is a local one,
/// or the leaves vouching for it and their seals if it is a peer's), for other tabs sharing
/// the store and, later, for peers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    entries: Vec<EntryRow>,
    seals: Vec<SealRow>,
}

impl Changes {
    /// How many rows were written.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.seals.is_empty()
    }

    /// The keys of the entries written.
    pub fn keys(&self) -> impl Iterator<Item = &EntryKey> {
        self.entries.iter().map(|row| &row.entry.key)
    }

    /// Each entry written, with the marks kept with it (who liked, who retweeted, which
    /// replies: local counters only).
    pub fn rows(&self) -> impl Iterator<Item = (&Entry, &[String])> {
        self.entries.iter().map(|row| (&row.entry, row.marks.as_slice()))
    }

    /// Adds the rows of later changes.
    pub fn append(&mut self, later: Changes) {
        self.entries.extend(later.entries);
        self.seals.extend(later.seals);
    }

    /// The changes as bytes (their store rows in the bucket encoding): how they travel to other
    /// tabs, as one message however many rows.
    pub fn encode(&self, namespace: &Namespace) -> Vec<u8> {
        let mut texts = schema::KeyText::default();
        let seals =
            self.seals.iter().map(|row| (schema::seal_key(&row.seal), schema::encode_seal(row)));
        let rows: Vec<(String, Vec<u8>)> = seals
            .chain(
                self.entries
                    .iter()
                    .map(|row| (texts.of(namespace, &row.entry.key), schema::encode_row(row))),
            )
            .collect();
        schema::encode_rows(rows.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }

    /// Reads [`Changes::encode`]'s bytes; rows of another namespace or layout, or bytes that do
    /// not decode, yield nothing.
    pub fn decode(namespace: &Namespace, bytes: &[u8]) -> Changes {
        let mut decoder = schema::RowDecoder::default();
        let mut changes = Changes::default();
        for (key, value) in schema::decode_bucket(bytes).unwrap_or_default() {
            if schema::is_seal(&key) {
                changes.seals.extend(schema::decode_seal(&key, &value));
            } else {
                changes.entries.extend(decoder.decode(namespace, &key, &value));
            }
        }
        changes
    }

    /// Merges the rows into a state. A local row's marks replace the state's only if its
    /// counter is the one the state now holds: every mark change moves the counter, so an
    /// older row (a late message from another tab) cannot bring back stale marks. A row beyond
    /// the state's caps (a store written under looser rules, or corrupt) is not taken in.
    fn apply_to(&self, state: &mut NodeState) {
        let local = state.replica().local_writer();
        for row in &self.seals {
            restore::seal(state.replica_mut(), row.seal, row.identity, row.tree.clone());
        }
        for row in &self.entries {
            let key = &row.entry.key;
            if state.replica().caps().check(key.stat, row.entry.counter).is_err() {
                continue;
            }
            restore::entry(state.replica_mut(), row.entry.clone(), &row.witnesses);
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

/// What [`Node::on_commit`] calls.
type Observer = Box<dyn Fn(&Changes, ChangeSource)>;

/// One node: its state in memory and its store.
pub struct Node<S> {
    store: S,
    state: RefCell<NodeState>,
    generation: Generation,
    skipped_rows: usize,
    /// Records set aside under `quarantine/` because they did not decode.
    quarantined: std::cell::Cell<usize>,
    /// User actions waiting for their transaction.
    actions: batcher::Batcher<(TweetId, Action), Result<Applied, OutOfBounds>>,
    /// Peers' merged rows (and the seals they rest on) waiting for their transaction.
    merged: batcher::Batcher<Changes, ()>,
    /// Journal records not yet folded into the buckets, with the buckets their rows belong in.
    journal: RefCell<BTreeMap<String, BTreeSet<String>>>,
    observers: RefCell<Vec<Observer>>,
    /// What a light node holds and was told: its interest, its edge nodes' tallies.
    light: RefCell<light::LightState>,
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
    /// the store is new, and rebuilding its counters and marks from what the store holds. The
    /// rules are the namespace's: every node of a namespace must use the same ones. Stored rows
    /// beyond its caps are left in the store but not counted. The identity proof kept in the
    /// store is used if it holds at the rules' difficulty; otherwise
    /// [`Node::mint_identity`] makes one (until then the node counts but does not publish).
    pub async fn open(namespace: Namespace, rules: Rules, store: S) -> Result<Self, OpenError> {
        let mut fresh = [0u8; 48];
        getrandom::fill(&mut fresh).map_err(OpenError::Random)?;
        let meta = opening::read_meta(&store, fresh).await?;
        opening::migrate(&store, &meta.version, &namespace).await?;
        let secret: [u8; 32] =
            meta.secret.try_into().map_err(|_| OpenError::Corrupt("identity"))?;
        let generation =
            Generation(meta.generation.try_into().map_err(|_| OpenError::Corrupt("generation"))?);

        let replica =
            Replica::new(namespace.clone(), rules, Identity::from_secret(secret), generation);
        let mut state = NodeState::from_replica(replica);
        if let Some(proof) = identity::read_proof(&store).await?
            && let Err(error) = state.replica_mut().set_identity_proof(proof)
        {
            tracing::warn!(%error, "the stored identity proof is not used: minting again");
        }
        let rows = store.load().await?;
        let mut rows = opening::Rows::sort(rows, &namespace, state.replica().caps());
        let (seals, tidying) =
            schema::tidy_seals(rows.seals, rows.stored.entries.iter().chain(&rows.journaled));
        rows.stored.seals = seals;
        rows.stored.apply_to(&mut state);
        for row in rows.journaled {
            // Counters only: marks live in the buckets.
            restore::entry(state.replica_mut(), row.entry, &row.witnesses);
        }
        if !tidying.is_empty() {
            store.update(&[], |_| (tidying, ())).await?;
        }
        Ok(Self {
            store,
            state: RefCell::new(state),
            generation,
            skipped_rows: rows.skipped,
            quarantined: rows.quarantined.into(),
            actions: batcher::Batcher::default(),
            merged: batcher::Batcher::default(),
            journal: RefCell::new(rows.journal),
            observers: RefCell::default(),
            light: RefCell::new(light::LightState::opened(rows.used, rows.tallies)),
        })
    }

    /// Applies a batch of user actions in one store transaction. Each tweet's counters and marks
    /// are re-read inside the transaction, so nodes sharing the store (tabs) never lose each
    /// other's increments. Nothing changes in memory unless the transaction commits. Each action
    /// gets its result: an action that would break the namespace's bounds fails alone.
    #[allow(clippy::type_complexity)]
    pub async fn act(
        &self,
        actions: &[(TweetId, Action)],
    ) -> Result<(Vec<Result<Applied, OutOfBounds>>, Changes), StoreError> {
        let (namespace, identity, local, rules) = {
            let state = self.state.borrow();
            let replica = state.replica();
            let rules = *replica.rules();
            (replica.namespace().clone(), replica.identity().clone(), replica.local_writer(), rules)
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
        let buckets = touched.iter().map(|k| schema::bucket_key(&k.tweet)).collect();
        let (seen, changes, refused) = self
            .update_buckets(buckets, &[], |stored, _| {
                // Apply on a scratch state seeded with what the store holds now; what was read
                // is taken in too, so a node behind its store (another tab wrote) catches up.
                let entries = touched.iter().filter_map(|k| stored.get(k)).collect();
                let seen = Changes { entries, seals: Vec::new() };
                let replica = Replica::new(namespace.clone(), rules, identity, self.generation);
                let mut scratch = NodeState::from_replica(replica);
                seen.apply_to(&mut scratch);
                let outcomes: Vec<Result<Outcome, OutOfBounds>> =
                    actions.iter().map(|(tweet, action)| scratch.apply(tweet, action)).collect();
                let mut changed: Vec<EntryKey> = outcomes
                    .iter()
                    .filter_map(|outcome| Some(outcome.as_ref().ok()?.entry.as_ref()?.key.clone()))
                    .collect();
                changed.sort();
                changed.dedup();
                let entries = changed
                    .into_iter()
                    .map(|key| {
                        let counter = scratch.replica().get(&key).unwrap_or_default();
                        let marks = schema::mark_of(key.stat)
                            .map_or_else(Vec::new, |mark| scratch.marks(mark, &key.tweet));
                        EntryRow { entry: Entry { key, counter }, witnesses: Vec::new(), marks }
                    })
                    .collect();
                let changes = Changes { entries, seals: Vec::new() };
                for row in &changes.entries {
                    stored.put(row);
                }
                let refused: Vec<Option<OutOfBounds>> =
                    outcomes.into_iter().map(|outcome| outcome.err()).collect();
                (Vec::new(), (seen, changes, refused))
            })
            .await?;

        self.merge_changes(&seen);
        self.merge_changes(&changes);
        self.notify(&changes, ChangeSource::Local);
        let state = self.state.borrow();
        let applied = actions
            .iter()
            .zip(refused)
            .map(|((tweet, action), refused)| match refused {
                Some(bound) => Err(bound),
                None => Ok(Applied {
                    tweet: tweet.clone(),
                    stat: action.stat(),
                    count: state.replica().count(tweet, action.stat()),
                }),
            })
            .collect();
        Ok((applied, changes))
    }

    /// Applies one action, batched with every other action submitted before the batch starts:
    /// actions fired together (a burst of clicks, a loop of calls) share one store transaction,
    /// and each call resolves only after the transaction holding its action committed. A light
    /// node holds the tweets acted on as recently used ([`Node::touch`]).
    pub async fn submit(&self, tweet: TweetId, action: Action) -> Result<Applied, ActionError> {
        let act = |actions: Vec<(TweetId, Action)>| async move {
            let applied = self.act(&actions).await.map(|(applied, _)| applied)?;
            // Acting on a tweet is using it: a light node holds it as recently used.
            let tweets: BTreeSet<TweetId> = actions.into_iter().map(|(tweet, _)| tweet).collect();
            let tweets: Vec<TweetId> = tweets.into_iter().collect();
            if let Err(error) = self.touch(&tweets).await {
                tracing::warn!(%error, "keeping the order of use failed");
            }
            Ok::<_, StoreError>(applied)
        };
        Ok(self.actions.submit((tweet, action), true, act).await??)
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

    /// Answers a peer's catch-up request from this node's state.
    pub fn answer(&self, request: &SyncRequest) -> Result<SyncResponse, SyncError> {
        request.answer_from(self.state.borrow_mut().replica_mut())
    }

    /// The entries with these keys as held now, sealed, as one batch to publish.
    pub fn sealed_batch<'a>(&self, keys: impl IntoIterator<Item = &'a EntryKey>) -> SealedBatch {
        let state = self.state.borrow();
        let replica = state.replica();
        SealedBatch { namespace: replica.namespace().clone(), sealed: replica.sealed(keys) }
    }

    /// Runs `f` with the replica mutably, e.g. to drive a catch-up session against it.
    pub fn with_replica_mut<T>(&self, f: impl FnOnce(&mut Replica) -> T) -> T {
        f(self.state.borrow_mut().replica_mut())
    }

    /// Merges changes another node sharing this store has committed (e.g. another tab): rows
    /// of this node's own store, taken without signature checks (so not public).
    pub(crate) fn merge_changes(&self, changes: &Changes) {
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

    /// Each tweet the changes touch, once, with its statistics as shown ([`Node::shown`]).
    pub fn changed_stats(&self, changes: &Changes) -> Vec<(TweetId, Stats)> {
        let tweets = changes.tweets();
        tweets.into_iter().map(|tweet| (tweet.clone(), self.shown(&tweet).stats)).collect()
    }

    /// Whether this node holds a mark (e.g. whether `user` liked `tweet` here).
    pub fn has_mark(&self, mark: Mark, tweet: &TweetId, subject: &str) -> bool {
        self.state.borrow().has_mark(mark, tweet, subject)
    }

    /// Every mark of one kind this node holds: (tweet, subject).
    pub fn all_marks(&self, mark: Mark) -> Vec<(TweetId, String)> {
        let state = self.state.borrow();
        state.all_marks(mark).map(|(tweet, subject)| (tweet.clone(), subject.to_owned())).collect()
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

    /// Records of the store set aside under `quarantine/` because they did not decode (a
    /// bucket found malformed when an action or merge needed it): kept as they were for
    /// inspection, never read again.
    pub fn quarantined(&self) -> usize {
        self.quarantined.get()
    }

    /// Runs `f` with the replica, e.g. to read per-writer contributions.
    pub fn with_replica<T>(&self, f: impl FnOnce(&Replica) -> T) -> T {
        f(self.state.borrow().replica())
    }
}
