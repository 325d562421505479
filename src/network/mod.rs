//! The network, in two parts that know nothing of the runtime or the store: [`protocol`], a
//! deterministic state machine holding every policy (sans-io, time passed in), and the libp2p
//! driver that translates between it and a swarm (one behaviour: gossip of signed batches, the
//! catch-up request-response protocol, identify, ping). Transports are built per platform: TCP,
//! WebSocket and WebRTC-direct natively (with Prometheus metrics), WebSocket and WebRTC-direct
//! in the browser. The runtime composes the protocol and the driver with a node.

mod behaviour;
#[cfg(target_arch = "wasm32")]
mod browser;
mod codec;
mod driver;
#[cfg(not(target_arch = "wasm32"))]
mod metrics;
#[cfg(not(target_arch = "wasm32"))]
mod native;
mod per_ip;
pub(crate) mod protocol;
mod waiting;

#[cfg(target_arch = "wasm32")]
pub(crate) use browser::build_swarm;
#[cfg(target_arch = "wasm32")]
pub(crate) use codec::WRITE_CHUNK;
pub(crate) use driver::{Driver, Event};
#[cfg(not(target_arch = "wasm32"))]
pub use metrics::NetworkMetrics;
#[cfg(not(target_arch = "wasm32"))]
pub use native::{Transports, WebRtcCertificate, WebSocketTls};
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::{build_swarm, build_swarm_with};

/// A boxed error from a library underneath.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the network could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// A transport or the behaviour (gossipsub's configuration) could not be set up.
    #[error("cannot set up the swarm")]
    Transport(#[source] BoxError),
    /// Listening on an address failed.
    #[error("cannot listen on {address}")]
    Listen {
        /// The address.
        address: libp2p::Multiaddr,
        /// Why.
        #[source]
        source: libp2p::TransportError<std::io::Error>,
    },
    /// A WebRTC certificate could not be made or read.
    #[error("WebRTC certificate")]
    Certificate(#[source] BoxError),
    /// A TLS certificate chain or key could not be read or used.
    #[error("TLS certificate")]
    Tls(#[source] BoxError),
}
