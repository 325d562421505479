//! The libp2p driver of the network protocol: the [`Driver`] translates between the sans-io
//! [`Protocol`](warpnet_stats_protocol::Protocol), which holds every policy, and a swarm (one
//! behaviour: gossip of signed batches, the catch-up and light request-response protocols,
//! identify, ping, connection limits). Transports are built per platform: TCP, WebSocket and
//! WebRTC-direct natively (with Prometheus metrics), WebSocket and WebRTC-direct in the browser.
//! It knows nothing of the store or the runtime, which composes the protocol and the driver with
//! a node.

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
mod waiting;

#[cfg(target_arch = "wasm32")]
pub use browser::build_driver;
pub use codec::WRITE_CHUNK;
pub use driver::{Driver, Event};
#[cfg(not(target_arch = "wasm32"))]
pub use metrics::NetworkMetrics;
#[cfg(not(target_arch = "wasm32"))]
pub use native::{Transports, WebRtcCertificate, WebSocketTls};
#[cfg(not(target_arch = "wasm32"))]
pub use native::{build_driver, build_driver_with};

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
