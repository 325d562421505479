//! The edge node: a native node of warpnet-stats that listens for browsers and other edge
//! nodes, keeps every entry in an on-disk store, relays gossip between its peers, and serves
//! the demo page, its addresses and its metrics over HTTP.

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod edge;
#[cfg(not(target_arch = "wasm32"))]
mod http;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    edge::main()
}

/// The edge node is native only; this keeps `cargo build --target wasm32-unknown-unknown`
/// of every target working.
#[cfg(target_arch = "wasm32")]
fn main() {}
