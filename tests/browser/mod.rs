//! Helpers shared by the browser tests of `StatsNode`.
#![allow(dead_code, unreachable_pub)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use warpnet_stats::StatsNode;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub fn options(db_name: &str) -> JsValue {
    let options = Object::new();
    Reflect::set(&options, &"namespace".into(), &"mainnet".into()).expect("set");
    Reflect::set(&options, &"dbName".into(), &db_name.into()).expect("set");
    options.into()
}

pub fn fresh_name() -> String {
    format!("stats-node-test-{}", js_sys::Math::random())
}

pub async fn open(db_name: &str) -> StatsNode {
    StatsNode::open_with(&options(db_name)).await.expect("opens")
}

pub async fn count(promise: Promise) -> f64 {
    JsFuture::from(promise).await.expect("resolves").as_f64().expect("number")
}

/// What `promise` rejects with (the methods returning a promise never throw).
pub async fn rejection(promise: Promise) -> JsValue {
    JsFuture::from(promise).await.expect_err("rejects")
}

pub fn stat(stats: &JsValue, name: &str) -> f64 {
    Reflect::get(stats, &name.into()).expect("field").as_f64().expect("number")
}

/// The `code` of an error from a `StatsNode`.
pub fn code(error: &JsValue) -> String {
    Reflect::get(error, &"code".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

/// The `name` of an error.
pub fn name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

/// Every `detail` an event listener received, and the listener (kept alive by the caller).
pub type Recorded = (Rc<RefCell<Vec<JsValue>>>, Closure<dyn FnMut(web_sys::CustomEvent)>);

pub fn recorder(node: &StatsNode, kind: &str) -> Recorded {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let listener =
        Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |event: web_sys::CustomEvent| {
            sink.borrow_mut().push(event.detail());
        });
    node.add_event_listener(&kind.into(), listener.as_ref(), &JsValue::UNDEFINED);
    (seen, listener)
}

/// Waits until `done` holds, checking every few milliseconds (events are handled meanwhile);
/// panics naming `what` after 10 s.
pub async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = js_sys::Date::now() + 10_000.0;
    while !done() {
        assert!(js_sys::Date::now() < deadline, "timed out waiting for {what}");
        sleep(5).await;
    }
}

pub async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let set_timeout =
            Reflect::get(&js_sys::global(), &"setTimeout".into()).expect("setTimeout");
        let set_timeout: js_sys::Function = set_timeout.dyn_into().expect("function");
        set_timeout.call2(&JsValue::UNDEFINED, &resolve, &ms.into()).expect("scheduled");
    });
    JsFuture::from(promise).await.expect("slept");
}
