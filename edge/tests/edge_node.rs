//! The edge node binary on loopback: in-process nodes reach each other through it over TCP and
//! WebSocket, two edge nodes mesh with `--bootstrap`, it serves its addresses and metrics over
//! HTTP, and SIGTERM stops it cleanly with its identity, WebRTC certificate and entries kept for
//! the next start.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use common::net::{WAIT, local, wait_for};
use common::*;
use futures::channel::oneshot;
use libp2p::Multiaddr;
use tokio::task::spawn_local;
use warpnet_stats::{Action, Difficulty, MemoryStore, Node, Peer, PeerConfig, PeerHandle, Rules};

/// A running edge node process and the lines it logged.
struct Edge {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Edge {
    fn start(data_dir: &Path, bootstrap: Option<&Multiaddr>) -> Self {
        Self::start_with(data_dir, bootstrap, &[])
    }

    /// Like [`Edge::start`], with more arguments.
    fn start_with(data_dir: &Path, bootstrap: Option<&Multiaddr>, more: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warpnet-stats-edge"));
        command
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/tcp/0/ws"])
            .args(["--listen", "/ip4/127.0.0.1/udp/0/webrtc-direct", "--http", "127.0.0.1:0"])
            .args(["--sync-interval", "1", "--difficulty", "8", "--http-header-timeout", "1"])
            .args(more)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped());
        if let Some(address) = bootstrap {
            command.arg("--bootstrap").arg(address.to_string());
        }
        let mut child = command.spawn().expect("edge node starts");
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

    /// A logged line containing `needle`, waiting for it if not logged yet.
    fn wait_line(&mut self, needle: &str) -> String {
        match self.seen.iter().find(|l| l.contains(needle)) {
            Some(line) => line.clone(),
            None => self.next_line(needle),
        }
    }

