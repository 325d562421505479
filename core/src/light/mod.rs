//! Serving light nodes, pure: an edge node's answers to a light node's requests out of its
//! replica (the entries of watched tweets that differ, or signed tallies of popular ones; a
//! tweet's writers page by page) and the updates it pushes; a light node's checks of what comes
//! back, and its verification of a tally against every writer's signed entries.

use std::collections::{BTreeSet, HashMap};

use super::ids::{EntryKey, Generation, NodeId, StatKind, TweetId, Writer};
use super::replica::Replica;
use super::seal::Sealed;
use super::sync::{MAX_RESPONSE_ENTRIES, RESPONSE_BYTES, fitting};

pub use crate::tally::{Figures, TALLY_DOMAIN, Tallied, Tally, tally_payload};
pub use crate::wire_light::{LightRequest, LightResponse, MAX_WATCH_TWEETS};

/// A tweet with more counters than this (the asker's own left out) is answered with a tally
/// rather than its entries.
pub const FULL_TWEET_COUNTERS: usize = 128;

/// A tweet and the keys that changed on it (`None`: every counter of it).
pub type Changed = (TweetId, Option<Vec<EntryKey>>);

/// The most bytes one tally takes in a message (tweet id at most 128 bytes).
const TALLY_BYTES: usize = 400;

/// Why a light node refuses an answer or a push from its edge node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LightError {
    /// The answer is not of the kind the request calls for.
    #[error("a {0} answer to another request")]
    WrongAnswer(&'static str),
    /// Entries, tallies or tweets of tweets not asked for (or not watched).
    #[error("{0} items of tweets not asked for")]
    Unsolicited(usize),
    /// A tally not signed by the edge node, or whose signature does not check.
    #[error("a tally of {0} with a bad signature")]
    BadTally(TweetId),
    /// A page of contributions out of key-hash order, or one that does not move on.
    #[error("a page of contributions out of order")]
    OutOfOrder,
    /// A tally of a tweet too small to be served by one (its writers cannot have more than
    /// [`FULL_TWEET_COUNTERS`] counters).
    #[error("a tally of {0}, which has too few writers to be tallied")]
    NeedlessTally(TweetId),
    /// An entry in a page of contributions does not check (a tally check ends there).
    #[error("{0} entries of a page did not check")]
    BadEntries(usize),
}

impl LightRequest {
    /// The edge node's answer out of `replica` to this request from the light node `asker` (the
    /// node id its `Watch` names, else its peer id's):
    /// to `Watch`, for each tweet whose digest differs (the asker's own writer left out on both
    /// sides), its entries, or its tally (signed here, or kept in `signed` from before) if it
    /// has more than [`FULL_TWEET_COUNTERS`] counters, as many as fit in one response; the rest
    /// `later`. To `Contributions`, a page. To `Unwatch` and `Update`, `Done` (what they change
    /// is the caller's).
    pub fn answer_from(
        &self,
        replica: &Replica,
        asker: NodeId,
        signed: &mut SignedTallies,
    ) -> LightResponse {
        match self {
            LightRequest::Watch { generation, tweets, .. } => {
                let asker = Writer { node: asker, generation: *generation };
                watch_answer(replica, asker, tweets, signed)
            }
            LightRequest::Contributions { tweet, after } => page(replica, tweet, *after),
            LightRequest::Unwatch { .. } | LightRequest::Update { .. } => LightResponse::Done,
        }
    }
}

/// The tallies an edge node signed, each kept while its tweet's figures stay the same: one
/// signature per popular tweet and change, however many light nodes it goes to. At most
/// [`SignedTallies::MAX`] are kept (all forgotten beyond).
#[derive(Debug, Default)]
pub struct SignedTallies {
    held: HashMap<TweetId, Tally>,
    /// Signatures made since [`SignedTallies::take_signed`] was last called.
    signed: usize,
}

impl SignedTallies {
    const MAX: usize = 4096;

    /// A tally of `tweet` as `replica` holds it now, signed by its identity.
    fn of(&mut self, replica: &Replica, tweet: &TweetId) -> Tally {
        let figures = replica.figures(tweet);
        if let Some(held) = self.held.get(tweet).filter(|t| t.figures == figures) {
            return held.clone();
        }
        if self.held.len() >= Self::MAX {
            self.held.clear();
        }
        self.signed += 1;
        let tally = Tally::sign(replica.identity(), replica.namespace(), tweet.clone(), figures);
        self.held.insert(tweet.clone(), tally.clone());
        tally
    }

    /// How many tallies were signed since the last call (what an answer cost in signatures).
    pub fn take_signed(&mut self) -> usize {
        std::mem::take(&mut self.signed)
    }
}

/// A tally of `tweet` for `asker`.
fn tallied(
    replica: &Replica,
    tweet: &TweetId,
    asker: Writer,
    signed: &mut SignedTallies,
) -> Tallied {
    Tallied { tally: signed.of(replica, tweet), yours: replica.writer_values(tweet, asker) }
}

