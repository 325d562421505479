//! The native swarm: TCP and WebSocket (noise, yamux), optionally WebRTC-direct for browsers,
//! DNS, on tokio.

use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use libp2p::core::muxing::{StreamMuxer, StreamMuxerBox, StreamMuxerEvent};
use libp2p::core::transport::OptionalTransport;
use libp2p::{Swarm, SwarmBuilder, Transport, noise, tcp, yamux};
use libp2p_webrtc::tokio::Certificate;

use super::behaviour::Behaviour;
use super::{NetworkError, Peer, PeerConfig};
use crate::core::{Identity, Namespace};
use crate::runtime::Node;
use crate::storage::Store;

/// The certificate of a node's WebRTC-direct listener. Its hash is part of the node's
/// `/webrtc-direct/certhash/...` addresses, so keep it (as PEM) for the addresses to survive
/// restarts.
#[derive(Debug, Clone)]
pub struct WebRtcCertificate(Certificate);

impl WebRtcCertificate {
    /// A new certificate.
    pub fn generate() -> Result<Self, NetworkError> {
        // The argument is ignored by libp2p-webrtc, which draws from the system's source.
        Certificate::generate(&mut rand::rng())
            .map(Self)
            .map_err(|e| NetworkError::Transport(format!("cannot make a WebRTC certificate: {e}")))
    }

    /// Reads a certificate written by [`WebRtcCertificate::to_pem`].
    pub fn from_pem(pem: &str) -> Result<Self, NetworkError> {
        Certificate::from_pem(pem)
            .map(Self)
            .map_err(|e| NetworkError::Transport(format!("invalid WebRTC certificate: {e}")))
    }

    /// The certificate and its private key, in PEM.
    pub fn to_pem(&self) -> String {
        self.0.serialize_pem()
    }
}

impl<S: Store + 'static> Peer<S> {
    /// Like [`Peer::new`], and also able to listen on WebRTC-direct addresses
    /// (`/ip4/.../udp/<port>/webrtc-direct`), which browsers can dial without TLS.
    pub async fn with_webrtc(
        node: Rc<Node<S>>,
        config: PeerConfig,
        certificate: WebRtcCertificate,
    ) -> Result<Self, NetworkError> {
        let identity = node.with_replica(|r| r.identity().clone());
        let swarm = build(&identity, &node.namespace(), Some(certificate.0)).await?;
        Ok(Self::with_swarm(node, swarm, config))
    }
}

/// A swarm for `identity` in `namespace`, with TCP and WebSocket transports. Must be called
/// inside a tokio runtime.
pub(crate) async fn build_swarm(
    identity: &Identity,
    namespace: &Namespace,
) -> Result<Swarm<Behaviour>, NetworkError> {
    build(identity, namespace, None).await
}

async fn build(
    identity: &Identity,
    namespace: &Namespace,
    webrtc: Option<Certificate>,
) -> Result<Swarm<Behaviour>, NetworkError> {
    let transport = |e: &dyn std::fmt::Display| NetworkError::Transport(e.to_string());
    let swarm = SwarmBuilder::with_existing_identity(identity.to_libp2p())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| transport(&e))?
        .with_other_transport(|key| match webrtc {
            Some(certificate) => OptionalTransport::some(
                libp2p_webrtc::tokio::Transport::new(key.clone(), certificate).map(
                    |(peer, connection), _| {
                        (peer, StreamMuxerBox::new(RemoteOpensFirst::new(connection)))
                    },
                ),
            ),
            None => OptionalTransport::none(),
        })
        .map_err(|e| transport(&e))?
        .with_dns()
        .map_err(|e| transport(&e))?
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .map_err(|e| transport(&e))?
        .with_behaviour(|key| {
            Behaviour::new(key, namespace)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| NetworkError::Behaviour(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(swarm)
}

/// A WebRTC-direct connection on which this side opens no stream before the remote (the
/// browser) opened one.
///
/// The browser's transport wraps an incoming data channel, and starts listening for its
/// messages, only when its connection task asks for inbound streams; that task starts after
/// the browser finished its side of the handshake, which ends after ours. Streams we open at
/// once send their first bytes into that gap, where the browser drops them, and then wait out
/// the 10 s protocol negotiation timeout. Once the browser opened a stream of its own, its
/// connection task runs and takes our data channels as they come.
struct RemoteOpensFirst<M> {
    inner: M,
    remote_opened: bool,
    outbound_waker: Option<Waker>,
}

impl<M> RemoteOpensFirst<M> {
    fn new(inner: M) -> Self {
        Self { inner, remote_opened: false, outbound_waker: None }
    }
}

impl<M: StreamMuxer + Unpin> StreamMuxer for RemoteOpensFirst<M> {
    type Substream = M::Substream;
    type Error = M::Error;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let polled = Pin::new(&mut self.inner).poll_inbound(cx);
        if matches!(polled, Poll::Ready(Ok(_))) && !self.remote_opened {
            self.remote_opened = true;
            if let Some(waker) = self.outbound_waker.take() {
                waker.wake();
            }
        }
        polled
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        if !self.remote_opened {
            self.outbound_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_outbound(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}
