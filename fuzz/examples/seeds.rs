//! Writes the seed corpora: honest messages of every kind each target reads, so fuzzing starts
//! from valid inputs. `cargo run --example seeds` from `fuzz/` (scripts/fuzz --seed).

use std::path::Path;

use futures::executor::block_on;
use warpnet_stats::{
    Action, Caps, Difficulty, MemoryStore, Node, Rules, Store, TweetId, UserId,
    light::{LightRequest, LightResponse, Tallied, Tally},
    sync::SyncSession,
    wire::SealedBatch,
};
use warpnet_stats_fuzz::{ahead, behind, encode_records, namespace, session_after};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus directory");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed written");
}

fn main() {
    for fixture in ["batch_v1.bin", "batch_v2.bin"] {
        let bytes = std::fs::read(Path::new("../tests/fixtures").join(fixture)).expect("fixture");
        write("wire", fixture, &bytes);
    }
    let theirs = ahead();
    let sealed = theirs.sealed(&theirs.entries().map(|e| e.key).collect::<Vec<_>>());
    write(
        "wire",
        "batch",
        &SealedBatch { namespace: namespace(), sealed }.encode().expect("fits a message"),
    );

    let key = theirs.entries().next().expect("an entry").key;
    write("keys", "key", key.path(&namespace()).as_bytes());
    write("keys", "node", &key.writer.node.to_bytes());

    // A light node's requests and the answers and pushes it gets, as the edge node makes them.
    let light = behind();
    let asker = light.local_writer();
    let tweets: Vec<TweetId> = theirs.entries().map(|e| e.key.tweet).take(3).collect();
    let watch = tweets.iter().map(|t| (t.clone(), light.tweet_digest(t, Some(asker)))).collect();
    let watch = LightRequest::Watch { node: None, generation: asker.generation, tweets: watch };
    let tally = |tweet: &TweetId| Tallied {
        tally: Tally::sign(theirs.identity(), &namespace(), tweet.clone(), theirs.figures(tweet)),
        yours: theirs.writer_values(tweet, asker),
    };
    let update =
        LightRequest::Update { entries: theirs.sealed([&key]), tallies: vec![tally(&tweets[1])] };
    let contributions = LightRequest::Contributions { tweet: tweets[0].clone(), after: 0 };
    let mut responses = vec![
        ("tweets", watch.answer_from(&theirs, asker.node, &mut Default::default())),
        ("page", contributions.answer_from(&theirs, asker.node, &mut Default::default())),
        ("done", LightResponse::Done),
    ];
    let entries = theirs.sealed(&theirs.entries().map(|e| e.key).take(5).collect::<Vec<_>>());
    let tallies = tweets.iter().map(tally).collect();
    responses.push(("tallies", LightResponse::Tweets { entries, tallies, later: tweets.clone() }));
    let requests = [
        ("watch", watch),
        ("unwatch", LightRequest::Unwatch { tweets }),
        ("update", update),
        ("contributions", contributions),
    ];
    for (name, request) in requests {
        write("light", &format!("request-{name}"), &request.encode(&namespace()));
    }
    for (name, response) in responses {
        write("light", &format!("response-{name}"), &response.encode(&namespace()));
    }

    // Every request and response of an honest catch-up, with the stage it came at.
    let (mut mine, mut theirs) = (behind(), ahead());
    let (mut session, mut request) = SyncSession::start();
    for round in 0u8.. {
        write("sync_request", &format!("round-{round}"), &request.encode(&namespace()));
        let response = request.answer_from(&mut theirs).expect("honest request");
        let mut seed = vec![round];
        seed.extend(response.encode(&namespace()));
        write("sync_response", &format!("round-{round}"), &seed);
        let step = session.handle(&mut mine, response).expect("honest response");
        mine.merge(&namespace(), step.fetched);
        match step.next {
            Some(next) => request = next,
            None => break,
        }
    }
    assert!(session_after(&mut behind(), &mut ahead(), 1).is_some());

    // A store after some actions.
    let rules = Rules { caps: Caps::DEFAULT, difficulty: Difficulty(0) };
    let store = MemoryStore::new();
    let node = block_on(Node::open(namespace(), rules, store.clone())).expect("opens");
    let user = UserId::new("seed").expect("valid");
    for i in 0..3 {
        let tweet = TweetId::new(format!("tweet-{i}")).expect("valid");
        let actions = [(tweet.clone(), Action::Like(user.clone())), (tweet, Action::View)];
        block_on(node.act(&actions)).expect("acts");
    }
    let held = block_on(store.load()).expect("loads");
    write("store", "node", &encode_records(&held));
}
