//! A cap on the incoming connections established from one IP address: libp2p's connection
//! limits count per peer id, which a client picks freely (a new identity per connection).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::ConnectionEstablished;
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

/// Refuses an incoming connection from an address that holds `cap` established ones already.
pub(crate) struct PerIpLimit {
    cap: u32,
    held: HashMap<IpAddr, u32>,
    from: HashMap<ConnectionId, IpAddr>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} holds {1} connections already, the most one address may")]
struct TooManyFromOneAddress(IpAddr, u32);

impl PerIpLimit {
    pub(crate) fn new(cap: u32) -> Self {
        Self { cap, held: HashMap::new(), from: HashMap::new() }
    }
}

/// The IP address in a multiaddr (TCP, WebSocket and WebRTC-direct addresses all have one).
fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|part| match part {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip).to_canonical()),
        _ => None,
    })
}

impl NetworkBehaviour for PerIpLimit {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        // Counted once established (another behaviour may still refuse it).
        if let Some(ip) = ip_of(remote) {
            let held = self.held.get(&ip).copied().unwrap_or(0);
            if held >= self.cap {
                return Err(ConnectionDenied::new(TooManyFromOneAddress(ip, held)));
            }
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                connection_id,
                endpoint: ConnectedPoint::Listener { send_back_addr, .. },
                ..
            }) => {
                if let Some(ip) = ip_of(send_back_addr) {
                    *self.held.entry(ip).or_default() += 1;
                    self.from.insert(connection_id, ip);
                }
            }
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => {
                if let Some(ip) = self.from.remove(&connection_id)
                    && let Some(held) = self.held.get_mut(&ip)
                {
                    *held -= 1;
                    if *held == 0 {
                        self.held.remove(&ip);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