/// Whether `tweet` is served to `asker` by its tally rather than its entries.
pub fn served_by_tally(replica: &Replica, tweet: &TweetId, asker: Writer) -> bool {
    replica.tweet_len(tweet, Some(asker)) > FULL_TWEET_COUNTERS
}

fn watch_answer(
    replica: &Replica,
    asker: Writer,
    tweets: &[(TweetId, u64)],
    signed: &mut SignedTallies,
) -> LightResponse {
    let mut tallies = Vec::new();
    let mut full = Vec::new();
    for (tweet, digest) in tweets {
        if served_by_tally(replica, tweet, asker) {
            tallies.push(tallied(replica, tweet, asker, signed));
        } else if replica.tweet_digest(tweet, Some(asker)) != *digest {
            full.push((tweet.clone(), None));
        }
    }
    let (answered, entries) = entries_of(replica, asker, &full, tallies.len());
    let later = full.drain(answered..).map(|(tweet, _)| tweet).collect();
    LightResponse::Tweets { entries, tallies, later }
}

/// What changed on tweets a light node watches, as the edge node pushes it: for each of
/// `pending` (a tweet, and the keys that changed on it, `None` for all of them) its tally if it
/// is served by one, else those entries (the asker's own left out), as many tweets as fit one
/// message. Returns the push and how many of `pending` it covers (at least one).
pub fn update_for(
    replica: &Replica,
    asker: Writer,
    pending: &[Changed],
    signed: &mut SignedTallies,
) -> (LightRequest, usize) {
    let mut tallies = Vec::new();
    let mut full = Vec::new();
    let mut covered = 0;
    for (tweet, keys) in pending {
        if tallies.len() == MAX_WATCH_TWEETS {
            break;
        }
        if served_by_tally(replica, tweet, asker) {
            tallies.push(tallied(replica, tweet, asker, signed));
        } else {
            full.push((tweet.clone(), keys.clone()));
        }
        covered += 1;
    }
    let (answered, entries) = entries_of(replica, asker, &full, tallies.len());
    // Tweets after the first whose entries did not fit wait for the next push, tallied or not.
    if let Some((first_left, _)) = full.get(answered) {
        covered = pending.iter().position(|(tweet, _)| tweet == first_left).unwrap_or(covered);
        let kept: BTreeSet<&TweetId> = pending[..covered].iter().map(|(t, _)| t).collect();
        tallies.retain(|t| kept.contains(&t.tally.tweet));
    }
    (LightRequest::Update { entries, tallies }, covered.max(1))
}

/// The entries of the first of `tweets` (each with its keys, `None` for every counter held of
/// it but the asker's) that fit one message beside `tallies` tallies: how many tweets, and the
/// entries.
fn entries_of(
    replica: &Replica,
    asker: Writer,
    tweets: &[Changed],
    tallies: usize,
) -> (usize, Vec<Sealed>) {
    let mut keys = Vec::new();
    let mut ends = Vec::new();
    for (tweet, chosen) in tweets {
        if keys.len() >= MAX_RESPONSE_ENTRIES && !ends.is_empty() {
            break;
        }
        match chosen {
            Some(chosen) => keys.extend(chosen.iter().filter(|k| k.writer != asker).cloned()),
            None => keys.extend(replica.tweet_keys(tweet, Some(asker)).into_iter().map(|(_, k)| k)),
        }
        ends.push(keys.len());
    }
    if keys.len() > MAX_RESPONSE_ENTRIES && ends.len() > 1 {
        ends.pop();
        keys.truncate(*ends.last().expect("one tweet left"));
    }
    if ends.is_empty() {
        return (0, Vec::new());
    }
    fitting(replica, &keys, &ends, RESPONSE_BYTES - tallies * TALLY_BYTES)
}

fn page(replica: &Replica, tweet: &TweetId, after: u64) -> LightResponse {
    // The first page (`after` 0) starts at the first key, whatever its hash.
    let after = (after != 0).then_some(after);
    let (rest, more) = replica.tweet_keys_after(tweet, None, after, MAX_RESPONSE_ENTRIES);
    let mut keys = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut hashes = Vec::new();
    for (hash, key) in &rest {
        if hashes.last() != Some(hash) {
            if keys.len() >= MAX_RESPONSE_ENTRIES {
                break;
            }
            if !keys.is_empty() {
                ends.push(keys.len());
            }
            hashes.push(*hash);
        }
        keys.push(key.clone());
    }
    if keys.is_empty() {
        return LightResponse::Page { entries: Vec::new(), next: None };
    }
    ends.push(keys.len());
    let (answered, entries) = fitting(replica, &keys, &ends, RESPONSE_BYTES);
    let next = (more || ends[answered - 1] < rest.len()).then(|| hashes[answered - 1]);
    LightResponse::Page { entries, next }
}

