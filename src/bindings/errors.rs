//! Every error `StatsNode` throws or rejects with, made in one place: a `TypeError` or
//! `RangeError` for a bad argument, a `StatsNodeError` for the rest, each with a stable `code`.

use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::runtime::{ActionError, OpenError};

#[wasm_bindgen(typescript_custom_section)]
const STATS_NODE_ERROR: &str = r#"
/**
 * What every error of a `StatsNode` carries: a `TypeError` (an argument of the wrong type) or a
 * `RangeError` (an argument out of its range, an action beyond a cap) as JavaScript throws them,
 * or an `Error` named "StatsNodeError" for the rest; `code` tells them apart for programs.
 */
export interface StatsNodeError extends Error {
  code: StatsNodeErrorCode;
}
"#;

/// `code` of an error from a `StatsNode`:
/// - "invalid-argument": a `TypeError` or `RangeError` for an argument (nothing changed);
/// - "out-of-bounds": a `RangeError`: the action would take this node's count above the
///   namespace's cap (or below zero); nothing changed;
/// - "closed": the node was closed;
/// - "no-network": the node was opened without a bootstrap;
/// - "store": the store failed (the action changed nothing);
/// - "unsupported-store": the store was written by a newer version of this library;
/// - "corrupt-store": the store's identity is malformed or incomplete (it was left untouched);
/// - "no-randomness": no random source for a new identity;
/// - "network": the network could not be set up;
/// - "verify-failed": `verify` could not make its check (no edge node connected, no answer,
///   entries that did not check);
/// - "unsupported-environment": not in a browser page or worker (e.g. Node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Tsify)]
#[serde(rename_all = "kebab-case")]
#[tsify(rename = "StatsNodeErrorCode")]
pub(super) enum Code {
    InvalidArgument,
    OutOfBounds,
    Closed,
    NoNetwork,
    Store,
    UnsupportedStore,
    CorruptStore,
    NoRandomness,
    Network,
    VerifyFailed,
    UnsupportedEnvironment,
}

#[wasm_bindgen(inline_js = r#"
export function codedError(kind, code, message) {
  const error = kind === "type" ? new TypeError(message)
    : kind === "range" ? new RangeError(message) : new Error(message);
  if (kind === "error") error.name = "StatsNodeError";
  error.code = code;
  return error;
}"#)]
extern "C" {
    #[wasm_bindgen(js_name = codedError)]
    fn make_error(kind: &str, code: JsValue, message: &str) -> JsValue;
}

fn coded_error(kind: &str, code: Code, message: &str) -> JsValue {
    // The code as serde spells it, so it is the string the TypeScript type names.
    make_error(kind, serde_wasm_bindgen::to_value(&code).unwrap_or_default(), message)
}

/// A `TypeError` for an argument of the wrong type.
pub(super) fn type_error(message: &str) -> JsValue {
    coded_error("type", Code::InvalidArgument, message)
}

/// A `RangeError` for an argument out of its range.
pub(super) fn range_error(message: &str) -> JsValue {
    coded_error("range", Code::InvalidArgument, message)
}

/// A `StatsNodeError` with `code`.
pub(super) fn error(code: Code, message: &str) -> JsValue {
    coded_error("error", code, message)
}

pub(super) fn closed() -> JsValue {
    error(Code::Closed, "this StatsNode is closed")
}

pub(super) fn no_network() -> JsValue {
    error(Code::NoNetwork, "this StatsNode has no network: open it with a bootstrap")
}

pub(super) fn action(error: &ActionError) -> JsValue {
    match error {
        ActionError::OutOfBounds(bound) => {
            coded_error("range", Code::OutOfBounds, &bound.to_string())
        }
        ActionError::Store(store) => self::error(Code::Store, &store.to_string()),
        // The node crate may add reasons; until this crate names them, they read as store
        // failures (the action changed nothing either way).
        other => self::error(Code::Store, &other.to_string()),
    }
}

pub(super) fn open(error: &OpenError) -> JsValue {
    let code = match error {
        OpenError::Store(_) => Code::Store,
        OpenError::UnknownLayout(_) => Code::UnsupportedStore,
        OpenError::Corrupt(_) | OpenError::IncompleteMeta(_) => Code::CorruptStore,
        OpenError::Random(_) => Code::NoRandomness,
        // A reason the node crate adds later: the store could not be opened.
        _ => Code::Store,
    };
    self::error(code, &error.to_string())
}