    /// The next new line containing `needle`.
    fn next_line(&mut self, needle: &str) -> String {
        loop {
            let line = self.lines.recv_timeout(WAIT).unwrap_or_else(|_| {
                panic!("no log line with {needle:?}; saw:\n{}", self.seen.join("\n"))
            });
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// The listening address it logged for `transport` ("tcp", "ws" or "webrtc-direct").
    fn address(&mut self, transport: &str) -> Multiaddr {
        let parse = |line: &String| {
            let address: Multiaddr = line.split("address=").nth(1)?.trim().parse().ok()?;
            let text = address.to_string();
            let kind = ["ws", "webrtc-direct"]
                .into_iter()
                .find(|kind| text.contains(&format!("/{kind}/")))
                .unwrap_or("tcp");
            (kind == transport).then_some(address)
        };
        if let Some(address) = self.seen.iter().find_map(parse) {
            return address;
        }
        loop {
            let line = self.next_line("listening address=");
            if let Some(address) = parse(&line) {
                return address;
            }
        }
    }

    /// `GET path` from its HTTP server: the status line and the body.
    fn get(&mut self, path: &str) -> (String, String) {
        let (head, body) = self.get_with_head(path);
        (head.lines().next().unwrap_or_default().to_owned(), body)
    }

    /// Its HTTP server's `host:port`.
    fn http(&mut self) -> String {
        let line = self.wait_line("serving the demo page");
        let url = line.split("url=http://").nth(1).expect("a url").trim().trim_end_matches('/');
        url.to_owned()
    }

    /// `GET path` from its HTTP server: the status line and headers, and the body.
    fn get_with_head(&mut self, path: &str) -> (String, String) {
        let url = self.http();
        let mut stream = std::net::TcpStream::connect(&url).expect("connects");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {url}\r\nConnection: close\r\n\r\n")
            .expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response read");
        let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        (head.to_ascii_lowercase(), body.to_owned())
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("edge node exits");
        assert!(exit.success(), "exit status {exit}");
        self.wait_line("stopped; the store is closed");
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Browserless {
    node: Rc<Node<MemoryStore>>,
    handle: PeerHandle,
    _stop: oneshot::Sender<()>,
}

async fn client(edge: Multiaddr) -> Browserless {
    let rules = Rules { difficulty: Difficulty(8), ..Rules::DEFAULT };
    let node = Rc::new(Node::open(namespace(), rules, MemoryStore::new()).await.expect("opens"));
    let config = PeerConfig { sync_interval: Duration::from_secs(1), ..PeerConfig::default() };
    let peer = Peer::new(node.clone(), config).await.expect("swarm");
    let handle = peer.handle();
    let (stop, stopped) = oneshot::channel::<()>();
    spawn_local(peer.run(async move {
        let _ = stopped.await;
    }));
    handle.keep_connected(edge);
    Browserless { node, handle, _stop: stop }
}

#[test]
fn nodes_meet_through_edge_nodes_that_restart_with_their_identity_and_entries() {
    local(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut first = Edge::start(&dir.path().join("first"), None);
        let first_tcp = first.address("tcp");
        let first_webrtc = first.address("webrtc-direct");
        let mut second = Edge::start(&dir.path().join("second"), Some(&first_tcp));
        let second_ws = second.address("ws");
        second.wait_line("connected");

        // a talks TCP to the first edge node, b WebSocket to the second; the edge nodes mesh.
        let a = client(first_tcp.clone()).await;
        let b = client(second_ws).await;
        wait_for("a connected", || !a.handle.peers().is_empty()).await;
        wait_for("b connected", || !b.handle.peers().is_empty()).await;
        a.node.submit(tweet("t"), Action::Like(user("ann"))).await.expect("commits");
        b.node.submit(tweet("t"), Action::Like(user("bob"))).await.expect("commits");
        wait_for("both likes everywhere", || {
            a.node.stats(&tweet("t")).likes == 2 && b.node.stats(&tweet("t")).likes == 2
        })
        .await;

        // Over HTTP: its addresses (the browser ones first) and its metrics.
        let (status, body) = first.get("/bootstrap.json");
        assert!(status.contains("200"), "{status}");
        let id = first_tcp.to_string().rsplit('/').next().expect("peer id").to_owned();
        let head = format!("{{\"peerId\":\"{id}\",\"namespace\":\"mainnet\",\"addresses\":[\"");
        assert!(body.starts_with(&head), "{body}");
        assert!(body.contains(&format!("\"{first_webrtc}\"")), "{body}");
        assert!(body.find("/webrtc-direct/") < body.find("/tcp/0/p2p").or(Some(usize::MAX)));
        let (status, metrics) = first.get("/metrics");
        assert!(status.contains("200"), "{status}");
        let value = |name: &str| -> u64 {
            let line = metrics.lines().find(|l| l.starts_with(&format!("{name} ")));
            let value = line.and_then(|l| l.rsplit(' ').next()?.parse().ok());
            value.unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
        };
        assert_eq!(value("warpnet_stats_connected_peers"), 2, "a client and the other edge node");
        let received = value("warpnet_stats_gossip_entries_total")
            + value("warpnet_stats_synced_entries_total");
        assert_eq!(received, 2, "both likes were merged once");
        assert_eq!(value("warpnet_stats_light_unsupported_total"), 0, "both speak light/2");
        assert!(metrics.contains("warpnet_stats_libp2p_swarm_connections_established_total"));
        assert!(first.get("/no-such-file").0.contains("404"));
        // Every answer keeps browsers from sniffing, framing, and loading from elsewhere.
        for path in ["/", "/metrics", "/no-such-file"] {
            let (head, _) = first.get_with_head(path);
            for header in [
                "x-content-type-options: nosniff",
                "x-frame-options: deny",
                "content-security-policy: default-src 'self'; script-src 'self' 'wasm-unsafe-eval'",
            ] {
                assert!(head.contains(header), "{path}: no {header:?} in\n{head}");
            }
        }

        // SIGTERM: a clean exit; on restart, the same id, WebRTC certificate and entries.
        first.terminate();
        let mut first = Edge::start(&dir.path().join("first"), None);
        let opened = first.wait_line("opened the store");
        assert!(opened.contains(&id), "{opened}");
        assert!(opened.contains("entries=2"), "{opened}");
        let certhash =
            |address: &Multiaddr| address.to_string().split("/certhash/").nth(1).map(String::from);
        assert_eq!(certhash(&first.address("webrtc-direct")), certhash(&first_webrtc));
        second.terminate();
        first.terminate();
    });
}

#[test]
fn the_data_dir_and_the_files_holding_secrets_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).expect("exists").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().expect("temp dir");
    // A new data dir: made private.
    let fresh = dir.path().join("fresh");
    let mut edge = Edge::start(&fresh, None);
    edge.address("tcp");
    edge.terminate();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("store.redb")), 0o600);
    assert_eq!(mode(&fresh.join("webrtc.pem")), 0o600);
    // One that others could read, as an older version or a careless copy left it: narrowed,
    // with a warning each, and the node starts with the identity and entries it held.
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    set(&fresh, 0o755);
    set(&fresh.join("store.redb"), 0o644);
    set(&fresh.join("webrtc.pem"), 0o644);
    let mut edge = Edge::start(&fresh, None);
    edge.address("tcp");
    let narrowed = edge.seen.iter().filter(|line| line.contains("open to other users")).count();
    assert_eq!(narrowed, 3, "{}", edge.seen.join("\n"));
    edge.terminate();
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("store.redb")), 0o600);
    assert_eq!(mode(&fresh.join("webrtc.pem")), 0o600);
}

