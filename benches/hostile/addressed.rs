//! Clients at many addresses on one machine: a TCP transport that dials from a chosen loopback
//! address (127.0.0.x), so the edge node sees attackers at several addresses and honest peers
//! at others, as on the internet (libp2p's own TCP transport binds no source address).

use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::core::transport::{DialOpts, ListenerId, Transport, TransportError, TransportEvent};
use libp2p::core::upgrade::Version;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Multiaddr, StreamProtocol, Swarm, SwarmBuilder, noise, yamux};

use crate::common::net::Frames;

/// TCP, dialled from `0` (a loopback address); it listens nowhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FromAddress(pub(crate) Ipv4Addr);

impl Transport for FromAddress {
    type Output = libp2p::tcp::tokio::TcpStream;
    type Error = std::io::Error;
    type ListenerUpgrade = futures::future::Pending<Result<Self::Output, Self::Error>>;
    type Dial = BoxFuture<'static, Result<Self::Output, Self::Error>>;

    fn listen_on(
        &mut self,
        _: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        Err(TransportError::MultiaddrNotSupported(addr))
    }

    fn remove_listener(&mut self, _: ListenerId) -> bool {
        false
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        _: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        let mut parts = addr.iter();
        let (Some(Protocol::Ip4(ip)), Some(Protocol::Tcp(port))) = (parts.next(), parts.next())
        else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        if parts.any(|part| !matches!(part, Protocol::P2p(_))) {
            return Err(TransportError::MultiaddrNotSupported(addr));
        }
        let source = self.0;
        Ok(async move {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::from((source, 0)))?;
            let stream = socket.connect(SocketAddr::from((ip, port))).await?;
            stream.set_nodelay(true)?;
            Ok(libp2p::tcp::tokio::TcpStream(stream))
        }
        .boxed())
    }

    fn poll(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        Poll::Pending
    }
}

/// The loopback address of client address number `n` (127.0.1.n; the edge node and the honest
/// peers are at 127.0.0.1).
pub(crate) fn address(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, n)
}

/// A swarm of a fresh identity dialling from `source`, with `behaviour`.
pub(crate) fn swarm_at<B: NetworkBehaviour>(
    source: Ipv4Addr,
    behaviour: impl FnOnce(&libp2p::identity::Keypair) -> B,
) -> Swarm<B> {
    SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(|key| {
            let noise = noise::Config::new(key).expect("noise");
            FromAddress(source)
                .upgrade(Version::V1)
                .authenticate(noise)
                .multiplex(yamux::Config::default())
                .timeout(Duration::from_secs(20))
        })
        .expect("transport")
        .with_behaviour(|key| behaviour(key))
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// A hostile gossipsub swarm at `source`, subscribed to the namespace's topic.
pub(crate) fn gossip_at(source: Ipv4Addr) -> Swarm<gossipsub::Behaviour> {
    let mut swarm = swarm_at(source, |key| {
        let config = gossipsub::ConfigBuilder::default()
            .max_transmit_size(4 << 20)
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .expect("config");
        gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config)
            .expect("behaviour")
    });
    swarm
        .behaviour_mut()
        .subscribe(&IdentTopic::new("warpnet/stats/2/mainnet"))
        .expect("subscribes");
    swarm
}

/// A client at `source` speaking one framed request-response protocol (`protocol`) by hand.
pub(crate) fn frames_at(
    source: Ipv4Addr,
    protocol: &'static str,
) -> Swarm<request_response::Behaviour<Frames>> {
    swarm_at(source, |_| {
        let config = request_response::Config::default()
            .with_request_timeout(Duration::from_secs(30))
            .with_max_concurrent_streams(64);
        request_response::Behaviour::<Frames>::new(
            [(StreamProtocol::new(protocol), ProtocolSupport::Full)],
            config,
        )
    })
}
