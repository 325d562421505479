//! Tests of the light protocol's answers, checks and pushes.
use super::*;
use crate::ids::{Namespace, StatKind};
use crate::proof::{Difficulty, IdentityProof};
use crate::rules::Rules;
use crate::signing::Identity;

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
        Replica::new(namespace(), rules, Identity::from_secret(secret), Generation(generation));
    replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
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
        node: None,
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
    assert!(leaves.iter().all(|(w, l)| l.tweet == tweet("small") && *w != light.local_writer()));
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
        let LightResponse::Tweets { entries, tallies, later } = watch(&light, &asking).answer_from(
            &edge,
            light.local_writer().node,
            &mut SignedTallies::default(),
        ) else {
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
        check_from_edge(&light, edge_id, &asked, &[], &[tally.clone(), other], &[tweet("other")]),
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
    fn of(replica: &Replica, id: &str, stat: StatKind) -> crate::ids::EntryKey {
        crate::ids::EntryKey { tweet: tweet(id), stat, writer: replica.local_writer() }
    }
}
