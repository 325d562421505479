//! The two honest peers: one likes, the other sees the like arrive. Each runs on a thread (and
//! runtime) of its own, as it would on a machine of its own: what slows one (merging the
//! flood the edge node relays to both) does not stall the other's sockets.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use libp2p::Multiaddr;
use warpnet_stats::{Action, MemoryStore, PeerConfig, StatKind};

use crate::common::net::{Running, local, wait_for};
use crate::common::{tweet, user};

/// The honest peers, connected to the edge node.
pub(crate) struct Honest {
    likes: tokio::sync::mpsc::UnboundedSender<String>,
    seen: mpsc::Receiver<(String, Instant)>,
    stop: Option<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Honest {
    /// Starts both, each keeping connected to the edge node at `tcp`, and returns once both
    /// have caught up with it.
    pub(crate) fn start(tcp: &Multiaddr) -> Self {
        let (likes, to_like) = tokio::sync::mpsc::unbounded_channel::<String>();
        let (saw, seen) = mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, synced) = mpsc::channel();
        let peer = |tcp: Multiaddr, ready: mpsc::Sender<()>, work: Work| {
            std::thread::spawn(move || {
                local(async move {
                    let config = PeerConfig {
                        sync_interval: Duration::from_secs(30),
                        ..PeerConfig::default()
                    };
                    let rules = super::round2::rules();
                    let peer = Running::start_ruled(MemoryStore::new(), &[], config, rules).await;
                    peer.handle.keep_connected(tcp);
                    let handle = peer.handle.clone();
                    wait_for("an honest peer connected", || handle.stats().syncs_completed >= 1)
                        .await;
                    let _ = ready.send(());
                    match work {
                        Work::Like(mut to_like) => {
                            while let Some(id) = to_like.recv().await {
                                let _ = peer
                                    .node
                                    .submit(tweet(&id), Action::Like(user("honest")))
                                    .await;
                            }
                        }
                        Work::See(saw, stopped) => {
                            peer.node.on_commit(move |changes, _| {
                                for key in changes.keys().filter(|k| k.stat == StatKind::Likes) {
                                    let _ = saw.send((key.tweet.to_string(), Instant::now()));
                                }
                            });
                            let _ = stopped.await;
                        }
                    }
                    peer.stop().await;
                })
            })
        };
        let threads = vec![
            peer(tcp.clone(), ready.clone(), Work::Like(to_like)),
            peer(tcp.clone(), ready, Work::See(saw, stopped)),
        ];
        for _ in 0..2 {
            synced.recv_timeout(Duration::from_secs(60)).expect("honest peers connected");
        }
        Self { likes, seen, stop: Some(stop), threads }
    }

    /// Likes tweet `id` on the one and returns when the other saw it (`None`: not by
    /// `deadline`).
    pub(crate) fn like(&self, id: &str, deadline: Instant) -> Option<Instant> {
        self.likes.send(id.to_owned()).ok()?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (seen, at) = self.seen.recv_timeout(left).ok()?;
            if seen == id {
                return Some(at);
            }
        }
    }

    /// Stops both.
    pub(crate) fn stop(mut self) {
        drop(self.likes);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for thread in self.threads {
            thread.join().expect("honest peer thread");
        }
    }
}

/// What an honest peer does once connected.
enum Work {
    Like(tokio::sync::mpsc::UnboundedReceiver<String>),
    See(mpsc::Sender<(String, Instant)>, oneshot::Receiver<()>),
}