/// Checks a `Tweets` answer or an `Update` push from the edge node `edge`: every entry, tally
/// and `later` tweet is of a tweet in `asked`, and every tally is signed by `edge` and checks.
/// (The network passes no `later`: a tweet named there and not asked is ignored, not refused.)
pub fn check_from_edge(
    replica: &Replica,
    edge: NodeId,
    asked: &BTreeSet<TweetId>,
    entries: &[Sealed],
    tallies: &[Tallied],
    later: &[TweetId],
) -> Result<(), LightError> {
    let foreign = entries
        .iter()
        .flat_map(|group| &group.leaves)
        .filter(|(_, leaf)| !asked.contains(&leaf.tweet))
        .count()
        + tallies.iter().filter(|t| !asked.contains(&t.tally.tweet)).count()
        + later.iter().filter(|t| !asked.contains(t)).count();
    if foreign > 0 {
        return Err(LightError::Unsolicited(foreign));
    }
    for Tallied { tally, .. } in tallies {
        if tally.signer != edge {
            return Err(LightError::BadTally(tally.tweet.clone()));
        }
        // A writer has at most one counter per statistic: a tally of so few writers that the
        // tweet cannot have more than [`FULL_TWEET_COUNTERS`] counters is one the edge node
        // had no reason to send (it would pin its word where the entries belong).
        let counters = tally.figures.writers as usize * StatKind::ALL.len();
        if counters <= FULL_TWEET_COUNTERS {
            return Err(LightError::NeedlessTally(tally.tweet.clone()));
        }
        if !tally.check(replica.namespace()) {
            return Err(LightError::BadTally(tally.tweet.clone()));
        }
    }
    Ok(())
}

/// A light node checking a tally: every writer's entries of the tweet, fetched page by page
/// into a scratch replica (signatures, identity proofs and caps checked as in any merge), then
/// their [`Figures`] compared with the tally's.
#[derive(Debug)]
pub struct Verification {
    tweet: TweetId,
    scratch: Replica,
    after: Option<u64>,
    rejected: usize,
}

impl Verification {
    /// Starts checking `tweet` for the light node whose replica is `replica`; returns the
    /// first request.
    pub fn start(replica: &Replica, tweet: TweetId) -> (Self, LightRequest) {
        // A writer no peer can sign for: this node's key in a generation it never uses.
        let Generation(bytes) = replica.local_writer().generation;
        let scratch = Replica::new(
            replica.namespace().clone(),
            *replica.rules(),
            replica.identity().clone(),
            Generation(bytes.map(|b| !b)),
        );
        let request = LightRequest::Contributions { tweet: tweet.clone(), after: 0 };
        (Self { tweet, scratch, after: Some(0), rejected: 0 }, request)
    }

    /// Takes a page in; returns the next request, or `None` once every page came.
    pub fn handle(&mut self, response: LightResponse) -> Result<Option<LightRequest>, LightError> {
        let LightResponse::Page { entries, next } = response else {
            return Err(LightError::WrongAnswer("Contributions"));
        };
        let after = self.after.ok_or(LightError::OutOfOrder)?;
        let mut foreign = 0;
        for (_, leaf) in entries.iter().flat_map(|group| &group.leaves) {
            if leaf.tweet != self.tweet {
                foreign += 1;
            }
        }
        if foreign > 0 {
            return Err(LightError::Unsolicited(foreign));
        }
        let beyond = entries.iter().flat_map(|group| {
            group.leaves.iter().map(|(_, leaf)| super::digest::key_hash(&leaf.key(group.writer)))
        });
        // Every page moves on: past `after`, and, unless it is the last, with entries (so an
        // edge node cannot page forever: at most one page per entry that checks).
        if beyond.clone().any(|hash| hash <= after && after != 0)
            || next.is_some_and(|n| n <= after || beyond.clone().any(|hash| hash > n))
            || (next.is_some() && entries.is_empty())
        {
            return Err(LightError::OutOfOrder);
        }
        let report = self.scratch.merge(&self.scratch.namespace().clone(), entries);
        self.rejected += report.rejected.len();
        if self.rejected > 0 {
            return Err(LightError::BadEntries(self.rejected));
        }
        self.after = next;
        Ok(next.map(|after| LightRequest::Contributions { tweet: self.tweet.clone(), after }))
    }

    /// The tweet being checked.
    pub fn tweet(&self) -> &TweetId {
        &self.tweet
    }

    /// The figures of every valid entry fetched so far.
    pub fn figures(&self) -> Figures {
        self.scratch.figures(&self.tweet)
    }

    /// How many entries fetched were invalid (and left out of the figures).
    pub fn rejected(&self) -> usize {
        self.rejected
    }

    /// Whether every page came and the entries make exactly the tally's figures.
    pub fn confirms(&self, tally: &Tally) -> bool {
        self.after.is_none() && self.rejected == 0 && tally.figures == self.figures()
    }
}

#[cfg(test)]
mod tests;
