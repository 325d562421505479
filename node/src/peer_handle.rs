//! A handle on a running [`Peer`]: what the app and the bindings call (dial, go offline,
//! watch, verify, read the network's state), through the state the peer shares with it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use libp2p::{Multiaddr, PeerId};
use web_time::Instant;

use super::Minting;
use warpnet_stats_core::TweetId;
use warpnet_stats_protocol::{NetworkStats, PeerInfo, Protocol, VerifyError};

#[cfg(doc)]
use super::peer::Peer;

/// Where the outcome of a tally check goes.
pub(super) type TallyCheck = oneshot::Sender<Result<bool, VerifyError>>;

/// What the peer shares with its handles.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) protocol: RefCell<Protocol>,
    /// Who waits for the tally check of a tweet ([`PeerHandle::verify`]).
    pub(super) verifying: RefCell<HashMap<TweetId, Vec<TallyCheck>>>,
    pub(super) listen_addrs: RefCell<Vec<Multiaddr>>,
    pub(super) minting: Cell<Minting>,
}

/// Talks to a running [`Peer`]: dial, disconnect, go offline, and read its state.
#[derive(Clone)]
pub struct PeerHandle {
    pub(super) id: PeerId,
    pub(super) shared: Rc<Shared>,
    pub(super) wake: mpsc::UnboundedSender<()>,
}

impl std::fmt::Debug for PeerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerHandle").field("id", &self.id).finish_non_exhaustive()
    }
}

impl PeerHandle {
    /// The peer's id.
    pub fn peer_id(&self) -> PeerId {
        self.id
    }

    fn with_protocol(&self, change: impl FnOnce(&mut Protocol, Instant)) {
        change(&mut self.shared.protocol.borrow_mut(), Instant::now());
        let _ = self.wake.unbounded_send(());
    }

    /// Dials `address` once (not while a dial to it is in flight, nor offline).
    pub fn dial(&self, address: Multiaddr) {
        self.with_protocol(|protocol, now| protocol.dial(address, now));
    }

    /// Keeps a connection to `address` (which should end in `/p2p/<id>`): dials it now and
    /// again after every drop, waiting longer after each failure (0.5 s doubling to 30 s).
    pub fn keep_connected(&self, address: Multiaddr) {
        self.with_protocol(|protocol, now| protocol.keep_connected(address, now));
    }

    /// Closes every connection to `peer`.
    pub fn disconnect(&self, peer: PeerId) {
        self.with_protocol(|protocol, _| protocol.disconnect(peer));
    }

    /// Goes offline (cancels dials, closes every connection and dials nothing; the node keeps
    /// counting locally) or back online (redials the kept addresses at once, which catches up).
    pub fn set_online(&self, online: bool) {
        self.with_protocol(|protocol, now| protocol.set_online(online, now));
    }

    /// Whether the peer is online (see [`PeerHandle::set_online`]).
    pub fn online(&self) -> bool {
        self.shared.protocol.borrow().online()
    }

    /// What the network did so far.
    pub fn stats(&self) -> NetworkStats {
        self.shared.protocol.borrow().stats().clone()
    }

    /// Whether a catch-up with a peer completed, or (a light node) an edge node answered.
    pub fn synced(&self) -> bool {
        self.shared.protocol.borrow().stats().last_sync.is_some()
    }

    /// The addresses the peer listens on, each ending in its `/p2p/` id.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared.listen_addrs.borrow().clone()
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared.protocol.borrow().peers()
    }

    /// This light node shows `tweets` (see `PeerConfig::light`): their entries, or tallies
    /// of popular ones, are asked of its edge nodes, which push what changes on them from now
    /// on.
    pub fn watch(&self, tweets: &[TweetId]) {
        self.with_protocol(|protocol, now| protocol.watch(tweets, now));
    }

    /// Checks the counts this light node shows of `tweet` against every writer's signed
    /// entries, fetched from an edge node: `Ok(true)` if they make the edge node's tally (the
    /// counts are then shown as verified; a tweet shown from entries held here, and every
    /// tweet of a full node, is verified already), `Ok(false)` if they do not (after two more
    /// checks: [`Protocol::tally_checked`]), an error if the check could not be made.
    pub fn verify(
        &self,
        tweet: TweetId,
    ) -> impl Future<Output = Result<bool, VerifyError>> + use<> {
        let (sender, receiver) = oneshot::channel();
        self.shared.verifying.borrow_mut().entry(tweet.clone()).or_default().push(sender);
        self.with_protocol(|protocol, now| protocol.verify(tweet, now));
        async move { receiver.await.unwrap_or(Err(VerifyError::Stopped)) }
    }

    /// This light node no longer shows `tweets`: its edge nodes stop pushing them.
    pub fn unwatch(&self, tweets: &[TweetId]) {
        self.with_protocol(|protocol, now| protocol.unwatch(tweets, now));
    }

    /// How minting the node's identity proof goes (the node publishes once it is done).
    pub fn minting(&self) -> Minting {
        self.shared.minting.get()
    }
}
