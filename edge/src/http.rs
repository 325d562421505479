//! The edge node's HTTP server (HTTPS given a certificate): the demo page (`/`), the npm
//! package (`/pkg/`), this node's multiaddrs and namespace (`/bootstrap.json`, how a page finds
//! its edge node and the network to join, readable by the pages of the origins allowed) and
//! Prometheus `/metrics` (to loopback clients only, unless `--public-metrics`). Every response carries
//! headers that keep browsers from sniffing types, framing the page or loading scripts from
//! elsewhere. The server runs on two threads of its own, so a busy node never delays a page; the
//! peer's state lives on the node's thread, which handlers ask through a channel, serving the
//! last answer instead if it does not come within [`ASK_WITHIN`] (the node is busy).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio_rustls::rustls;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_service::Service;
use warpnet_stats::{Namespace, NetworkMetrics, PeerHandle};

/// What is served: two directories, and the namespace named in `/bootstrap.json`.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) www: PathBuf,
    pub(crate) pkg: PathBuf,
    pub(crate) namespace: Namespace,
    /// Whether `/metrics` answers clients other than loopback ones.
    pub(crate) public_metrics: bool,
    /// How long a client may take to send a request's headers once connected, and may leave
    /// a response waiting for it to take more (a client that stops reading is hung up on).
    pub(crate) header_timeout: Duration,
    /// The addresses `/bootstrap.json` lists (the listened ones if none).
    pub(crate) advertised: Vec<Multiaddr>,
    /// The origins whose pages may read `/bootstrap.json` (`*`: any).
    pub(crate) cors_origins: Vec<String>,
    /// Serve HTTPS with this configuration (else plain HTTP).
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
}

/// An HTTPS server's configuration from a PEM certificate chain and private key.
pub(crate) fn tls_config(chain: &[u8], key: &[u8]) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("--tls-key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("--tls-cert and --tls-key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A connection's bytes, over TLS or not.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The most HTTP connections served at once; more wait in the listener's backlog.
const MAX_CONNECTIONS: usize = 256;

/// The most HTTP connections one client address (an IPv6 /64 counting as one) holds at once;
/// beyond, a new one is closed at once, so a few addresses cannot take every connection. Once
/// three quarters of [`MAX_CONNECTIONS`] are held, an address holding [`FEW`] already gets no
/// more: the last quarter is for addresses holding few.
const MAX_PER_ADDRESS: usize = 16;
const FEW: usize = 2;

/// The most a connection buffers of a request or a response: a client that reads slowly holds
/// no more of the node's memory than this.
const HTTP_BUFFER: usize = 64 << 10;

/// The most of a response the kernel buffers for a client: a slow reader's share of the
/// node's memory and of its copying, past what [`HTTP_BUFFER`] holds (left to itself, Linux
/// grows a connection's buffer to 4 MiB, a 3 MB file at once). Enough for 2.5 MB/s at 100 ms
/// of round trip (the kernel doubles it for its own books).
const SEND_BUFFER: usize = 128 << 10;

/// The longest a connection lasts, whatever it does (a 3 MB file at 100 kB/s takes 30 s).
const CONNECTION_DEADLINE: Duration = Duration::from_secs(120);

/// The most queries waiting for the node's thread; beyond, handlers serve the last answer.
const QUEUED_QUERIES: usize = 16;

/// How long a handler waits for the node's thread before serving its last answer.
const ASK_WITHIN: Duration = Duration::from_millis(50);

/// The headers on every response: no type sniffing, no framing, no referrer, and scripts,
/// styles and connections from this origin only (plus the WebSocket edge nodes the page dials,
/// and the wasm module it compiles).
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws: wss:; \
         img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
];

#[derive(Clone, Copy)]
enum Query {
    Bootstrap = 0,
    Metrics = 1,
}

/// What handlers share: the way to the node's thread, and its last answer to each query.
#[derive(Clone)]
struct Asker {
    queries: mpsc::Sender<(Query, oneshot::Sender<String>)>,
    last: Arc<Mutex<[String; 2]>>,
}

