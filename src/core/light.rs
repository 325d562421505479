//! Serving light nodes, pure: an edge node's answers to a light node's requests out of its
//! replica (the entries of watched tweets that differ, or signed tallies of popular ones; a
//! tweet's writers page by page) and the updates it pushes; a light node's checks of what comes
//! back, and its verification of a tally against every writer's signed entries.

use std::collections::{BTreeSet, HashMap};

use super::ids::{EntryKey, Generation, NodeId, StatKind, TweetId, Writer};
use super::replica::Replica;
use super::seal::Sealed;
use super::sync::{MAX_RESPONSE_ENTRIES, RESPONSE_BYTES, fitting};
use super::tally::{Figures, Tallied, Tally};
use super::wire_light::{LightRequest, LightResponse, MAX_WATCH_TWEETS};

/// A tweet with more counters than this (the asker's own left out) is answered with a tally
/// rather than its entries.
pub const FULL_TWEET_COUNTERS: usize = 128;

/// A tweet and the keys that changed on it (`None`: every counter of it).
pub(crate) type Changed = (TweetId, Option<Vec<EntryKey>>);

/// The most bytes one tally takes in a message (tweet id at most 128 bytes).
const TALLY_BYTES: usize = 400;

/// Why a light node refuses an answer or a push from its edge node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The edge node's answer out of `replica` to this request from the light node `asker`:
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
            LightRequest::Watch { generation, tweets } => {
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
pub(crate) fn served_by_tally(replica: &Replica, tweet: &TweetId, asker: Writer) -> bool {
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
pub(crate) fn update_for(
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
/// and later tweet is of a tweet in `asked`, and every tally is signed by `edge` and checks.
pub(crate) fn check_from_edge(
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
            replica.identity().clone(),
            Generation(bytes.map(|b| !b)),
        )
        .with_rules(*replica.rules());
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
mod tests {
    use super::*;
    use crate::core::ids::{Namespace, StatKind};
    use crate::core::proof::{Difficulty, IdentityProof};
    use crate::core::rules::Rules;
    use crate::core::signing::Identity;

    fn namespace() -> Namespace {
        Namespace::new("mainnet").expect("valid")
    }

    fn replica(seed: u32) -> Replica {
        let mut secret = [7; 32];
        secret[..4].copy_from_slice(&seed.to_be_bytes());
        let rules = Rules { difficulty: Difficulty(0), ..Rules::DEFAULT };
        let mut generation = [0; 16];
        generation[..4].copy_from_slice(&seed.to_be_bytes());
        let mut replica =
            Replica::new(namespace(), Identity::from_secret(secret), Generation(generation))
                .with_rules(rules);
        assert!(replica.set_identity_proof(IdentityProof { nonce: 0 }));
        replica
    }

    fn tweet(id: &str) -> TweetId {
        TweetId::new(id).expect("valid")
    }

    /// `count` writers (seeds from `first`), each liking every tweet of `tweets` `likes` times
    /// and viewing each once: their sealed entries.
    fn writers(first: u32, count: u32, tweets: &[&str], likes: u64) -> Vec<Sealed> {
        let mut sealed = Vec::new();
        for seed in first..first + count {
            let mut writer = replica(seed);
            let mut keys = Vec::new();
            for id in tweets {
                for _ in 0..likes {
                    keys.push(writer.increment(&tweet(id), StatKind::Likes).expect("ok").key);
                }
                keys.push(writer.increment(&tweet(id), StatKind::Views).expect("ok").key);
            }
            keys.dedup();
            sealed.extend(writer.sealed(&keys));
        }
        sealed
    }

    fn watch(light: &Replica, tweets: &[&str]) -> LightRequest {
        let local = Some(light.local_writer());
        LightRequest::Watch {
            generation: light.local_writer().generation,
            tweets: tweets
                .iter()
                .map(|id| (tweet(id), light.tweet_digest(&tweet(id), local)))
                .collect(),
        }
    }

    /// A light node watching a small tweet, a popular one and one it holds already gets the
    /// first's entries (not its own), the second's signed tally (its own counters as the edge
    /// counted them beside), nothing of the third; and shows what the edge node shows.
    #[test]
    fn a_watch_gets_what_differs_and_tallies_of_popular_tweets() {
        let mut edge = replica(1);
        let mut light = replica(2);
        light.increment(&tweet("small"), StatKind::Likes).expect("ok");
        light.increment(&tweet("popular"), StatKind::Likes).expect("ok");
        let own = light.sealed(&[
            EntryKeyOf::of(&light, "small", StatKind::Likes),
            EntryKeyOf::of(&light, "popular", StatKind::Likes),
        ]);
        assert!(edge.merge(&namespace(), own).rejected.is_empty());
        edge.merge(&namespace(), writers(100, 3, &["small", "held"], 2));
        edge.merge(&namespace(), writers(200, 70, &["popular"], 1));
        light.merge(&namespace(), writers(100, 3, &["held"], 2));
        // Offline, the light node liked the popular tweet once more: the edge lags.
        light.increment(&tweet("popular"), StatKind::Views).expect("ok");

        let request = watch(&light, &["small", "popular", "held"]);
        let LightResponse::Tweets { entries, tallies, later } =
            request.answer_from(&edge, light.local_writer().node, &mut SignedTallies::default())
        else {
            panic!("a Tweets answer");
        };
        assert!(later.is_empty());
        let leaves: Vec<_> =
            entries.iter().flat_map(|g| g.leaves.iter().map(move |(_, l)| (g.writer, l))).collect();
        assert_eq!(leaves.len(), 6, "3 writers x (likes, views) of the small tweet");
        assert!(
            leaves.iter().all(|(w, l)| l.tweet == tweet("small") && *w != light.local_writer())
        );
        assert_eq!(tallies.len(), 1);
        let asked = [tweet("small"), tweet("popular"), tweet("held")].into_iter().collect();
        assert_eq!(
            check_from_edge(&light, edge.identity().node_id(), &asked, &entries, &tallies, &later),
            Ok(())
        );
        assert_eq!(tallies[0].yours, [1, 0, 0, 0]);

        assert!(light.merge(&namespace(), entries).rejected.is_empty());
        let except = Some(light.local_writer());
        assert_eq!(
            light.tweet_digest(&tweet("small"), except),
            edge.tweet_digest(&tweet("small"), except)
        );
        assert_eq!(light.stats(&tweet("small")), edge.stats(&tweet("small")));
        let own: [i128; 4] =
            light.writer_values(&tweet("popular"), light.local_writer()).map(i128::from);
        let mut shown = edge.stats(&tweet("popular"));
        shown.views += 1;
        assert_eq!(tallies[0].stats(own), shown);

        // Asked again, nothing differs but the popular tweet's tally.
        let again = watch(&light, &["small", "popular", "held"]).answer_from(
            &edge,
            light.local_writer().node,
            &mut SignedTallies::default(),
        );
        assert!(
            matches!(again, LightResponse::Tweets { entries, tallies, .. } if entries.is_empty() && tallies.len() == 1)
        );
    }

    /// Tweets whose entries do not fit one answer come back as `later`, and asking for those
    /// again gets the rest.
    #[test]
    fn tweets_beyond_one_answer_come_later() {
        let mut edge = replica(1);
        let ids: Vec<String> = (0..70).map(|i| format!("t{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        edge.merge(&namespace(), writers(100, 64, &ids, 1));
        let mut light = replica(2);
        let mut asking: Vec<&str> = ids.clone();
        let mut answers = 0;
        while !asking.is_empty() {
            let LightResponse::Tweets { entries, tallies, later } = watch(&light, &asking)
                .answer_from(&edge, light.local_writer().node, &mut SignedTallies::default())
            else {
                panic!("a Tweets answer");
            };
            assert!(tallies.is_empty());
            let leaves: usize = entries.iter().map(|g| g.leaves.len()).sum();
            assert!(leaves <= MAX_RESPONSE_ENTRIES && leaves > 0, "{leaves}");
            light.merge(&namespace(), entries);
            let later: Vec<String> = later.iter().map(|t| t.as_str().to_owned()).collect();
            asking = ids.iter().copied().filter(|id| later.iter().any(|l| l == id)).collect();
            answers += 1;
        }
        assert!(answers > 1);
        assert_eq!(light.len(), edge.len());
    }

    /// A tally is checked page by page against every writer's entries: it confirms when they
    /// make its figures, not when the edge node signed other figures or held back a page.
    #[test]
    fn a_verification_confirms_a_true_tally_and_no_other() {
        let mut edge = replica(1);
        edge.merge(&namespace(), writers(100, 2100, &["popular"], 2));
        let light = replica(2);
        let asker = light.local_writer();
        let tally = tallied(&edge, &tweet("popular"), asker, &mut SignedTallies::default()).tally;
        assert_eq!(tally.figures.writers, 2100);
        assert_eq!(tally.figures.totals, [4200, 0, 0, 2100]);

        let (mut verification, mut request) = Verification::start(&light, tweet("popular"));
        let mut answers = Vec::new();
        loop {
            let response = request.answer_from(&edge, asker.node, &mut SignedTallies::default());
            answers.push(response.clone());
            match verification.handle(response).expect("a good page") {
                Some(next) => request = next,
                None => break,
            }
        }
        assert!(answers.len() >= 2, "4,200 counters take more than one page");
        assert!(verification.confirms(&tally));
        assert_eq!(verification.figures(), edge.figures(&tweet("popular")));
        let mut lie = tally.clone();
        lie.figures.totals[0] += 1;
        assert!(!verification.confirms(&lie));

        let (mut short, _) = Verification::start(&light, tweet("popular"));
        short.handle(answers[0].clone()).expect("a good page");
        assert!(!short.confirms(&tally), "a page is missing");
        // The first page again, where the second belongs: it does not move on.
        assert_eq!(short.handle(answers[0].clone()), Err(LightError::OutOfOrder));
        let (mut done, _) = Verification::start(&light, tweet("popular"));
        for answer in &answers {
            done.handle(answer.clone()).expect("a good page");
        }
        assert_eq!(done.handle(answers[0].clone()), Err(LightError::OutOfOrder), "after the last");
        assert_eq!(done.handle(LightResponse::Done), Err(LightError::WrongAnswer("Contributions")));
        let (mut wrong, _) = Verification::start(&light, tweet("other"));
        assert!(matches!(wrong.handle(answers[0].clone()), Err(LightError::Unsolicited(_))));
        let LightResponse::Page { entries, .. } = answers[0].clone() else { panic!("a page") };
        let (mut stuck, _) = Verification::start(&light, tweet("popular"));
        let stuck_page = LightResponse::Page { entries: entries.clone(), next: Some(0) };
        assert_eq!(stuck.handle(stuck_page), Err(LightError::OutOfOrder));
        // Empty pages that move on would let an edge node page forever: refused.
        let (mut empty, _) = Verification::start(&light, tweet("popular"));
        let endless = LightResponse::Page { entries: Vec::new(), next: Some(7) };
        assert_eq!(empty.handle(endless), Err(LightError::OutOfOrder));
        // A page holding an entry that does not check ends the check there.
        let mut forged = entries;
        forged[0].leaves[0].1.counter.increments += 1;
        let (mut bad, _) = Verification::start(&light, tweet("popular"));
        let next = Some(u64::MAX - 1);
        let page = LightResponse::Page { entries: forged, next };
        assert!(matches!(bad.handle(page), Err(LightError::BadEntries(_))));
    }

    #[test]
    fn answers_from_another_node_or_of_other_tweets_are_refused() {
        let mut edge = replica(1);
        edge.merge(&namespace(), writers(100, 40, &["popular", "other"], 1));
        let light = replica(2);
        let asker = light.local_writer();
        let asked: BTreeSet<TweetId> = [tweet("popular")].into_iter().collect();
        let tally = tallied(&edge, &tweet("popular"), asker, &mut SignedTallies::default());
        let stranger = replica(3);
        let theirs = tallied(&stranger, &tweet("popular"), asker, &mut SignedTallies::default());
        let edge_id = edge.identity().node_id();
        assert_eq!(
            check_from_edge(&light, edge_id, &asked, &[], &[theirs], &[]),
            Err(LightError::BadTally(tweet("popular")))
        );
        let mut forged = tally.clone();
        forged.tally.figures.writers += 1;
        assert_eq!(
            check_from_edge(&light, edge_id, &asked, &[], &[forged], &[]),
            Err(LightError::BadTally(tweet("popular")))
        );
        let other = tallied(&edge, &tweet("other"), asker, &mut SignedTallies::default());
        assert_eq!(
            check_from_edge(
                &light,
                edge_id,
                &asked,
                &[],
                &[tally.clone(), other],
                &[tweet("other")]
            ),
            Err(LightError::Unsolicited(2))
        );
        let entries = writers(300, 1, &["other"], 1);
        assert_eq!(
            check_from_edge(&light, edge_id, &asked, &entries, &[tally], &[]),
            Err(LightError::Unsolicited(2))
        );
        // A tally of a tweet whose writers cannot have more than 128 counters is refused,
        // however well signed: the tweet is served by its entries.
        edge.merge(&namespace(), writers(400, 32, &["small"], 4));
        let small = tallied(&edge, &tweet("small"), asker, &mut SignedTallies::default());
        let asked: BTreeSet<TweetId> = [tweet("small")].into_iter().collect();
        assert_eq!(
            check_from_edge(&light, edge_id, &asked, &[], &[small], &[]),
            Err(LightError::NeedlessTally(tweet("small")))
        );
    }

    struct EntryKeyOf;

    impl EntryKeyOf {
        fn of(replica: &Replica, id: &str, stat: StatKind) -> crate::core::ids::EntryKey {
            crate::core::ids::EntryKey { tweet: tweet(id), stat, writer: replica.local_writer() }
        }
    }
}
