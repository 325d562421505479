//! The edge node's command line: its flags, and the network settings they make.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use libp2p::Multiaddr;
use warpnet_stats::{
    Allowance, Caps, ConnectionCaps, Difficulty, IngestLimits, PeerConfig, Shares, WatchCaps,
    wire::{MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES},
};

/// A warpnet-stats edge node: browsers and other edge nodes connect to it; it stores every
/// entry of its namespace on disk and relays gossip between its peers.
#[derive(Debug, Parser)]
#[command(version, args_override_self = true)]
pub(crate) struct Args {
    /// Directory of the node's store (its identity key and every entry) and of its WebRTC
    /// certificate. Created if missing; the node keeps its id and addresses across restarts as
    /// long as this directory is kept.
    #[arg(long, default_value = "warpnet-edge-data")]
    pub(crate) data_dir: PathBuf,

    /// The namespace whose statistics this node keeps (its gossip topic is
    /// `warpnet/stats/2/<namespace>`).
    #[arg(long, default_value = "mainnet")]
    pub(crate) namespace: String,

    /// The namespace's caps: the most one writer adds to one tweet's statistic, as
    /// `stat=number` pairs (e.g. `likes=50,views=5000`); those not named keep their default.
    /// Every node of a namespace must use the same caps.
    #[arg(long, default_value_t = Caps::DEFAULT)]
    pub(crate) caps: Caps,

    /// The namespace's identity difficulty: the leading zero bits a writer's identity proof
    /// needs (each doubles its cost; 23 is about a second of one core). Every node of a
    /// namespace must use the same.
    #[arg(long, default_value_t = Difficulty::DEFAULT.0)]
    pub(crate) difficulty: u8,