#[test]
fn an_http_client_that_does_not_send_its_request_in_time_is_hung_up_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut edge = Edge::start(&dir.path().join("edge"), None);
    let url = edge.http();
    // Silent, or stalled halfway through the headers: hung up on after the timeout (1 s here).
    for sent in ["", "GET / HTTP/1.1\r\nHost: x\r\n"] {
        let mut stream = std::net::TcpStream::connect(&url).expect("connects");
        stream.write_all(sent.as_bytes()).expect("sent");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout set");
        let mut rest = Vec::new();
        let read = stream.read_to_end(&mut rest);
        // Closed by the node (end of stream, or a reset), not this read's 10 s running out.
        let timed_out = matches!(&read, Err(e) if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ));
        assert!(!timed_out, "still open after 10 s: {read:?}");
    }
    // A request sent in time is answered, and the connection closed after it.
    let (status, _) = edge.get("/bootstrap.json");
    assert!(status.contains("200"), "{status}");
}

/// A TCP connection to `url` from the loopback address `127.0.0.{host}` (clients at many
/// addresses, on one machine).
fn connect_from(host: u8, url: &str) -> std::net::TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("buffer size");
        socket.bind(format!("127.0.0.{host}:0").parse().expect("address")).expect("bound");
        let stream = socket.connect(url.parse().expect("address")).await.expect("connects");
        let stream = stream.into_std().expect("std");
        stream.set_nonblocking(false).expect("blocking");
        stream
    })
}

/// Whether the server closed `stream` within `within` (reading what it sent meanwhile), and
/// how many bytes it sent.
fn closed_within(stream: &mut std::net::TcpStream, within: Duration) -> (bool, usize) {
    stream.set_read_timeout(Some(within)).expect("timeout set");
    let mut sink = [0; 65536];
    let mut read = 0;
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return (true, read),
            Ok(n) => read += n,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return (true, read);
            }
            Err(_) => return (false, read),
        }
    }
}

