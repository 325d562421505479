//! The edge node's HTTP server: the demo page (`/`), the npm package (`/pkg/`), this node's
//! multiaddrs and namespace (`/bootstrap.json`, how the demo page finds its edge node and the
//! network to join) and Prometheus
//! `/metrics`. The peer's state lives on the node's thread; handlers ask it through a channel.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{mpsc, oneshot};
use tower_http::services::ServeDir;
use warpnet_stats::{Namespace, NetworkMetrics, PeerHandle};

/// What is served: two directories, and the namespace named in `/bootstrap.json`.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) www: PathBuf,
    pub(crate) pkg: PathBuf,
    pub(crate) namespace: Namespace,
}

enum Query {
    Bootstrap,
    Metrics,
}

type Queries = mpsc::UnboundedSender<(Query, oneshot::Sender<String>)>;

/// Starts serving on `address`; the server runs until the runtime stops.
pub(crate) async fn serve(
    address: SocketAddr,
    site: Site,
    peer: PeerHandle,
    metrics: NetworkMetrics,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot serve HTTP on {address}: {e}"))?;
    let address = listener.local_addr().unwrap_or(address);
    let (queries, mut asked) = mpsc::unbounded_channel::<(Query, oneshot::Sender<String>)>();
    let namespace = site.namespace.clone();
    tokio::task::spawn_local(async move {
        while let Some((query, reply)) = asked.recv().await {
            let _ = reply.send(match query {
                Query::Bootstrap => bootstrap_json(&peer, &namespace),
                Query::Metrics => metrics.encode(),
            });
        }
    });
    let app = Router::new()
        .route("/bootstrap.json", get(bootstrap))
        .route("/metrics", get(prometheus))
        .nest_service("/pkg", ServeDir::new(&site.pkg))
        .fallback_service(ServeDir::new(&site.www))
        .with_state(queries);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the HTTP server stopped");
        }
    });
    tracing::info!(url = %format!("http://{address}/"), "serving the demo page");
    Ok(())
}

async fn ask(queries: &Queries, query: Query) -> Result<String, StatusCode> {
    let (reply, answer) = oneshot::channel();
    queries.send((query, reply)).map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    answer.await.map_err(|_| StatusCode::SERVICE_UNAVAILABLE)
}

async fn bootstrap(State(queries): State<Queries>) -> Result<Response, StatusCode> {
    let body = ask(&queries, Query::Bootstrap).await?;
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response())
}

async fn prometheus(State(queries): State<Queries>) -> Result<Response, StatusCode> {
    let body = ask(&queries, Query::Metrics).await?;
    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}

/// `{"peerId": "...", "namespace": "...", "addresses": [...]}`: the addresses browsers can dial
/// (WebSocket and WebRTC-direct) first, then the others.
fn bootstrap_json(peer: &PeerHandle, namespace: &Namespace) -> String {
    let mut addresses: Vec<String> = peer.listen_addrs().iter().map(|a| a.to_string()).collect();
    addresses.sort_by_key(|a| !(a.contains("/ws") || a.contains("/webrtc-direct")));
    let quoted: Vec<String> = addresses.iter().map(|a| format!("{a:?}")).collect();
    let id = peer.peer_id();
    let namespace = namespace.as_str();
    format!(
        "{{\"peerId\":\"{id}\",\"namespace\":{namespace:?},\"addresses\":[{}]}}",
        quoted.join(",")
    )
}