    /// Addresses to listen on (repeatable): TCP for edge nodes, WebSocket and WebRTC-direct
    /// for browsers.
    #[arg(long = "listen", default_values = [
        "/ip4/0.0.0.0/tcp/4001",
        "/ip4/0.0.0.0/tcp/4002/ws",
        "/ip4/0.0.0.0/udp/4003/webrtc-direct",
    ])]
    pub(crate) listen: Vec<Multiaddr>,

    /// Other edge nodes to keep connected to, as multiaddrs ending in `/p2p/<id>`
    /// (repeatable). Redialled with backoff when the connection drops.
    #[arg(long = "bootstrap")]
    pub(crate) bootstrap: Vec<Multiaddr>,

    /// Seconds between catch-ups with every connected peer.
    #[arg(long, default_value_t = 30)]
    pub(crate) sync_interval: u64,

    /// The most incoming connections established at once; more are refused.
    #[arg(long, default_value_t = ConnectionCaps::default().incoming)]
    pub(crate) max_connections: u32,

    /// The most incoming connections in their handshake at once; more are refused.
    #[arg(long, default_value_t = ConnectionCaps::default().pending_incoming)]
    pub(crate) max_pending: u32,

    /// The most connections with any one peer; more are refused.
    #[arg(long, default_value_t = ConnectionCaps::default().per_peer)]
    pub(crate) max_per_peer: u32,

    /// The most incoming connections from one IP address; more are refused.
    #[arg(long, default_value_t = ConnectionCaps::default().per_ip)]
    pub(crate) max_per_ip: u32,

    /// What each peer may send (gossip it passes on and catch-up answers), in MiB per second
    /// (bursts of four seconds' worth, at least 1 MiB); gossip beyond is dropped
    /// (`rate_limited`) and fetched by catch-up, whose next request waits for the allowance.
    /// Stricter than the library's default (4): anyone may connect to an edge node.
    #[arg(long, default_value_t = 1.0)]
    pub(crate) intake_per_peer: f64,

    /// What all peers at one IP address (an IPv6 /64) may send, in MiB per second (library: 8).
    #[arg(long, default_value_t = 2.0)]
    pub(crate) intake_per_ip: f64,

    /// What all peers together may send, in MiB per second (library: 16).
    #[arg(long, default_value_t = 4.0)]
    pub(crate) intake_total: f64,

    /// New counters (ones this node did not hold: what its memory and store grow by) each
    /// peer's gossip and catch-up answers may add per second (bursts of two seconds' worth:
    /// the most work a peer can make this node do at once); beyond, its gossip is dropped
    /// (`rate_limited`) and its catch-up waits. Stricter than the library's default (20,000):
    /// anyone may connect to an edge node.
    #[arg(long, default_value_t = 2_000.0)]
    pub(crate) counters_per_peer: f64,

    /// New counters all peers together may add per second (bursts of two seconds' worth).
    #[arg(long, default_value_t = 10_000.0)]
    pub(crate) counters_total: f64,

    /// Catch-up and light-node answers and pushes to each peer, in items (digests, summaries,
    /// entries: the work of building them) per second (bursts of four seconds' worth);
    /// requests beyond get no answer. Each IP address (an IPv6 /64) may have twice this (at
    /// most the total), and the last quarter of the total is kept for peers and addresses that
    /// used less than half their share (so does every allowance here).
    #[arg(long, default_value_t = 25_000.0)]
    pub(crate) answers_per_peer: f64,

    /// Answers and pushes to all peers together, in items per second.
    #[arg(long, default_value_t = 50_000.0)]
    pub(crate) answers_total: f64,

    /// Signature checks the seals each peer sends ask for, per second (bursts of four seconds'
    /// worth, at least one message of the most seals): charged before any is checked; gossip
    /// beyond is dropped (`rate_limited`), a catch-up waits.
    #[arg(long, default_value_t = 5_000.0)]
    pub(crate) checks_per_peer: f64,

    /// Signature checks for all peers together, per second (about half a core).
    #[arg(long, default_value_t = 20_000.0)]
    pub(crate) checks_total: f64,

    /// The most tweets all light nodes at one IP address (an IPv6 /64) may watch here; beyond,
    /// a tweet is answered but not pushed (`watch_limit`).
    #[arg(long, default_value_t = WatchCaps::default().per_ip)]
    pub(crate) max_watches_per_ip: usize,

    /// The most watches (light node, tweet) kept in all (a few hundred bytes each); the last
    /// quarter only for addresses holding fewer than one light node's 4,096.
    #[arg(long, default_value_t = WatchCaps::default().total)]
    pub(crate) max_watches: usize,

    /// The most counters of any one remote writer this node keeps (4 per tweet it counts on);
    /// new ones beyond are dropped (`over_quota`). 0: no limit.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) writer_quota: usize,

    /// The most counters this node keeps in all (about a kilobyte of memory and half of disk
    /// each); new ones beyond are dropped (`over_quota`), the last tenth kept for writers
    /// holding few (a thousandth of it). 0: no limit.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) max_counters: usize,

    /// Address of the HTTP server: the demo page, the package, `/bootstrap.json` (this
    /// node's multiaddrs) and Prometheus `/metrics`. `off` serves nothing.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = http_address)]
    pub(crate) http: HttpAddress,

    /// Serve `/metrics` to any client, not only loopback ones.
    #[arg(long)]
    pub(crate) public_metrics: bool,

    /// Seconds an HTTP client may take to send its request's headers, or leave a response
    /// waiting for it to read more; then it is hung up on. (Each client address holds at most
    /// 16 connections, and a connection lasts at most two minutes.)
    #[arg(long, default_value_t = 10)]
    pub(crate) http_header_timeout: u64,

    /// Directory served at `/` (the demo page).
    #[arg(long, default_value = "www")]
    pub(crate) www: PathBuf,

    /// Directory served at `/pkg/` (the built npm package).
    #[arg(long, default_value = "pkg")]
    pub(crate) pkg: PathBuf,

    /// A PEM certificate chain (this node's certificate first) for WebSocket over TLS (listen
    /// on `/tcp/<port>/tls/ws`: what pages served over https dial, as `wss://`) and for HTTPS
    /// (the HTTP server then serves https only). With `--tls-key`.
    #[arg(long, requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,

    /// An address browsers and peers reach this node at (repeatable), e.g.
    /// `/dns4/stats.example.com/tcp/443/tls/ws` behind a proxy or NAT: told to peers, and
    /// what `/bootstrap.json` lists instead of the addresses listened on.
    #[arg(long = "advertise")]
    pub(crate) advertise: Vec<Multiaddr>,

    /// An origin whose pages may read `/bootstrap.json` (repeatable, e.g.
    /// `https://app.example.com`); `*` is any.
    #[arg(long = "cors-origin", default_values = ["*"])]
    pub(crate) cors_origin: Vec<String>,
}

