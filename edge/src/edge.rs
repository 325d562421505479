//! Command line, logging, signals and the event loop of the edge node binary.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::Parser;
use libp2p::multiaddr::Protocol;
use tracing_subscriber::EnvFilter;
use warpnet_stats::{
    Difficulty, Namespace, Node, Peer, RedbStore, Rules, Transports, WebRtcCertificate,
    WebSocketTls,
};

use crate::args::{Args, HttpAddress};
use crate::http;

/// What is logged unless `RUST_LOG` says otherwise: this node's own events, and only problems
/// from the libraries (the WebRTC stack is chatty about harmless details).
const DEFAULT_LOG: &str =
    "warn,warpnet_stats=info,warpnet_stats_edge=info,dtls=error,webrtc_sctp=error";

pub(crate) fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let namespace = Namespace::new(&args.namespace)
        .map_err(|e| format!("invalid --namespace {:?}: {e}", args.namespace))?;
    private_dir(&args.data_dir)?;
    let store = RedbStore::open(args.data_dir.join("store.redb")).map_err(|e| e.to_string())?;
    let rules = Rules { caps: args.caps, difficulty: Difficulty(args.difficulty) };
    let node = Node::open(namespace.clone(), rules, store).await;
    let node = Rc::new(node.map_err(|e| e.to_string())?);
    node.with_replica_mut(|replica| {
        replica.set_writer_quota(args.writer_quota());
        replica.set_storage_budget(args.max_counters());
    });
    let entries = node.with_replica(|r| r.len());
    let (caps, difficulty) = (args.caps, args.difficulty);
    tracing::info!(node = %node.node_id(), entries, %caps, difficulty, "opened the store");

    let config = args.peer_config();
    let tls = tls_files(&args)?;
    let websocket_tls = match &tls {
        Some(files) => {
            Some(WebSocketTls::from_pem(&files.chain, &files.key).map_err(|e| chain_of(&e))?)
        }
        None => None,
    };
    let webrtc = Some(webrtc_certificate(&args.data_dir)?);
    let transports = Transports { webrtc, websocket_tls };
    let peer = Peer::with_transports(node.clone(), config, transports).await;
    let mut peer = peer.map_err(|e| chain_of(&e))?;
    for address in &args.listen {
        if tls.is_none() && address.iter().any(|p| matches!(p, Protocol::Tls | Protocol::Wss(_))) {
            return Err(format!("cannot listen on {address}: TLS needs --tls-cert and --tls-key"));
        }
        peer.listen(address.clone()).map_err(|e| chain_of(&e))?;
    }
    for address in &args.advertise {
        peer.advertise(address.clone());
    }
    let handle = peer.handle();
    for address in args.bootstrap {
        handle.keep_connected(address);
    }
    if let HttpAddress(Some(address)) = args.http {
        let site = http::Site {
            www: args.www,
            pkg: args.pkg,
            namespace,
            public_metrics: args.public_metrics,
            header_timeout: Duration::from_secs(args.http_header_timeout),
            advertised: args.advertise,
            cors_origins: args.cors_origin,
            tls: tls.map(|files| http::tls_config(&files.chain, &files.key)).transpose()?,
        };
        http::serve(address, site, handle.clone(), peer.metrics()).await?;
    }
    peer.run(shutdown_signal()).await;
    tracing::info!(entries = node.with_replica(|r| r.len()), "stopped; the store is closed");
    Ok(())
}

/// The PEM bytes of `--tls-cert` and `--tls-key`.
struct TlsFiles {
    chain: Vec<u8>,
    key: Vec<u8>,
}

/// `--tls-cert` and `--tls-key`, read, if given.
fn tls_files(args: &Args) -> Result<Option<TlsFiles>, String> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else { return Ok(None) };
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    Ok(Some(TlsFiles { chain: read(cert)?, key: read(key)? }))
}

/// An error and its causes, in one line.
fn chain_of(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The WebRTC certificate kept in `data_dir` (made on first start), so that the node's
/// `/webrtc-direct/certhash/...` addresses stay the same across restarts.
fn webrtc_certificate(data_dir: &Path) -> Result<WebRtcCertificate, String> {
    let path = data_dir.join("webrtc.pem");
    match std::fs::read_to_string(&path) {
        Ok(pem) => {
            narrow(&path, 0o600)?;
            WebRtcCertificate::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let certificate = WebRtcCertificate::generate().map_err(|e| e.to_string())?;
            write_private(&path, certificate.to_pem().as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(certificate)
        }
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

/// Creates the data directory (and its missing parents) its owner's alone (0700); narrows an
/// existing one that others may enter. It holds the node's secret key and certificate.
fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    narrow(dir, 0o700)
}

/// Sets `path`'s mode to `private` if others have any access to it, with a warning; an error
/// (say, the file is another user's) stops the node with a clear message.
fn narrow(path: &Path, private: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(private)).map_err(|e| {
            format!(
                "{} is open to other users (mode {mode:o}) and cannot be narrowed: {e}",
                path.display()
            )
        })?;
        tracing::warn!(path = %path.display(), was = format!("{mode:o}"), now = format!("{private:o}"), "was open to other users; narrowed");
    }
    Ok(())
}

/// Writes a file only its owner can read, whole or not at all.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let partial = path.with_extension("partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(partial, path)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutting down");
}
