//! Conformance vectors of catch-up, for implementers in other languages (docs/protocol.md):
//! `fixtures/sync_exchange.bin` holds every message of one whole catch-up as it goes over a
//! `/warpnet/stats-sync/2` stream, each a frame (a 4-byte big-endian length, then the message:
//! version byte `0x02` and protobuf), request and response in turn: digests, summaries, a
//! fetch and ranges (the scenario: [`sides`]). A responder fed
//! the vector requests answers the vector responses byte for byte, and an initiator fed the
//! vector responses asks the vector requests and ends holding what the responder holds. Every
//! writer's identity proof holds at the default difficulty (23 bits), and answers carry several
//! writers, the responder's own counters among them (they come first, sealed as they leave).
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::common;

use common::*;
use warpnet_stats::{
    Replica, StatKind,
    seal::Sealed,
    sync::{SyncRequest, SyncResponse, SyncSession},
};

const EXCHANGE: &[u8] = include_bytes!("../fixtures/sync_exchange.bin");

/// The responder (node 9) and the initiator (node 8), under the default rules: writer 1
/// published likes on `a0`-`a3` (both hold them), then a second like on `a1` and a view of `a0`
/// (the responder alone); writer 2 likes on `b0` and `b1` (the responder alone); the responder
/// itself viewed `a2` and `b1`.
fn sides() -> (Replica, Replica) {
    let mut one = proven(1);
    let first: Vec<_> = (0..4)
        .map(|i| one.increment(&tweet(&format!("a{i}")), StatKind::Likes).expect("ok").key)
        .collect();
    let first = one.sealed(&first);
    let second = [
        one.increment(&tweet("a1"), StatKind::Likes).expect("ok").key,
        one.increment(&tweet("a0"), StatKind::Views).expect("ok").key,
    ];
    let second = one.sealed(&second);
    let mut two = proven(2);
    let likes: Vec<_> = ["b0", "b1"]
        .iter()
        .map(|t| two.increment(&tweet(t), StatKind::Likes).expect("ok").key)
        .collect();
    let mut responder = proven(9);
    let all: Vec<Sealed> = first.iter().cloned().chain(second).chain(two.sealed(&likes)).collect();
    assert!(responder.merge(&namespace(), all).rejected.is_empty());
    for viewed in ["a2", "b1"] {
        responder.increment(&tweet(viewed), StatKind::Views).expect("ok");
    }
    let mut initiator = proven(8);
    assert!(initiator.merge(&namespace(), first).rejected.is_empty());
    (responder, initiator)
}

/// `message` as a frame on the stream.
fn frame(message: &[u8]) -> Vec<u8> {
    let mut framed = (message.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(message);
    framed
}

/// The messages of `bytes`, a run of frames.
fn frames(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut messages = Vec::new();
    while let Some((length, rest)) = bytes.split_first_chunk::<4>() {
        let (message, rest) = rest.split_at(u32::from_be_bytes(*length) as usize);
        messages.push(message);
        bytes = rest;
    }
    assert!(bytes.is_empty(), "a partial frame at the end");
    messages
}

/// The whole exchange, run now, as frames.
fn exchange() -> Vec<u8> {
    let (mut responder, mut initiator) = sides();
    let mut out = Vec::new();
    let (mut session, mut request) = SyncSession::start();
    loop {
        out.extend(frame(&request.encode(&namespace())));
        let response = request.answer_from(&mut responder).expect("answered");
        out.extend(frame(&response.encode(&namespace())));
        let step = session.handle(&mut initiator, response).expect("accepted");
        initiator.merge(&namespace(), step.fetched);
        match step.next {
            Some(next) => request = next,
            None => return out,
        }
    }
}

#[test]
fn a_responder_answers_the_vector_requests_with_the_vector_responses() {
    let (mut responder, _) = sides();
    let messages = frames(EXCHANGE);
    assert!(messages.len() >= 4 && messages.len().is_multiple_of(2), "{} messages", messages.len());
    for (round, pair) in messages.chunks(2).enumerate() {
        let (asked_namespace, request) = SyncRequest::decode(pair[0]).expect("request decodes");
        assert_eq!(asked_namespace, namespace());
        let response = request.answer_from(&mut responder).expect("answered");
        assert_eq!(response.encode(&namespace()), pair[1], "response {round}");
    }
}

#[test]
fn an_initiator_fed_the_vector_responses_asks_the_vector_requests_and_catches_up() {
    let (responder, mut initiator) = sides();
    let messages = frames(EXCHANGE);
    let (mut session, first) = SyncSession::start();
    let mut request = Some(first);
    let mut most_writers = Vec::new();
    for (round, pair) in messages.chunks(2).enumerate() {
        let asked = request.take().expect("a request for every vector round");
        assert_eq!(asked.encode(&namespace()), pair[0], "request {round}");
        let response = SyncResponse::decode(pair[1]).expect("response decodes");
        if let SyncResponse::Entries { entries, .. } | SyncResponse::Range { entries, .. } =
            &response
        {
            let mut writers: Vec<_> = entries.iter().map(|s| s.writer.node).collect();
            writers.dedup();
            if writers.len() > most_writers.len() {
                most_writers = writers;
            }
        }
        let step = session.handle(&mut initiator, response).expect("accepted");
        assert_eq!(step.unsolicited, 0);
        assert!(initiator.merge(&namespace(), step.fetched).rejected.is_empty());
        request = step.next;
    }
    assert!(request.is_none(), "the catch-up ends with the vectors");
    // An answer of several writers, the responder's own counters first.
    let [own, ..] = most_writers[..] else { panic!("no answer with entries") };
    assert_eq!((most_writers.len(), own), (2, identity(9).node_id()));
    let held = |r: &Replica| {
        let mut entries: Vec<_> = r.entries().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        entries
    };
    assert_eq!(held(&initiator), held(&responder));
    assert_eq!(exchange(), EXCHANGE, "the exchange run now is the vectors");
}

/// Regenerates the vectors. Run only when the protocol changes on purpose (a new protocol
/// version): `cargo test --test conformance -- --ignored regenerate`.
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn regenerate_the_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    std::fs::write(dir.join("sync_exchange.bin"), exchange()).expect("write");
}
