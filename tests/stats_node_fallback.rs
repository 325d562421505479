//! `StatsNode` when IndexedDB is unavailable (hidden here, as some private modes and sandboxed
//! frames do): it works in memory, says so, and counts correctly. A file of its own, so that
//! hiding IndexedDB cannot overlap other tests (async tests of one file run interleaved).
#![cfg(target_arch = "wasm32")]

mod browser;

use browser::*;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn falls_back_to_memory_when_indexed_db_is_unavailable() {
    // Hide IndexedDB, as some private modes and sandboxed frames do.
    let global = js_sys::global();
    let descriptor = Object::new();
    Reflect::set(&descriptor, &"value".into(), &JsValue::UNDEFINED).expect("set");
    Reflect::set(&descriptor, &"configurable".into(), &true.into()).expect("set");
    Object::define_property(&global, &"indexedDB".into(), &descriptor);
    let node = open(&fresh_name()).await;
    Reflect::delete_property(&global, &"indexedDB".into()).expect("restored");

    assert!(!node.persistent());
    let (warnings, _listener) = recorder(&node, "warning");
    assert_eq!(count(node.like("t".into(), "alice".into())).await, 1.0);
    assert_eq!(count(node.like("t".into(), "alice".into())).await, 1.0);
    assert_eq!(count(node.like("t".into(), "bob".into())).await, 2.0);
    until("the warning", || !warnings.borrow().is_empty()).await;
    assert_eq!(warnings.borrow().len(), 1);
    let warning = warnings.borrow()[0].clone();
    let field = |name: &str| Reflect::get(&warning, &name.into()).ok().and_then(|v| v.as_string());
    assert_eq!(field("code").as_deref(), Some("no-indexed-db"));
    let message = field("message").expect("a message");
    assert!(message.contains("memory"), "{message}");
    wasm_bindgen_futures::JsFuture::from(node.close()).await.expect("closes");
}
