//! What the fuzz targets share: a namespace, replicas with identities that cost nothing, and
//! two replicas that differ in every way catch-up handles (entries only one side holds,
//! newer versions of entries both hold), so sessions reach each of their stages.

use std::sync::OnceLock;

use warpnet_stats::{
    Caps, Difficulty, Generation, Identity, IdentityProof, Namespace, Replica, Rules, StatKind,
    TweetId,
    seal::Sealed,
    sync::{SyncRequest, SyncSession},
};

/// The namespace every target uses.
pub fn namespace() -> Namespace {
    Namespace::new("mainnet").expect("valid namespace")
}

/// A replica written by identity `seed`, with default caps and a free identity proof.
pub fn replica(seed: u8) -> Replica {
    let rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty(0) };
    let identity = Identity::from_secret([seed; 32]);
    let mut replica = Replica::new(namespace(), rules, identity, Generation([seed; 16]));
    replica.set_identity_proof(IdentityProof { nonce: 0 }).expect("holds");
    replica
}

/// Sealed entries: an older and a newer version of 30 view counters of one writer, and 20
/// likes of another.
struct Fixture {
    older: Vec<Sealed>,
    newer: Vec<Sealed>,
    others: Vec<Sealed>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let tweets: Vec<TweetId> =
            (0..30).map(|i| TweetId::new(format!("tweet-{i}")).expect("valid")).collect();
        let mut viewer = replica(1);
        let keys: Vec<_> = tweets
            .iter()
            .map(|tweet| viewer.increment(tweet, StatKind::Views).expect("within bounds").key)
            .collect();
        let older = viewer.sealed(&keys);
        for tweet in &tweets {
            viewer.increment(tweet, StatKind::Views).expect("within bounds");
        }
        let newer = viewer.sealed(&keys);
        let mut liker = replica(2);
        let keys: Vec<_> = (0..20)
            .map(|i| {
                let tweet = TweetId::new(format!("liked-{i}")).expect("valid");
                liker.increment(&tweet, StatKind::Likes).expect("within bounds").key
            })
            .collect();
        let others = liker.sealed(&keys);
        Fixture { older, newer, others }
    })
}

/// The initiator's replica: the older versions only.
pub fn behind() -> Replica {
    let mut replica = replica(3);
    replica.merge(&namespace(), fixture().older.clone());
    replica
}

/// The responder's replica: the newer versions and the other writer's likes.
pub fn ahead() -> Replica {
    let mut replica = replica(4);
    replica.merge(&namespace(), fixture().newer.clone());
    replica.merge(&namespace(), fixture().others.clone());
    replica
}

/// A session of `mine` pulling from `theirs`, brought `rounds` honest round trips on: the
/// session and the request it waits on, or `None` if it ended before.
pub fn session_after(
    mine: &mut Replica,
    theirs: &mut Replica,
    rounds: usize,
) -> Option<(SyncSession, SyncRequest)> {
    let (mut session, mut request) = SyncSession::start();
    for _ in 0..rounds {
        let response = request.answer_from(theirs).expect("honest request");
        let step = session.handle(mine, response).expect("honest response");
        mine.merge(&namespace(), step.fetched);
        request = step.next?;
    }
    Some((session, request))
}

/// Store contents from fuzz input: records of a one-byte key length, the key (as lossy
/// UTF-8), a two-byte little-endian value length and the value; a cut-off record ends it.
pub fn records(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut records = Vec::new();
    loop {
        let Some((&key_len, rest)) = data.split_first() else { break };
        let Some((key, rest)) = rest.split_at_checked(usize::from(key_len)) else { break };
        let Some((len, rest)) = rest.split_at_checked(2) else { break };
        let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
        let Some((value, rest)) = rest.split_at_checked(len) else { break };
        records.push((String::from_utf8_lossy(key).into_owned(), value.to_vec()));
        data = rest;
    }
    records
}

/// [`records`]' input for these records (keys over 255 bytes and values over 65,535 are cut).
pub fn encode_records(records: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let key = &key.as_bytes()[..key.len().min(255)];
        let value = &value[..value.len().min(65_535)];
        out.push(key.len() as u8);
        out.extend_from_slice(key);
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
    }
    out
}
