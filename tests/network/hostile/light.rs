//! A hostile light client, written from docs/protocol.md: a `Watch` whose node id is not one is
//! counted and unanswered, and a `Watch` naming another writer's node id (here the edge node's
//! own) changes only what that asker is told: its answer leaves that writer's counters out, the
//! edge node's counts and every other asker's answers stay whole. And an edge node too old for
//! a light node (it speaks only `/warpnet/stats-light/1`) is told apart from a silent one.

use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundFailure, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{PeerId, StreamProtocol, Swarm, ping};
use warpnet_stats::{
    Action, DropReason, Generation, MemoryStore,
    light::{LightRequest, LightResponse},
    wire::WIRE_VERSION,
};

use super::common::light::light_config;
use super::common::net::{Frames, Running, drive, listening, local, quiet};
use super::common::*;
use futures::StreamExt;

#[derive(NetworkBehaviour)]
struct Asker {
    light: request_response::Behaviour<Frames>,
    ping: ping::Behaviour,
}

/// A protobuf field of wire type 2 (bytes, strings, messages) shorter than 128 bytes.
/// A swarm answering the light protocol under `protocol` only, listening on loopback TCP.
async fn speaking(protocol: &'static str) -> (Swarm<Asker>, libp2p::Multiaddr) {
    listening(Asker {
        light: request_response::Behaviour::new(
            [(StreamProtocol::new(protocol), ProtocolSupport::Full)],
            request_response::Config::default(),
        ),
        ping: ping::Behaviour::default(),
    })
    .await
}

fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    [&[number << 3 | 2, bytes.len() as u8][..], bytes].concat()
}

/// Asks `edge` `request` and waits for the answer's bytes, or for the stream to fail.
async fn ask(
    evil: &mut Swarm<Asker>,
    edge: PeerId,
    request: Vec<u8>,
) -> Result<Vec<u8>, OutboundFailure> {
    let id = evil.behaviour_mut().light.send_request(&edge, request);
    loop {
        match evil.select_next_some().await {
            SwarmEvent::Behaviour(AskerEvent::Light(request_response::Event::Message {
                message: request_response::Message::Response { request_id, response },
                ..
            })) if request_id == id => return Ok(response),
            SwarmEvent::Behaviour(AskerEvent::Light(
                request_response::Event::OutboundFailure { request_id, error, .. },
            )) if request_id == id => return Err(error),
            _ => {}
        }
    }
}

#[test]
fn a_watch_with_a_bad_or_borrowed_node_id_changes_nothing_for_others() {
    local(async {
        let edge =
            Running::start_with(MemoryStore::new(), &["/ip4/127.0.0.1/tcp/0"], quiet()).await;
        edge.node.act(&[(tweet("t"), Action::Like(user("alice")))]).await.expect("commits");
        let handle = edge.handle.clone();
        super::common::net::wait_for("the edge node's proof", || handle.minting().done).await;
        let (mut evil, _) = speaking("/warpnet/stats-light/2").await;
        evil.dial(edge.address("tcp").with(Protocol::P2p(edge.id()))).expect("dials");
        let watch = |node, generation| LightRequest::Watch {
            node,
            generation,
            tweets: vec![(tweet("t"), 0)],
        };

        // A node id that is not an ed25519 PeerId: undecodable, counted, not answered.
        let generation = field(3, &[3; 16]);
        let body = [field(1, b"t"), field(2, &[0; 8]), generation, field(4, &[0, 4, 1, 2, 3, 4])];
        let bad = [vec![WIRE_VERSION], field(1, b"mainnet"), field(2, &body.concat())].concat();
        assert!(ask(&mut evil, edge.id(), bad).await.is_err(), "a bad node id is not answered");
        assert_eq!(edge.handle.stats().dropped(DropReason::Undecodable), 1);

        // The edge node's own writer named as the asker's: left out of this answer only.
        let borrowed =
            watch(Some(edge.node.node_id()), edge.node.generation()).encode(&namespace());
        let borrowed =
            LightResponse::decode(&ask(&mut evil, edge.id(), borrowed).await.expect("ok"));
        let LightResponse::Tweets { entries, tallies, later } = borrowed.expect("decodes") else {
            panic!("a Watch is answered with Tweets");
        };
        assert!(entries.is_empty() && tallies.is_empty() && later.is_empty());

        // Asking as itself, the same client is told the like; the edge node still counts it.
        let own = watch(None, Generation([3; 16])).encode(&namespace());
        let own = LightResponse::decode(&ask(&mut evil, edge.id(), own).await.expect("answered"));
        let Ok(LightResponse::Tweets { entries, .. }) = own else { panic!("Tweets") };
        let leaves: Vec<_> = entries.iter().flat_map(|s| &s.leaves).collect();
        assert_eq!(leaves.len(), 1);
        assert_eq!(leaves[0].1.counter.value(), 1);
        assert_eq!(edge.node.stats(&tweet("t")).likes, 1);
        assert_eq!(edge.handle.stats().dropped(DropReason::Undecodable), 1);
        edge.stop().await;
    });
}

#[test]
fn a_light_node_tells_an_edge_node_too_old_for_its_light_protocol() {
    local(async {
        let (mut old, address) = speaking("/warpnet/stats-light/1").await;
        let light = Running::start_with(MemoryStore::new(), &[], light_config()).await;
        light.handle.keep_connected(address);
        light.handle.watch(&[tweet("t")]);
        let handle = light.handle.clone();
        drive(&mut old, "a refused Watch", |_| handle.stats().light_unsupported >= 1).await;
        let stats = light.handle.stats();
        assert!(stats.last_sync.is_none(), "no answer taken: {stats:?}");
        assert_eq!(light.handle.peers().len(), 1, "connected, yet told nothing");
        light.stop().await;
    });
}
