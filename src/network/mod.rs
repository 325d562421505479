//! The network: one libp2p behaviour (gossip of signed batches, the catch-up protocol,
//! identify, ping) and the driver that connects it to a node's runtime. Transports are built
//! per platform: TCP, WebSocket and WebRTC-direct natively (with Prometheus metrics), WebSocket and WebRTC-direct in the browser.

mod behaviour;
#[cfg(target_arch = "wasm32")]
mod browser;
mod codec;
#[cfg(not(target_arch = "wasm32"))]
mod metrics;
#[cfg(not(target_arch = "wasm32"))]
mod native;
mod peer;

#[cfg(target_arch = "wasm32")]
use browser::build_swarm;
#[cfg(target_arch = "wasm32")]
pub(crate) use codec::WRITE_CHUNK;
#[cfg(not(target_arch = "wasm32"))]
pub use metrics::NetworkMetrics;
#[cfg(not(target_arch = "wasm32"))]
pub use native::WebRtcCertificate;
#[cfg(not(target_arch = "wasm32"))]
use native::build_swarm;
pub use peer::{NetworkStats, Peer, PeerConfig, PeerHandle, PeerInfo};

/// Why the swarm could not be built.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A transport could not be set up.
    #[error("transport: {0}")]
    Transport(String),
    /// The behaviour could not be built.
    #[error("behaviour: {0}")]
    Behaviour(String),
}
