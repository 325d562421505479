//! Helpers for the native network tests: a single-threaded runtime with a local task set (the
//! node is not `Send`), polling for a condition with a deadline, running peers, and a hostile
//! gossipsub swarm.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::oneshot;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::request_response;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
use tokio::task::{JoinHandle, LocalSet, spawn_local};
use warpnet_stats::{Node, Peer, PeerConfig, PeerHandle, Rules, Store};

use super::{RULES, namespace};

/// How long a network test waits for any one thing before failing.
pub const WAIT: Duration = Duration::from_secs(60);

/// Runs `test` on a current-thread runtime inside a `LocalSet`.
pub fn local<F: Future>(test: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    LocalSet::new().block_on(&runtime, test)
}

/// Polls `done` every 20 ms until it holds; fails the test after [`WAIT`].
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn config() -> PeerConfig {
    PeerConfig { sync_interval: Duration::from_secs(1), ..PeerConfig::default() }
}

/// A config whose periodic catch-up never comes during a test: only connections, gossip and
/// retries start one.
pub fn quiet() -> PeerConfig {
    PeerConfig { sync_interval: Duration::from_secs(3600), ..config() }
}

/// A running peer: its node, its handle, and how to stop it.
pub struct Running<S: Store> {
    pub node: Rc<Node<S>>,
    pub handle: PeerHandle,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl<S: Store + 'static> Running<S> {
    pub async fn start(store: S, listen: &[&str]) -> Self {
        Self::start_with(store, listen, config()).await
    }

    pub async fn start_with(store: S, listen: &[&str], config: PeerConfig) -> Self {
        Self::start_ruled(store, listen, config, RULES).await
    }

    /// A peer under the namespace rules `rules`; it mints its identity proof as it starts.
    pub async fn start_ruled(store: S, listen: &[&str], config: PeerConfig, rules: Rules) -> Self {
        let node = Rc::new(Node::open(namespace(), rules, store).await.expect("opens"));
        let mut peer = Peer::new(node.clone(), config).await.expect("swarm");
        for address in listen {
            peer.listen(address.parse().expect("multiaddr")).expect("listens");
        }
        let handle = peer.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = spawn_local(peer.run(async move {
            let _ = stopped.await;
        }));
        let running = Self { node, handle, stop, task };
        if !listen.is_empty() {
            let handle = running.handle.clone();
            wait_for("listening", || handle.listen_addrs().len() >= listen.len()).await;
        }
        running
    }

    pub fn address(&self, protocol: &str) -> Multiaddr {
        self.handle
            .listen_addrs()
            .into_iter()
            .find(|a| a.iter().any(|p| p.tag() == protocol))
            .expect("listening on the protocol")
    }

    /// Its peer id on the network (a light node's is not its node id).
    pub fn id(&self) -> PeerId {
        self.handle.peer_id()
    }

    /// Stops the driver and waits for it; the node is dropped when the caller drops `self`.
    pub async fn stop(self) -> Rc<Node<S>> {
        let _ = self.stop.send(());
        self.task.await.expect("driver ends cleanly");
        self.node
    }
}

/// A hand-made peer of `behaviour` over TCP listening on loopback, and its address.
pub async fn listening<B: NetworkBehaviour>(behaviour: B) -> (Swarm<B>, Multiaddr) {
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .expect("tcp")
        .with_behaviour(|_| behaviour)
        .expect("behaviour")
        .build();
    swarm.listen_on("/ip4/127.0.0.1/tcp/0".parse().expect("address")).expect("listens");
    loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            return (swarm, address);
        }
    }
}

/// A hostile swarm speaking plain gossipsub on the namespace's topic.
pub async fn attacker() -> Swarm<gossipsub::Behaviour> {
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .expect("tcp")
        .with_behaviour(|key| {
            let config = gossipsub::ConfigBuilder::default()
                .max_transmit_size(4 << 20)
                .heartbeat_interval(Duration::from_millis(200))
                .build()
                .expect("config");
            gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config)
                .expect("behaviour")
        })
        .expect("behaviour")
        .build();
    swarm
        .behaviour_mut()
        .subscribe(&IdentTopic::new("warpnet/stats/2/mainnet"))
        .expect("subscribes");
    swarm
}

/// Drives `swarm` until `done` holds (or fails the test after [`WAIT`]).
pub async fn drive<B: NetworkBehaviour>(
    swarm: &mut Swarm<B>,
    what: &str,
    mut done: impl FnMut(&mut Swarm<B>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(swarm) {
        tokio::select! {
            _ = swarm.select_next_some() => {}
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
    }
}

/// Drives the hostile swarm until it knows a subscriber of the topic.
pub async fn await_subscriber(evil: &mut Swarm<gossipsub::Behaviour>) {
    drive(evil, "a subscription", |swarm| {
        swarm.behaviour().all_peers().any(|(_, topics)| !topics.is_empty())
    })
    .await;
}

/// The catch-up protocol's framing, for clients that speak it by hand: a 4-byte big-endian
/// length, then the message (at most 2 MiB read).
#[derive(Debug, Clone, Copy, Default)]
pub struct Frames;

pub async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut length = [0; 4];
    io.read_exact(&mut length).await?;
    let length = u32::from_be_bytes(length) as usize;
    if length > 2 << 20 {
        return Err(io::Error::other("frame too large"));
    }
    let mut bytes = vec![0; length];
    io.read_exact(&mut bytes).await?;
    Ok(bytes)
}

pub async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    bytes: Vec<u8>,
) -> io::Result<()> {
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(&bytes).await?;
    io.close().await
}

impl request_response::Codec for Frames {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        read_frame(io)
    }

    fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send {
        read_frame(io)
    }

    fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send {
        write_frame(io, request)
    }

    fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send {
        write_frame(io, response)
    }
}
