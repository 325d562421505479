//! The network: one libp2p behaviour (gossip of signed batches, the catch-up protocol,
//! identify, ping) and the driver that connects it to a node's runtime. Transports are built
//! per platform (native: TCP and WebSocket).

mod behaviour;
mod codec;
mod native;
mod peer;

pub use native::NetworkError;
pub use peer::{NetworkStats, Peer, PeerConfig, PeerHandle, PeerInfo};
