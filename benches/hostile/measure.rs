//! The edge node process under test, and what is measured of it while an attack runs: its
//! resident memory and CPU time (from `/proc`), and how long `/metrics` takes to answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use libp2p::Multiaddr;

/// An edge node process (the binary built with this benchmark) and the lines it logged.
pub(crate) struct Edge {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Edge {
    /// Starts one on loopback (TCP, WebSocket, HTTP on free ports) with data in `dir` and
    /// `args`, at identity difficulty 0 unless they say otherwise. The binary is the one `EDGE`
    /// names (`scripts/bench --hostile` builds and names the release build, then the dev one),
    /// else the release build in target/ (`cargo build --release -p warpnet-stats-edge`).
    pub(crate) fn start_with(dir: &Path, args: &[&str]) -> Self {
        let binary = std::env::var("EDGE").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/target/release/warpnet-stats-edge").to_owned()
        });
        let difficulty: &[&str] =
            if args.contains(&"--difficulty") { &[] } else { &["--difficulty", "0"] };
        let mut child = Command::new(binary)
            .arg("--data-dir")
            .arg(dir)
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/tcp/0/ws"])
            .args(["--http", "127.0.0.1:0"])
            .args(difficulty)
            .args(args)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("edge node starts");
        let stderr = child.stderr.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines, seen: Vec::new() }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process still runs (a crash ends it).
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn wait_line(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(60)).expect("edge node logs");
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The listening address logged for `transport` ("tcp" or "ws").
    pub(crate) fn address(&mut self, transport: &str) -> Multiaddr {
        let parse = |line: &String| {
            let address: Multiaddr = line.split("address=").nth(1)?.trim().parse().ok()?;
            let ws = address.to_string().contains("/ws/");
            (ws == (transport == "ws")).then_some(address)
        };
        loop {
            if let Some(address) = self.seen.iter().find_map(parse) {
                return address;
            }
            let line = self.lines.recv_timeout(Duration::from_secs(60)).expect("edge node logs");
            self.seen.push(line);
        }
    }

    /// Its HTTP server's `host:port`.
    pub(crate) fn http(&mut self) -> String {
        let line = self.wait_line("serving the demo page");
        let url = line.split("url=http://").nth(1).expect("a url");
        url.trim().trim_end_matches('/').to_owned()
    }

    /// The lines of its `/metrics` that start with `prefix`.
    /// What it took in and refused so far, from its `/metrics`: entries from gossip and from
    /// catch-up, catch-up requests held back, and drops by reason (those not zero).
    pub(crate) fn counters(&mut self) -> Vec<String> {
        let http = self.http();
        let body = get(&http, "/metrics").map(|(_, body)| body).unwrap_or_default();
        let wanted = ["gossip_entries", "synced_entries", "catch_up_waits", "dropped_total{"];
        body.lines()
            .filter_map(|line| line.strip_prefix("warpnet_stats_"))
            .filter(|line| wanted.iter().any(|w| line.starts_with(w)))
            .filter(|line| !line.ends_with(" 0"))
            .map(str::to_owned)
            .collect()
    }

    /// One of its own metrics (`warpnet_stats_{name}`, a counter's `_total` or a gauge) from
    /// its `/metrics`; 0 if absent.
    pub(crate) fn metric(&mut self, name: &str) -> f64 {
        let http = self.http();
        let body = get(&http, "/metrics").map(|(_, body)| body).unwrap_or_default();
        let prefix = format!("warpnet_stats_{name}");
        body.lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .filter_map(|rest| rest.strip_prefix("_total ").or_else(|| rest.strip_prefix(' ')))
            .find_map(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Stops it with SIGTERM and waits for it.
    pub(crate) fn terminate(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over HTTP/1.1 at `http` (`host:port`): the status line and the body.
fn get(http: &str, path: &str) -> std::io::Result<(String, String)> {
    let mut stream = std::net::TcpStream::connect(http)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((head.lines().next().unwrap_or_default().to_owned(), body.to_owned()))
}

/// What was measured of the edge node during one window.
pub(crate) struct Report {
    pub(crate) peak_rss_mib: f64,
    /// CPU time over wall time (1.0: one core busy).
    pub(crate) cpu: f64,
    /// How long each `/metrics` request took.
    pub(crate) metrics: Vec<Duration>,
    pub(crate) metrics_failed: usize,
}

/// Samples the edge node's memory every 20 ms and asks for `/metrics` every 50 ms, on a
/// thread of its own, until stopped.
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Report>,
}

impl Sampler {
    pub(crate) fn start(pid: u32, http: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, http) = (stop.clone(), http.to_owned());
        let thread = std::thread::spawn(move || {
            let (start, cpu_start) = (Instant::now(), cpu_seconds(pid));
            let mut report =
                Report { peak_rss_mib: 0.0, cpu: 0.0, metrics: Vec::new(), metrics_failed: 0 };
            let mut next_get = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                report.peak_rss_mib = report.peak_rss_mib.max(rss_mib(pid));
                if Instant::now() >= next_get {
                    next_get += Duration::from_millis(50);
                    let asked = Instant::now();
                    match get(&http, "/metrics") {
                        Ok((status, _)) if status.contains(" 200") => {
                            report.metrics.push(asked.elapsed());
                        }
                        _ => report.metrics_failed += 1,
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            report.cpu = (cpu_seconds(pid) - cpu_start) / start.elapsed().as_secs_f64();
            report
        });
        Self { stop, thread }
    }

    pub(crate) fn stop(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler")
    }
}

/// Resident memory of `pid` in MiB (`VmRSS`).
pub(crate) fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// CPU seconds `pid` has used, user and system (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are the 12th and
    // 13th of those.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The median, the 99th percentile and the largest of `samples` (zero if none).
pub(crate) fn percentile(samples: &[Duration]) -> (Duration, Duration, Duration) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at =
        |q: f64| sorted.get(((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied();
    (at(0.5).unwrap_or_default(), at(0.99).unwrap_or_default(), at(1.0).unwrap_or_default())
}

/// The memory a replica takes per entry, as this process's RSS grows while merging `writers`
/// x `tweets` entries (each writer's likes on tweets of its own, as in the gossip flood), with
/// the catch-up digest tree built.
pub(crate) fn replica_bytes_per_entry(writers: u8, tweets: usize) -> f64 {
    use crate::common::{namespace, replica, tweet};
    use warpnet_stats::{EntryKey, StatKind};
    let batches: Vec<_> = (0..writers)
        .map(|w| {
            let mut source = replica(w + 10);
            let keys: Vec<EntryKey> = (0..tweets)
                .map(|i| {
                    let liked =
                        source.increment(&tweet(&format!("flood-{w}-{i}")), StatKind::Likes);
                    liked.expect("within the caps").key
                })
                .collect();
            source.sealed(&keys)
        })
        .collect();
    let mut target = replica(1);
    let before = rss_mib(std::process::id());
    for batch in batches {
        target.merge(&namespace(), batch);
    }
    target.sync_digest();
    let grown = rss_mib(std::process::id()) - before;
    grown * 1024.0 * 1024.0 / target.len() as f64
}
