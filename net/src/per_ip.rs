//! Fair shares of the incoming connections among addresses (an IPv4 address, or an IPv6 /64:
//! one host commonly holds a whole /64): libp2p's connection limits count per peer id, which a
//! client picks freely (a new identity per connection). An address may hold at most
//! `per_ip` connections established and [`PENDING_PER_IP`] in their handshake (refused before
//! the handshake costs anything), and once three quarters of all incoming connections are
//! taken, the rest go only to addresses holding fewer than an eighth of `per_ip`, so a few
//! addresses cannot take every connection from the others.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::ConnectionEstablished;
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, ListenFailure, NetworkBehaviour,
    THandler, THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use warpnet_stats_protocol::network_of;

/// The most incoming connections one address may hold in their handshake at once.
pub(crate) const PENDING_PER_IP: u32 = 8;

/// Refuses an incoming connection from an address that holds its share already.
pub(crate) struct PerIpLimit {
    per_ip: u32,
    incoming: u32,
    held: HashMap<IpAddr, u32>,
    from: HashMap<ConnectionId, IpAddr>,
    pending: HashMap<IpAddr, u32>,
    pending_from: HashMap<ConnectionId, IpAddr>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0} holds {1} connections already, its share")]
struct TooManyFromOneAddress(IpAddr, u32);

impl PerIpLimit {
    /// At most `per_ip` connections per address, of at most `incoming` in all.
    pub(crate) fn new(per_ip: u32, incoming: u32) -> Self {
        Self {
            per_ip,
            incoming,
            held: HashMap::new(),
            from: HashMap::new(),
            pending: HashMap::new(),
            pending_from: HashMap::new(),
        }
    }

    /// The most connections `ip`'s address may hold now.
    fn share(&self) -> u32 {
        let taken = self.from.len() as u64;
        if taken * 4 >= u64::from(self.incoming) * 3 {
            (self.per_ip / 8).max(1)
        } else {
            self.per_ip
        }
    }

    fn forget_pending(&mut self, connection: ConnectionId) {
        if let Some(ip) = self.pending_from.remove(&connection) {
            release(&mut self.pending, ip);
        }
    }
}

/// One connection fewer held by `ip`.
fn release(held: &mut HashMap<IpAddr, u32>, ip: IpAddr) {
    if let Some(count) = held.get_mut(&ip) {
        *count -= 1;
        if *count == 0 {
            held.remove(&ip);
        }
    }
}

/// The address a multiaddr is counted by (TCP, WebSocket and WebRTC-direct addresses all have
/// one).
fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|part| match part {
        Protocol::Ip4(ip) => Some(network_of(IpAddr::V4(ip))),
        Protocol::Ip6(ip) => Some(network_of(IpAddr::V6(ip))),
        _ => None,
    })
}

