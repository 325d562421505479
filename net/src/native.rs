//! The native swarm: TCP and WebSocket (noise, yamux), optionally WebRTC-direct for browsers,
//! DNS, on tokio.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use libp2p::core::muxing::{StreamMuxer, StreamMuxerBox, StreamMuxerEvent};
use libp2p::core::transport::{Boxed, OptionalTransport};
use libp2p::{PeerId, SwarmBuilder, Transport, noise, tcp, yamux};
use libp2p_webrtc::tokio::Certificate;

use super::Driver;
use super::behaviour::Behaviour;
use super::{BoxError, NetworkError};
use warpnet_stats_core::{Identity, Namespace, wire::MAX_MESSAGE_BYTES};
use warpnet_stats_protocol::ConnectionCaps;

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
            .map_err(|e| NetworkError::Certificate(Box::new(e)))
    }

    /// Reads a certificate written by [`WebRtcCertificate::to_pem`].
    pub fn from_pem(pem: &str) -> Result<Self, NetworkError> {
        Certificate::from_pem(pem).map(Self).map_err(|e| NetworkError::Certificate(Box::new(e)))
    }

    /// The certificate and its private key, in PEM.
    pub fn to_pem(&self) -> String {
        self.0.serialize_pem()
    }
}

/// A TLS certificate chain and its private key for WebSocket: with it a node listens on
/// `/tls/ws` addresses, which pages served over https dial (as `wss://`).
#[derive(Clone)]
pub struct WebSocketTls {
    key: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

impl WebSocketTls {
    /// Reads a PEM certificate chain (the node's own certificate first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1), checking that they make a TLS server's configuration.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Self, NetworkError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let tls = |what: String| NetworkError::Tls(what.into());
        let chain: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(chain)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| tls(format!("the certificate chain: {e}")))?;
        if chain.is_empty() {
            return Err(tls("the certificate chain holds no certificate".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| tls(format!("the key: {e}")))?;
        let key = key.secret_der().to_vec();
        let websocket = Self { key, chain };
        websocket.config()?;
        Ok(websocket)
    }

    /// The configuration libp2p's WebSocket transport takes.
    fn config(&self) -> Result<libp2p::websocket::tls::Config, NetworkError> {
        use libp2p::websocket::tls;
        // `tls::PrivateKey::new` panics on a key it cannot tell the format of: told here.
        rustls_pki_types::PrivateKeyDer::try_from(self.key.clone())
            .map_err(|e| NetworkError::Tls(format!("the key: {e}").into()))?;
        let chain = self.chain.iter().map(|c| tls::Certificate::new(c.clone()));
        tls::Config::new(tls::PrivateKey::new(self.key.clone()), chain)
            .map_err(|e| NetworkError::Tls(Box::new(e)))
    }
}

impl std::fmt::Debug for WebSocketTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketTls").field("certificates", &self.chain.len()).finish()
    }
}

/// What a native node's transports need beyond TCP and WebSocket.
#[derive(Debug, Clone, Default)]
pub struct Transports {
    /// A certificate to listen on WebRTC-direct addresses (`/udp/<port>/webrtc-direct`), which
    /// browsers dial without TLS.
    pub webrtc: Option<WebRtcCertificate>,
    /// A certificate to listen on WebSocket over TLS (`/tcp/<port>/tls/ws`).
    pub websocket_tls: Option<WebSocketTls>,
}

/// The driver of a swarm for `identity` in `namespace` (a light node's if `light`) with TCP and WebSocket
/// transports. Must be called inside a tokio runtime.
pub async fn build_driver(
    identity: &Identity,
    namespace: &Namespace,
    caps: ConnectionCaps,
    light: bool,
) -> Result<Driver, NetworkError> {
    build_driver_with(identity, namespace, caps, light, Transports::default()).await
}

/// Like [`build_driver`], and listening on WebRTC-direct addresses too
/// (`/ip4/.../udp/<port>/webrtc-direct`, which browsers dial without TLS) given a certificate.
pub async fn build_driver_with(
    identity: &Identity,
    namespace: &Namespace,
    caps: ConnectionCaps,
    light: bool,
    transports: Transports,
) -> Result<Driver, NetworkError> {
    let tls = transports.websocket_tls.as_ref().map(WebSocketTls::config).transpose()?;
    let transport = |e: BoxError| NetworkError::Transport(e);
    let swarm = SwarmBuilder::with_existing_identity(identity.to_libp2p())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| transport(Box::new(e)))?
        .with_other_transport(|key| match transports.webrtc {
            Some(WebRtcCertificate(certificate)) => OptionalTransport::some(
                libp2p_webrtc::tokio::Transport::new(key.clone(), certificate).map(
                    |(peer, connection), _| {
                        (peer, StreamMuxerBox::new(RemoteOpensFirst::new(connection)))
                    },
                ),
            ),
            None => OptionalTransport::none(),
        })
        .map_err(|e| transport(Box::new(e)))?
        .with_other_transport(|key| websocket(key, tls))
        .map_err(|e| transport(Box::new(e)))?
        .with_dns()
        .map_err(|e| transport(Box::new(e)))?
        .with_behaviour(|key| Behaviour::new(key, namespace, caps, light))
        .map_err(|e| transport(Box::new(e)))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(Driver::new(swarm, namespace, light))
}

/// WebSocket over TCP (and DNS names), with noise and yamux, taking no WebSocket message over
/// the wire limit: libp2p's default (256 MiB) lets a 15-byte frame header, sent before any
/// authentication, make the node reserve that much. Honest peers' messages are noise frames,
/// at most 64 KiB.
fn websocket(
    key: &libp2p::identity::Keypair,
    tls: Option<libp2p::websocket::tls::Config>,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, BoxError> {
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
    let mut websocket = libp2p::websocket::Config::new(libp2p::dns::tokio::Transport::system(tcp)?);
    websocket.set_max_data_size(MAX_MESSAGE_BYTES);
    if let Some(tls) = tls {
        websocket.set_tls_config(tls);
    }
    Ok(websocket
        .upgrade(libp2p::core::upgrade::Version::V1Lazy)
        .authenticate(noise::Config::new(key)?)
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
        .boxed())
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