impl Args {
    /// The network settings the flags give.
    pub(crate) fn peer_config(&self) -> PeerConfig {
        PeerConfig {
            sync_interval: Duration::from_secs(self.sync_interval),
            connections: ConnectionCaps {
                incoming: self.max_connections,
                pending_incoming: self.max_pending,
                per_peer: self.max_per_peer,
                per_ip: self.max_per_ip,
            },
            ingest: IngestLimits {
                intake: Shares {
                    per_peer: mib(self.intake_per_peer),
                    per_ip: mib(self.intake_per_ip),
                    total: mib(self.intake_total),
                },
                counters: shares(counters, self.counters_per_peer, self.counters_total),
                answers: shares(items, self.answers_per_peer, self.answers_total),
                checks: shares(checks, self.checks_per_peer, self.checks_total),
            },
            watches: WatchCaps { per_ip: self.max_watches_per_ip, total: self.max_watches },
            ..PeerConfig::default()
        }
    }

    /// The storage quota per remote writer, if any.
    pub(crate) fn writer_quota(&self) -> Option<usize> {
        (self.writer_quota > 0).then_some(self.writer_quota)
    }

    /// The storage budget, if any.
    pub(crate) fn max_counters(&self) -> Option<usize> {
        (self.max_counters > 0).then_some(self.max_counters)
    }
}

/// Where to serve HTTP, if anywhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpAddress(pub(crate) Option<SocketAddr>);

fn http_address(text: &str) -> Result<HttpAddress, String> {
    if text == "off" {
        return Ok(HttpAddress(None));
    }
    text.parse()
        .map(|a| HttpAddress(Some(a)))
        .map_err(|e| format!("{e} (expected e.g. 127.0.0.1:8080, or off)"))
}

/// An allowance of `per_second` answer items a second, in bursts of four seconds' worth.
fn items(per_second: f64) -> Allowance {
    Allowance { per_second, burst: 4.0 * per_second }
}

/// Each peer's share of `per_peer`, each address's of twice that and the node's of `total`
/// (an address's at most the node's), each made an allowance by `allowance`.
fn shares(allowance: fn(f64) -> Allowance, per_peer: f64, total: f64) -> Shares {
    Shares {
        per_peer: allowance(per_peer),
        per_ip: allowance((2.0 * per_peer).min(total)),
        total: allowance(total),
    }
}

/// An allowance of `per_second` signature checks a second, in bursts of four seconds' worth
/// (at least the seals of one message).
fn checks(per_second: f64) -> Allowance {
    Allowance { per_second, burst: (4.0 * per_second).max(MAX_BATCH_ENTRIES as f64) }
}

/// An allowance of `per_second` new counters a second, in bursts of two seconds' worth.
fn counters(per_second: f64) -> Allowance {
    Allowance { per_second, burst: 2.0 * per_second }
}