/// Starts serving on `address`; the server runs until the runtime stops.
pub(crate) async fn serve(
    address: SocketAddr,
    site: Site,
    peer: PeerHandle,
    metrics: NetworkMetrics,
) -> Result<(), String> {
    let cannot = |e: std::io::Error| format!("cannot serve HTTP on {address}: {e}");
    let listener = std::net::TcpListener::bind(address).map_err(cannot)?;
    listener.set_nonblocking(true).map_err(cannot)?;
    let address = listener.local_addr().unwrap_or(address);
    let (queries, mut asked) = mpsc::channel::<(Query, oneshot::Sender<String>)>(QUEUED_QUERIES);
    let (namespace, public_metrics) = (site.namespace.clone(), site.public_metrics);
    let advertised = site.advertised.clone();
    let last = [bootstrap_json(&peer, &namespace, &advertised), metrics.encode()];
    let asker = Asker { queries, last: Arc::new(Mutex::new(last)) };
    tokio::task::spawn_local(async move {
        while let Some((query, reply)) = asked.recv().await {
            let _ = reply.send(match query {
                Query::Bootstrap => bootstrap_json(&peer, &namespace, &advertised),
                Query::Metrics => metrics.encode(),
            });
        }
    });
    let metrics = get(prometheus).layer(middleware::from_fn(
        move |ConnectInfo(client): ConnectInfo<SocketAddr>, request: Request, next: Next| async move {
            if metrics_allowed(client.ip(), public_metrics) {
                next.run(request).await
            } else {
                StatusCode::FORBIDDEN.into_response()
            }
        },
    ));
    let origins = if site.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let parse = |o: &String| match o.parse::<HeaderValue>() {
            Ok(origin) if o.contains("://") && !o.ends_with('/') => Ok(origin),
            _ => Err(format!("--cors-origin {o:?}: not an origin (e.g. https://app.example.com)")),
        };
        AllowOrigin::list(site.cors_origins.iter().map(parse).collect::<Result<Vec<_>, _>>()?)
    };
    let cors = CorsLayer::new().allow_methods([Method::GET]).allow_origin(origins);
    let app = Router::new()
        .route("/bootstrap.json", get(bootstrap).layer(cors))
        .route("/metrics", metrics)
        .nest_service("/pkg", directory(&site.pkg))
        .fallback_service(directory(&site.www))
        .with_state(asker)
        .layer(middleware::from_fn(secure));
    let (header_timeout, tls) = (site.header_timeout, site.tls.clone());
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let per_address: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    // Two threads: a burst of connections (a crowd reconnecting) on one leaves the other free
    // for `/metrics` and `/bootstrap.json`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("http")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP server's runtime: {e}"))?;
    let accept = async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else { return };
            let (stream, client) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Some(share) = Share::take(&per_address, client.ip()) else {
                tracing::debug!(%client, "HTTP connection refused: its address holds its share");
                continue;
            };
            if let Err(error) = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER) {
                tracing::debug!(%error, %client, "cannot bound an HTTP connection's send buffer");
            }
            let (app, tls) = (app.clone(), tls.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |mut request: Request<_>| {
                    request.extensions_mut().insert(ConnectInfo(client));
                    app.clone().call(request.map(axum::body::Body::new))
                });
                let mut stream = tokio_io_timeout::TimeoutStream::new(stream);
                stream.set_write_timeout(Some(header_timeout));
                let stream: Box<dyn Io> = match tls {
                    None => Box::new(Box::pin(stream)),
                    Some(tls) => {
                        let accept = tokio_rustls::TlsAcceptor::from(tls).accept(Box::pin(stream));
                        match tokio::time::timeout(header_timeout, accept).await {
                            Ok(Ok(stream)) => Box::new(stream),
                            Ok(Err(error)) => {
                                tracing::debug!(%error, %client, "TLS handshake failed");
                                return drop((share, permit));
                            }
                            Err(_) => return drop((share, permit)),
                        }
                    }
                };
                // One request per connection, its headers within the timeout, its response
                // taken as it goes, all within a deadline: no client holds a connection (of
                // the few there are) by idling, trickling or not reading.
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .max_buf_size(HTTP_BUFFER)
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(stream), service);
                match tokio::time::timeout(CONNECTION_DEADLINE, served).await {
                    Ok(Err(error)) => {
                        tracing::debug!(%error, %client, "HTTP connection ended with an error");
                    }
                    Err(_) => tracing::debug!(%client, "HTTP connection past its deadline"),
                    Ok(Ok(())) => {}
                }
                drop((share, permit));
            });
        }
    };
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || runtime.block_on(accept))
        .map_err(|e| format!("cannot start the HTTP server's thread: {e}"))?;
    let scheme = if site.tls.is_some() { "https" } else { "http" };
    tracing::info!(url = %format!("{scheme}://{address}/"), "serving the demo page");
    Ok(())
}

