//! Real libp2p on loopback: nodes syncing over TCP and WebSocket, and hostile peers replaying
//! the attacks the trust model answers (tests/network/hostile.rs).
#![cfg(not(target_arch = "wasm32"))]

#[path = "../common/mod.rs"]
mod common;

mod hostile;
mod network;
