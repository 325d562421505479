//! The native swarm: TCP and WebSocket transports (noise, yamux), DNS, on tokio.

use std::time::Duration;

use libp2p::{Swarm, SwarmBuilder, noise, tcp, yamux};

use super::NetworkError;
use super::behaviour::Behaviour;
use crate::core::{Identity, Namespace};

/// A swarm for `identity` in `namespace`, with TCP and WebSocket transports. Must be called
/// inside a tokio runtime.
pub(crate) async fn build_swarm(
    identity: &Identity,
    namespace: &Namespace,
) -> Result<Swarm<Behaviour>, NetworkError> {
    let transport = |e: &dyn std::fmt::Display| NetworkError::Transport(e.to_string());
    let swarm = SwarmBuilder::with_existing_identity(identity.to_libp2p())
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
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
