//! The sans-io network protocol on virtual time, with no sockets and no sleeping: rate limits,
//! dials and catch-up scheduling, delivery confirmed by catch-up, the light protocol and its
//! watches.

#[path = "../common/mod.rs"]
mod common;

mod catch_up;
mod delivery;
mod light;
mod light_watches;
mod protocol;