impl NetworkBehaviour for PerIpLimit {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        // Refused before the handshake, if the address holds its share already.
        let Some(ip) = ip_of(remote) else { return Ok(()) };
        let held = self.held.get(&ip).copied().unwrap_or(0);
        let pending = self.pending.get(&ip).copied().unwrap_or(0);
        if held >= self.share() {
            return Err(ConnectionDenied::new(TooManyFromOneAddress(ip, held)));
        }
        if pending >= PENDING_PER_IP {
            return Err(ConnectionDenied::new(TooManyFromOneAddress(ip, pending)));
        }
        *self.pending.entry(ip).or_default() += 1;
        self.pending_from.insert(connection, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.forget_pending(connection);
        // Counted once established (another behaviour may still refuse it).
        if let Some(ip) = ip_of(remote) {
            let held = self.held.get(&ip).copied().unwrap_or(0);
            if held >= self.share() {
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
                if let Some(ip) = self.from.remove(&connection_id) {
                    release(&mut self.held, ip);
                }
            }
            FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) => {
                self.forget_pending(connection_id);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the limit as the swarm would: a connection from `remote` asks to start, then
    /// (if let) is established. Whether it was let in.
    fn connect(limit: &mut PerIpLimit, id: usize, remote: &str) -> bool {
        let (connection, remote) =
            (ConnectionId::new_unchecked(id), remote.parse::<Multiaddr>().expect("valid"));
        let local: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().expect("valid");
        if limit.handle_pending_inbound_connection(connection, &local, &remote).is_err() {
            return false;
        }
        let peer = PeerId::random();
        if limit.handle_established_inbound_connection(connection, peer, &local, &remote).is_err() {
            return false;
        }
        let endpoint = ConnectedPoint::Listener { local_addr: local, send_back_addr: remote };
        limit.on_swarm_event(FromSwarm::ConnectionEstablished(ConnectionEstablished {
            peer_id: peer,
            connection_id: connection,
            endpoint: &endpoint,
            failed_addresses: &[],
            other_established: 0,
        }));
        true
    }

    #[test]
    fn an_ipv6_network_shares_one_addresss_connections() {
        let mut limit = PerIpLimit::new(2, 4096);
        assert!(connect(&mut limit, 1, "/ip6/2001:db8::1/tcp/1"));
        assert!(connect(&mut limit, 2, "/ip6/2001:db8::ffff:2/tcp/1"));
        assert!(!connect(&mut limit, 3, "/ip6/2001:db8::3/tcp/1"), "the same /64");
        assert!(connect(&mut limit, 4, "/ip6/2001:db8:0:1::1/tcp/1"));
        // An IPv4 address mapped into IPv6 is that IPv4 address.
        assert!(connect(&mut limit, 5, "/ip4/10.0.0.1/tcp/1"));
        assert!(connect(&mut limit, 6, "/ip6/::ffff:10.0.0.1/tcp/1"));
        assert!(!connect(&mut limit, 7, "/ip4/10.0.0.1/tcp/2"));
    }

    #[test]
    fn the_last_quarter_of_connections_goes_to_addresses_holding_few() {
        // 16 in all, 8 per address (an eighth: 1) once 12 are taken.
        let mut limit = PerIpLimit::new(8, 16);
        let taken = (0..20).filter(|&i| connect(&mut limit, i, "/ip4/10.0.0.1/tcp/1")).count();
        assert_eq!(taken, 8);
        let more = (20..40).filter(|&i| connect(&mut limit, i, "/ip4/10.0.0.2/tcp/1")).count();
        assert_eq!(more, 4, "up to three quarters of all");
        // The rest: one each for addresses holding none.
        assert!(connect(&mut limit, 40, "/ip4/10.0.0.3/tcp/1"));
        assert!(!connect(&mut limit, 41, "/ip4/10.0.0.3/tcp/1"));
        assert!(connect(&mut limit, 42, "/ip4/10.0.0.4/tcp/1"));
    }

    #[test]
    fn an_address_holds_few_connections_in_their_handshake() {
        let mut limit = PerIpLimit::new(64, 4096);
        let local: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().expect("valid");
        let remote: Multiaddr = "/ip4/10.0.0.1/tcp/1".parse().expect("valid");
        let started = (0..20)
            .filter(|&i| {
                let connection = ConnectionId::new_unchecked(i);
                limit.handle_pending_inbound_connection(connection, &local, &remote).is_ok()
            })
            .count();
        assert_eq!(started, PENDING_PER_IP as usize);
        // One handshake fails: another may start.
        let error = libp2p::swarm::ListenError::Aborted;
        limit.on_swarm_event(FromSwarm::ListenFailure(ListenFailure {
            local_addr: &local,
            send_back_addr: &remote,
            error: &error,
            connection_id: ConnectionId::new_unchecked(0),
            peer_id: None,
        }));
        let again = ConnectionId::new_unchecked(99);
        assert!(limit.handle_pending_inbound_connection(again, &local, &remote).is_ok());
        let other: Multiaddr = "/ip4/10.0.0.2/tcp/1".parse().expect("valid");
        let elsewhere = ConnectionId::new_unchecked(100);
        assert!(limit.handle_pending_inbound_connection(elsewhere, &local, &other).is_ok());
    }
}
