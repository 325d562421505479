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
use super::driver::Driver;
use warpnet_stats_protocol::{DropReason, NetworkStats};

/// Reads the node's statistics and the number of connected peers at a scrape.
pub(crate) type ReadStats = Box<dyn Fn() -> (NetworkStats, usize)>;

/// The metrics of one node, read at each scrape.
pub struct NetworkMetrics {
    registry: Registry,
    snapshot: Arc<Mutex<Snapshot>>,
    read: ReadStats,
}

impl std::fmt::Debug for NetworkMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkMetrics").finish_non_exhaustive()
    }
}

impl NetworkMetrics {
    /// Starts recording the driver's swarm events; `read` supplies the node's own figures.
    pub fn record(driver: &mut Driver, read: ReadStats) -> Self {
        let mut registry = Registry::with_prefix("warpnet_stats");
        let libp2p = Metrics::new(&mut registry);
        driver.recorder = Some(Box::new(move |event| {
            if let libp2p::swarm::SwarmEvent::Behaviour(behaviour) = event {
                match behaviour {
                    BehaviourEvent::Gossipsub(event) => libp2p.record(event),
                    BehaviourEvent::Identify(event) => libp2p.record(event),
                    BehaviourEvent::Ping(event) => libp2p.record(event),
                    BehaviourEvent::Sync(_)
                    | BehaviourEvent::Light(_)
                    | BehaviourEvent::Limits(_)
                    | BehaviourEvent::PerIp(_) => {}
                }
            }
            libp2p.record(event);
        }));
        let snapshot = Arc::<Mutex<Snapshot>>::default();
        registry.register_collector(Box::new(StatsCollector(snapshot.clone())));
        Self { registry, snapshot, read }
    }

    /// Every metric, in the Prometheus text format.
    pub fn encode(&self) -> String {
        let (stats, peers) = (self.read)();
        let snapshot = Snapshot { stats, peers };
        if let Ok(mut shared) = self.snapshot.lock() {
            *shared = snapshot;
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
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
            (
                "stale_messages",
                "Valid gossip messages with nothing new, not relayed",
                stats.stale_messages,
            ),
            ("gossip_entries", "Entries from gossip that changed a counter", stats.gossip_entries),
            (
                "synced_entries",
                "Entries from catch-up that changed a counter",
                stats.synced_entries,
            ),
            ("relayed_entries", "Entries from catch-up passed on by gossip", stats.relayed_entries),
            ("syncs_completed", "Catch-ups completed", stats.syncs_completed),
            ("syncs_failed", "Catch-ups failed", stats.syncs_failed),
            (
                "catch_up_waits",
                "Catch-up requests held back by an intake allowance",
                stats.catch_up_waits,
            ),
            ("dials", "Dials started", stats.dials),
            ("dials_timed_out", "Dials given up after the dial timeout", stats.dials_timed_out),
            ("light_pushes", "Pushes sent to light nodes", stats.light_pushes),
            ("received_bytes", "Bytes of messages received from peers", stats.received_bytes),
            (
                "late_messages",
                "Gossip merged after the gossip cache's time, relayed as this node's own",
                stats.late_messages,
            ),
            (
                "unforwarded_messages",
                "Accepted gossip the gossip cache no longer held to forward",
                stats.unforwarded_messages,
            ),
            (
                "light_unsupported",
                "Light requests refused by edge nodes without /warpnet/stats-light/2",
                stats.light_unsupported,
            ),
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
        for reason in DropReason::ALL {
            let count = ConstCounter::new(stats.dropped(reason));
            count.encode(family.encode_family(&[("reason", reason.as_str())])?)?;
        }
        for (name, help, value) in [
            ("pending_entries", "Local changes no peer has yet", stats.pending_entries as i64),
            ("connected_peers", "Peers connected now", snapshot.peers as i64),
            (
                "watches",
                "Tweets watched by the light nodes served, per light node",
                stats.watches as i64,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}