/// An allowance of `per_second` MiB a second, in bursts of four seconds' worth (at least one
/// message of the largest size).
fn mib(per_second: f64) -> Allowance {
    let per_second = per_second * 1024.0 * 1024.0;
    Allowance { per_second, burst: (4.0 * per_second).max(MAX_MESSAGE_BYTES as f64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    fn parse(flags: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("warpnet-stats-edge").chain(flags.iter().copied()))
            .expect("valid flags")
    }

    #[test]
    fn the_flags_defaults_are_the_librarys() {
        let args = parse(&[]);
        let config = args.peer_config();
        // Intake and new counters are stricter on an edge node, which anyone may connect to.
        let mib = |per_second: f64| Allowance {
            per_second: per_second * MIB,
            burst: 4.0 * per_second * MIB,
        };
        let each = |per_second: f64, burst: f64| Allowance { per_second, burst };
        let ingest = IngestLimits {
            intake: Shares { per_peer: mib(1.0), per_ip: mib(2.0), total: mib(4.0) },
            counters: Shares {
                per_peer: each(2_000.0, 4_000.0),
                per_ip: each(4_000.0, 8_000.0),
                total: each(10_000.0, 20_000.0),
            },
            answers: Shares {
                per_peer: each(25_000.0, 100_000.0),
                per_ip: each(50_000.0, 200_000.0),
                total: each(50_000.0, 200_000.0),
            },
            checks: Shares {
                per_peer: each(5_000.0, 20_000.0),
                per_ip: each(10_000.0, 40_000.0),
                total: each(20_000.0, 80_000.0),
            },
        };
        assert_eq!(config.ingest, ingest);
        assert_eq!(config.connections, ConnectionCaps::default());
        assert_eq!(args.writer_quota(), Some(100_000));
        assert_eq!(args.max_counters(), Some(1_000_000));
    }

    #[test]
    fn every_limit_flag_reaches_the_node() {
        let args = parse(&[
            "--intake-per-peer",
            "2",
            "--intake-per-ip",
            "3",
            "--intake-total",
            "0.125",
            "--answers-per-peer",
            "5",
            "--answers-total",
            "6",
            "--max-connections",
            "7",
            "--max-pending",
            "8",
            "--max-per-peer",
            "2",
            "--max-per-ip",
            "9",
            "--sync-interval",
            "5",
            "--writer-quota",
            "12",
            "--counters-per-peer",
            "10",
            "--counters-total",
            "20",
            "--checks-per-peer",
            "3000",
            "--checks-total",
            "4000",
        ]);
        let config = args.peer_config();
        let allowance =
            |rate: f64, burst: f64| Allowance { per_second: rate * MIB, burst: burst * MIB };
        let each = |per_second: f64, burst: f64| Allowance { per_second, burst };
        let ingest = IngestLimits {
            intake: Shares {
                per_peer: allowance(2.0, 8.0),
                per_ip: allowance(3.0, 12.0),
                // At least one message of the largest size at once.
                total: allowance(0.125, 1.0),
            },
            counters: Shares {
                per_peer: each(10.0, 20.0),
                per_ip: each(20.0, 40.0),
                total: each(20.0, 40.0),
            },
            answers: Shares {
                per_peer: each(5.0, 20.0),
                per_ip: each(6.0, 24.0),
                total: each(6.0, 24.0),
            },
            checks: Shares {
                per_peer: each(3_000.0, 12_000.0),
                per_ip: each(4_000.0, 16_000.0),
                total: each(4_000.0, 16_000.0),
            },
        };
        assert_eq!(config.ingest, ingest);
        let caps = ConnectionCaps { incoming: 7, pending_incoming: 8, per_peer: 2, per_ip: 9 };
        assert_eq!(config.connections, caps);
        assert_eq!(config.sync_interval, Duration::from_secs(5));
        assert_eq!(args.writer_quota(), Some(12));
        assert_eq!(parse(&["--writer-quota", "0"]).writer_quota(), None);
        // A flag given twice takes its last value (tests add to a base command line).
        assert_eq!(parse(&["--max-per-ip", "1", "--max-per-ip", "3"]).max_per_ip, 3);
    }
}
