//! The browser swarm: WebSocket (noise, yamux) and WebRTC-direct transports, on the page's
//! event loop. Browsers cannot listen; they dial edge nodes.

use std::time::Duration;

use libp2p::core::upgrade::Version;
use libp2p::{SwarmBuilder, Transport, noise, webrtc_websys, websocket_websys, yamux};

use super::Driver;
use super::behaviour::Behaviour;
use super::{BoxError, NetworkError};
use warpnet_stats_core::{Identity, Namespace};
use warpnet_stats_protocol::ConnectionCaps;

/// The driver of a swarm for `identity` in `namespace` (a light node's if `light`), dialling over WebSocket
/// and WebRTC-direct.
pub async fn build_driver(
    identity: &Identity,
    namespace: &Namespace,
    caps: ConnectionCaps,
    light: bool,
) -> Result<Driver, NetworkError> {
    let transport = |e: BoxError| NetworkError::Transport(e);
    let swarm = SwarmBuilder::with_existing_identity(identity.to_libp2p())
        .with_wasm_bindgen()
        .with_other_transport(|key| webrtc_websys::Transport::new(webrtc_websys::Config::new(key)))
        .map_err(|e| transport(Box::new(e)))?
        .with_other_transport(|key| {
            let noise = noise::Config::new(key).map_err(|e| Box::new(e) as BoxError)?;
            Ok::<_, BoxError>(
                websocket_websys::Transport::default()
                    .upgrade(Version::V1Lazy)
                    .authenticate(noise)
                    .multiplex(yamux::Config::default()),
            )
        })
        .map_err(|e| transport(Box::new(e)))?
        .with_behaviour(|key| Behaviour::new(key, namespace, caps, light))
        .map_err(|e| transport(Box::new(e)))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(Driver::new(swarm, namespace, light))
}
