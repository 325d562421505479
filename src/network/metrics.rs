//! Prometheus metrics of a native peer: libp2p's own (connections, gossipsub, identify, ping)
//! and the peer's [`NetworkStats`], in the text exposition format.

use std::sync::{Arc, Mutex};

use libp2p::metrics::{Metrics, Recorder};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::behaviour::BehaviourEvent;
use super::{NetworkStats, Peer, PeerHandle};
use crate::storage::Store;

/// The metrics of one peer, read at each scrape.
#[derive(Debug)]
pub struct NetworkMetrics {
    registry: Registry,
    snapshot: Arc<Mutex<Snapshot>>,
    handle: PeerHandle,
}

impl NetworkMetrics {
    /// Every metric, in the Prometheus text format.
    pub fn encode(&self) -> String {
        let snapshot = Snapshot { stats: self.handle.stats(), peers: self.handle.peers().len() };
        if let Ok(mut shared) = self.snapshot.lock() {
            *shared = snapshot;
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl<S: Store + 'static> Peer<S> {
    /// Starts recording metrics; read them with [`NetworkMetrics::encode`].
    pub fn metrics(&mut self) -> NetworkMetrics {
        let mut registry = Registry::with_prefix("warpnet_stats");
        let libp2p = Metrics::new(&mut registry);
        self.recorder = Some(Box::new(move |event| {
            if let libp2p::swarm::SwarmEvent::Behaviour(behaviour) = event {
                match behaviour {
                    BehaviourEvent::Gossipsub(event) => libp2p.record(event),
                    BehaviourEvent::Identify(event) => libp2p.record(event),
                    BehaviourEvent::Ping(event) => libp2p.record(event),
                    BehaviourEvent::Sync(_) => {}
                }
            }
            libp2p.record(event);
        }));
        let snapshot = Arc::<Mutex<Snapshot>>::default();
        registry.register_collector(Box::new(StatsCollector(snapshot.clone())));
        NetworkMetrics { registry, snapshot, handle: self.handle() }
    }
}

#[derive(Debug, Default)]
struct Snapshot {
    stats: NetworkStats,
    peers: usize,
}

/// The peer's own counters, as of the last [`NetworkMetrics::encode`].
#[derive(Debug)]
struct StatsCollector(Arc<Mutex<Snapshot>>);

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(snapshot) = self.0.lock() else { return Ok(()) };
        let stats = &snapshot.stats;
        let counters = [
            ("published_batches", "Batches of local changes published", stats.published_batches),
            ("published_entries", "Entries published", stats.published_entries),
            (
                "unpublished_entries",
                "Entries not published for want of peers",
                stats.unpublished_entries,
            ),
            ("accepted_messages", "Gossip messages accepted", stats.accepted_messages),
            ("gossip_entries", "Entries from gossip that changed a counter", stats.gossip_entries),
            (
                "synced_entries",
                "Entries from catch-up that changed a counter",
                stats.synced_entries,
            ),
            ("relayed_entries", "Entries from catch-up passed on by gossip", stats.relayed_entries),
            ("syncs_completed", "Catch-ups completed", stats.syncs_completed),
            ("syncs_failed", "Catch-ups failed", stats.syncs_failed),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let dropped = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "dropped",
            "Messages or entries from peers refused, by reason",
            None,
            dropped.metric_type(),
        )?;
        for (reason, count) in &stats.dropped {
            ConstCounter::new(*count).encode(family.encode_family(&[("reason", *reason)])?)?;
        }
        for (name, help, value) in [
            ("pending_entries", "Local changes no peer has yet", stats.pending_entries as i64),
            ("connected_peers", "Peers connected now", snapshot.peers as i64),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