#[test]
fn http_connections_are_shared_per_address_and_beyond_256_wait_until_one_is_done() {
    let dir = tempfile::tempdir().expect("temp dir");
    let more = ["--http-header-timeout", "60"];
    let mut edge = Edge::start_with(&dir.path().join("edge"), None, &more);
    let url = edge.http();
    // One address holds 16 connections; its 17th is closed at once.
    let mut silent: Vec<std::net::TcpStream> = (0..16).map(|_| connect_from(2, &url)).collect();
    let mut more_of_it = connect_from(2, &url);
    let closed = closed_within(&mut more_of_it, Duration::from_secs(5));
    assert_eq!(closed, (true, 0), "beyond its share");
    // Silent clients (each holding a connection while it has time to send its headers) from 11
    // more addresses: three quarters of the 256 are taken...
    silent
        .extend((3..14).flat_map(|host| (0..16).map(move |_| host)).map(|h| connect_from(h, &url)));
    // ...so the last quarter goes to addresses holding few: not to one holding 16 already,
    let mut heavy = connect_from(3, &url);
    assert_eq!(closed_within(&mut heavy, Duration::from_secs(5)), (true, 0), "holds many");
    // but to 32 others, two each.
    silent.extend((20..52).flat_map(|host| [host, host]).map(|h| connect_from(h, &url)));
    // The next one (at another address) connects (the listener's backlog) but is not served...
    let mut waiting = connect_from(60, &url);
    write!(waiting, "GET /bootstrap.json HTTP/1.1\r\nHost: {url}\r\nConnection: close\r\n\r\n")
        .expect("request sent");
    waiting.set_read_timeout(Some(Duration::from_secs(1))).expect("timeout set");
    let mut first = [0; 1];
    let read = waiting.read(&mut first);
    assert!(read.is_err(), "answered beyond the cap: {read:?}");
    // ...until one of them hangs up.
    drop(silent.pop());
    waiting.set_read_timeout(Some(WAIT)).expect("timeout set");
    let mut response = String::new();
    waiting.read_to_string(&mut response).expect("answered");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    drop(silent);
}

/// A client that asks for a large file and stops reading is hung up on once the response has
/// waited on it for the timeout (1 s here), rather than holding its connection for good.
#[test]
fn an_http_client_that_stops_reading_is_hung_up_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let www = dir.path().join("www");
    std::fs::create_dir(&www).expect("www made");
    std::fs::write(www.join("big.bin"), vec![7u8; 32 << 20]).expect("written");
    let www = www.to_str().expect("utf-8").to_owned();
    let mut edge = Edge::start_with(&dir.path().join("edge"), None, &["--www", &www]);
    let url = edge.http();
    let mut reader = connect_from(2, &url);
    write!(reader, "GET /big.bin HTTP/1.1\r\nHost: {url}\r\n\r\n").expect("request sent");
    // What the client does: reads nothing for a while (longer than the timeout), then all.
    std::thread::sleep(Duration::from_secs(3));
    let (closed, read) = closed_within(&mut reader, Duration::from_secs(20));
    assert!(closed, "still open");
    assert!(read < 32 << 20, "the whole file was sent ({read} bytes): not hung up on");
    let (status, _) = edge.get("/bootstrap.json");
    assert!(status.contains("200"), "{status}");
}

#[test]
fn links_out_of_the_served_directories_are_not_followed() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("temp dir");
    let (www, outside) = (dir.path().join("www"), dir.path().join("outside"));
    for d in [&www, &outside, &www.join("sub")] {
        std::fs::create_dir_all(d).expect("dir");
    }
    std::fs::write(www.join("index.html"), "the page").expect("written");
    std::fs::write(www.join("sub/inside.txt"), "inside").expect("written");
    std::fs::write(outside.join("secret.txt"), "secret").expect("written");
    std::fs::write(outside.join("index.html"), "secret").expect("written");
    symlink(outside.join("secret.txt"), www.join("secret.txt")).expect("link");
    symlink(&outside, www.join("out")).expect("link");
    symlink(www.join("sub/inside.txt"), www.join("alias.txt")).expect("link");
    let mut edge =
        Edge::start_with(&dir.path().join("edge"), None, &["--www", www.to_str().expect("utf-8")]);
    for (path, expected) in [
        ("/", Some("the page")),
        ("/sub/inside.txt", Some("inside")),
        ("/alias.txt", Some("inside")),
        ("/secret.txt", None),
        ("/%73ecret.txt", None),
        ("/out/secret.txt", None),
        ("/out/", None),
        ("/sub/../secret.txt", None),
    ] {
        let (status, body) = edge.get(path);
        match expected {
            Some(text) => {
                assert!(status.contains("200") && body == text, "{path}: {status} {body}")
            }
            None => {
                assert!(status.contains("404") || status.contains("400"), "{path}: {status} {body}")
            }
        }
    }
}
