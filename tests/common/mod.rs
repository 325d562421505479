//! Helpers shared by the integration tests (native and wasm32).
#![allow(dead_code, unreachable_pub)]

use warpnet_stats::{Generation, Identity, Namespace, Replica, TweetId, UserId};

pub fn namespace() -> Namespace {
    Namespace::new("mainnet").expect("valid namespace")
}

/// A deterministic identity per seed, so tests and golden vectors are repeatable.
pub fn identity(seed: u8) -> Identity {
    Identity::from_secret([seed; 32])
}

pub fn generation(seed: u8) -> Generation {
    Generation([seed; 16])
}

pub fn replica(seed: u8) -> Replica {
    Replica::new(namespace(), identity(seed), generation(seed))
}

pub fn tweet(text: &str) -> TweetId {
    TweetId::new(text).expect("valid tweet id")
}

pub fn user(text: &str) -> UserId {
    UserId::new(text).expect("valid user id")
}

#[cfg(not(target_arch = "wasm32"))]
pub mod net;