/// One connection of a client address's share, given back when dropped.
struct Share {
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl Share {
    /// A connection for `ip`'s address, unless it holds its share already.
    fn take(held: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr) -> Option<Share> {
        let address = match ip.to_canonical() {
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            v4 => v4,
        };
        let mut counts = held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let total: usize = counts.values().sum();
        let share = if total * 4 >= MAX_CONNECTIONS * 3 { FEW } else { MAX_PER_ADDRESS };
        let count = counts.entry(address).or_default();
        if *count >= share {
            if *count == 0 {
                counts.remove(&address);
            }
            return None;
        }
        *count += 1;
        Some(Share { held: held.clone(), address })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut counts = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// Serves the directory `root`, answering 404 for any path that leads out of it through a
/// symbolic link (links within it are followed). A file's `.br` or `.gz` copy beside it is
/// served instead to a browser that accepts it (`scripts/build-pkg` writes the wasm's).
fn directory(root: &Path) -> Router {
    let inside = std::fs::canonicalize(root).ok();
    let files = ServeDir::new(root).precompressed_br().precompressed_gzip();
    Router::new().fallback_service(files).layer(middleware::from_fn(
        move |request: Request, next: Next| {
            let allowed =
                inside.as_deref().is_some_and(|root| stays_inside(root, request.uri().path()));
            async move {
                if !allowed {
                    return StatusCode::NOT_FOUND.into_response();
                }
                let mut response = next.run(request).await;
                // Which copy was served depends on what the browser accepts: caches must know.
                let vary = HeaderValue::from_static("accept-encoding");
                response.headers_mut().append(header::VARY, vary);
                response
            }
        },
    ))
}

/// Whether the file served for the URL `path` under the canonical `root` is inside it once
/// every link is resolved. The path is mapped as the directory service maps it; what that
/// service refuses or cannot find anyway counts as inside (it answers those itself).
fn stays_inside(root: &Path, path: &str) -> bool {
    let trimmed = path.trim_start_matches('/');
    let Ok(decoded) = percent_encoding::percent_decode_str(trimmed).decode_utf8() else {
        return true;
    };
    let mut file = root.to_path_buf();
    for component in Path::new(&*decoded).components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return true,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    std::fs::canonicalize(&file).map_or(true, |real| real.starts_with(root))
}

async fn secure(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in SECURITY_HEADERS {
        response.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Whether a client at `ip` may read `/metrics`: loopback ones always, others if `public`.
fn metrics_allowed(ip: IpAddr, public: bool) -> bool {
    public || ip.to_canonical().is_loopback()
}

/// The node's answer to `query`, or its last one if it does not answer within [`ASK_WITHIN`].
async fn ask(asker: &Asker, query: Query) -> Result<String, StatusCode> {
    let (reply, answer) = oneshot::channel();
    // With the node's thread this far behind, the last answer is served at once.
    let asked = asker.queries.try_send((query, reply)).is_ok();
    let answered = if asked { tokio::time::timeout(ASK_WITHIN, answer).await.ok() } else { None };
    let mut last = asker.last.lock().map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    if let Some(Ok(answer)) = answered {
        last[query as usize] = answer;
    }
    Ok(last[query as usize].clone())
}

async fn bootstrap(State(asker): State<Asker>) -> Result<Response, StatusCode> {
    let body = ask(&asker, Query::Bootstrap).await?;
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response())
}

async fn prometheus(State(asker): State<Asker>) -> Result<Response, StatusCode> {
    let body = ask(&asker, Query::Metrics).await?;
    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}

/// `{"peerId": "...", "namespace": "...", "addresses": [...]}`: the addresses advertised, each
/// ending in this node's `/p2p/` id, or if none those listened on, those browsers can dial
/// (WebSocket and WebRTC-direct) first.
fn bootstrap_json(peer: &PeerHandle, namespace: &Namespace, advertised: &[Multiaddr]) -> String {
    let id = peer.peer_id();
    let mut addresses: Vec<String> = if advertised.is_empty() {
        peer.listen_addrs().iter().map(|a| a.to_string()).collect()
    } else {
        let with_id = |a: &Multiaddr| match a.iter().last() {
            Some(Protocol::P2p(_)) => a.clone(),
            _ => a.clone().with(Protocol::P2p(id)),
        };
        advertised.iter().map(|a| with_id(a).to_string()).collect()
    };
    addresses.sort_by_key(|a| !(a.contains("/ws") || a.contains("/webrtc-direct")));
    let quoted: Vec<String> = addresses.iter().map(|a| format!("{a:?}")).collect();
    let namespace = namespace.as_str();
    format!(
        "{{\"peerId\":\"{id}\",\"namespace\":{namespace:?},\"addresses\":[{}]}}",
        quoted.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_go_to_loopback_clients_unless_public() {
        for (ip, loopback) in
            [("127.0.0.1", true), ("::1", true), ("::ffff:127.0.0.1", true), ("10.0.0.7", false)]
        {
            let ip: IpAddr = ip.parse().expect("an address");
            assert_eq!(metrics_allowed(ip, false), loopback, "{ip}");
            assert!(metrics_allowed(ip, true), "{ip}");
        }
        assert!(!metrics_allowed("2001:db8::1".parse().expect("v6"), false));
    }

    #[test]
    fn a_busy_node_gets_its_last_answer_served() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        runtime.expect("runtime").block_on(async {
            let (queries, mut asked) = mpsc::channel(QUEUED_QUERIES);
            let last = Arc::new(Mutex::new(["{}".to_owned(), "old".to_owned()]));
            let asker = Asker { queries, last };
            // The node answers: its answer is served and kept.
            let node = tokio::spawn(async move {
                let (_, reply): (Query, oneshot::Sender<String>) =
                    asked.recv().await.expect("asked");
                let _ = reply.send("new".to_owned());
                // Then it is busy: asked, it never answers.
                let busy = asked.recv().await;
                std::future::pending::<()>().await;
                drop(busy);
            });
            assert_eq!(ask(&asker, Query::Metrics).await, Ok("new".to_owned()));
            assert_eq!(ask(&asker, Query::Metrics).await, Ok("new".to_owned()));
            assert_eq!(ask(&asker, Query::Bootstrap).await, Ok("{}".to_owned()));
            node.abort();
        });
    }
}
