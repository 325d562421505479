//! Opening a node's store, in the steps [`Node::open`](crate::Node::open) takes: its identity
//! read (or minted, in the same transaction as the layout version), then every row sorted by
//! what it is, rows that do not decode or fit the namespace's caps counted and left in place.

use std::collections::{BTreeMap, BTreeSet};

use warpnet_stats_core::{Caps, Namespace, TweetId, light::Tallied};
use warpnet_stats_store::Store;

use crate::schema::{self, EntryRow, SealRow};
use crate::{Changes, OpenError};

/// A store's meta rows: its layout version, the node's secret key and its generation.
pub(crate) struct Meta {
    pub(crate) version: Vec<u8>,
    pub(crate) secret: Vec<u8>,
    pub(crate) generation: Vec<u8>,
}

/// Reads the store's meta rows, or writes them from `fresh` (32 bytes of secret key, 16 of
/// generation) if the store is new. A store holding some of them but not all is refused:
/// a new identity is never minted over entries that are another one's.
pub(crate) async fn read_meta(store: &impl Store, fresh: [u8; 48]) -> Result<Meta, OpenError> {
    const META: [&str; 4] =
        [schema::VERSION_KEY, schema::IDENTITY_KEY, schema::GENERATION_KEY, schema::PROOF_KEY];
    let keys = META.map(String::from);
    store
        .update(&keys, |values| match values.as_slice() {
            [Some(version), Some(secret), Some(generation), _] => {
                let meta = Meta {
                    version: version.clone(),
                    secret: secret.clone(),
                    generation: generation.clone(),
                };
                (Vec::new(), Ok(meta))
            }
            [None, None, None, None] => {
                let (secret, generation) = (fresh[..32].to_vec(), fresh[32..].to_vec());
                let writes = vec![
                    (keys[0].clone(), Some(vec![schema::VERSION])),
                    (keys[1].clone(), Some(secret.clone())),
                    (keys[2].clone(), Some(generation.clone())),
                ];
                (writes, Ok(Meta { version: vec![schema::VERSION], secret, generation }))
            }
            partial => {
                let missing = META.iter().zip(partial).take(3);
                let missing = missing.filter(|(_, v)| v.is_none()).map(|(k, _)| *k).collect();
                (Vec::new(), Err(OpenError::IncompleteMeta(missing)))
            }
        })
        .await?
}

/// Brings a store of an older layout to this one's; refuses a newer one.
pub(crate) async fn migrate(
    store: &impl Store,
    version: &[u8],
    namespace: &Namespace,
) -> Result<(), OpenError> {
    match version {
        [1] => Ok(schema::migrate_from_v1(store).await?),
        [2] => Ok(schema::migrate_from_v2(store, namespace).await?),
        [schema::VERSION] => Ok(()),
        _ => Err(OpenError::UnknownLayout(version.first().copied().unwrap_or(0))),
    }
}

/// Every row of a store, sorted by what it is.
#[derive(Default)]
pub(crate) struct Rows {
    /// Counters in their buckets, with their marks, and the seals.
    pub(crate) stored: Changes,
    /// Counters in journal records, not yet folded into their buckets.
    pub(crate) journaled: Vec<EntryRow>,
    /// The journal records, with the buckets their counters go to.
    pub(crate) journal: BTreeMap<String, BTreeSet<String>>,
    /// Seal records, by key.
    pub(crate) seals: Vec<(String, SealRow)>,
    /// When a light node last used each tweet.
    pub(crate) used: Vec<(TweetId, u64)>,
    /// A light node's last tallies.
    pub(crate) tallies: Vec<Tallied>,
    /// Rows that did not decode or fit the caps, left in place.
    pub(crate) skipped: usize,
    /// Rows set aside by an earlier open.
    pub(crate) quarantined: usize,
}

impl Rows {
    /// Sorts `rows` of `namespace`, counting those outside `caps` as skipped.
    pub(crate) fn sort(
        rows: impl IntoIterator<Item = (String, Vec<u8>)>,
        namespace: &Namespace,
        caps: &Caps,
    ) -> Self {
        let mut sorted = Self::default();
        let mut decoder = schema::RowDecoder::default();
        for (key, value) in rows {
            if schema::is_meta(&key) || schema::is_legacy(&key) {
                // Read by `read_meta`, or left by a layout migrated already.
            } else if let Some(use_of) = schema::decode_used(&key, &value) {
                sorted.used.push(use_of);
            } else if let Some(tallied) = schema::decode_tally(&key, &value) {
                sorted.tallies.push(tallied);
            } else if schema::is_quarantined(&key) {
                sorted.quarantined += 1;
            } else if schema::is_seal(&key) {
                match schema::decode_seal(&key, &value) {
                    Some(row) => sorted.seals.push((key, row)),
                    None => sorted.skipped += 1,
                }
            } else {
                sorted.counters(key, &value, namespace, caps, &mut decoder);
            }
        }
        sorted
    }

    /// The counters of a bucket or journal record. Rows outside the namespace's bounds (taken
    /// in before the bounds existed), and rows in another bucket than their tweet's (actions
    /// read only that one, so a counter counted from elsewhere would swallow their
    /// increments), are left in the store but not counted.
    fn counters(
        &mut self,
        key: String,
        value: &[u8],
        namespace: &Namespace,
        caps: &Caps,
        decoder: &mut schema::RowDecoder,
    ) {
        let is_journal = schema::is_journal(&key);
        let rows =
            (schema::is_bucket(&key) || is_journal).then(|| schema::decode_bucket(value)).flatten();
        let Some(rows) = rows else {
            self.skipped += 1;
            return;
        };
        let mut buckets = BTreeSet::new();
        for (text, row) in rows {
            let row = decoder.decode(namespace, &text, &row).filter(|row| {
                caps.check(row.entry.key.stat, row.entry.counter).is_ok()
                    && (is_journal || schema::bucket_key(&row.entry.key.tweet) == key)
            });
            match row {
                Some(row) if is_journal => {
                    buckets.insert(schema::bucket_key(&row.entry.key.tweet));
                    self.journaled.push(row);
                }
                Some(row) => self.stored.entries.push(row),
                None => self.skipped += 1,
            }
        }
        if is_journal {
            // Left by a node that stopped before folding it: this one folds it.
            self.journal.insert(key, buckets);
        }
    }
}
