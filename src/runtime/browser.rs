//! The browser node: a node over IndexedDB (or memory, when IndexedDB cannot be opened), kept in
//! step with the other tabs of the origin through a BroadcastChannel, reporting every change of
//! a tweet's stats (its own or another tab's) to one callback.

use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use super::{Changes, Node, OpenError};
use crate::core::{Namespace, Stats, TweetId};
use crate::storage::{BrowserStore, StoreError, Write};

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeSource {
    /// An action on this node.
    Local,
    /// Another tab sharing the store.
    Tab,
}

/// Told of every tweet whose stats changed, with its new stats.
pub type OnChange = Rc<dyn Fn(&TweetId, Stats, ChangeSource)>;

/// A node in a browser tab.
pub struct BrowserNode {
    node: Rc<Node<BrowserStore>>,
    channel: Option<BroadcastChannel>,
    _listener: Option<Closure<dyn FnMut(MessageEvent)>>,
    fallback: Option<StoreError>,
}

impl BrowserNode {
    /// Opens the node kept in IndexedDB database `db_name` (memory if that fails; see
    /// [`BrowserNode::fallback`]) and joins the other tabs using the same database.
    pub async fn open(
        namespace: Namespace,
        db_name: &str,
        on_change: OnChange,
    ) -> Result<Self, OpenError> {
        let (store, fallback) = BrowserStore::open(db_name).await;
        let node = Rc::new(Node::open(namespace.clone(), store).await?);
        let channel = BroadcastChannel::new(&format!("warpnet-stats/{db_name}")).ok();

        let (weak, tab_channel, notify) =
            (Rc::downgrade(&node), channel.clone(), on_change.clone());
        let ns = namespace.clone();
        node.on_commit(move |changes| {
            if let Some(channel) = &tab_channel {
                let _ = channel.post_message(&rows_to_js(&changes.rows(&ns)));
            }
            if let Some(node) = weak.upgrade() {
                for tweet in changes.tweets() {
                    notify(&tweet, node.stats(&tweet), ChangeSource::Local);
                }
            }
        });

        let listener = channel.as_ref().map(|channel| {
            let weak = Rc::downgrade(&node);
            let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(node) = weak.upgrade() else { return };
                let changes = Changes::from_rows(&namespace, &rows_from_js(&event.data()));
                node.absorb(&changes);
                for tweet in changes.tweets() {
                    on_change(&tweet, node.stats(&tweet), ChangeSource::Tab);
                }
            });
            channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
            listener
        });
        Ok(Self { node, channel, _listener: listener, fallback })
    }

    /// The node.
    pub fn node(&self) -> &Rc<Node<BrowserStore>> {
        &self.node
    }

    /// Why IndexedDB could not be used, if the node fell back to memory.
    pub fn fallback(&self) -> Option<&StoreError> {
        self.fallback.as_ref()
    }

    /// Leaves the other tabs and closes the database connection.
    pub fn close(&self) {
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        if let BrowserStore::IndexedDb(store) = self.node.store() {
            store.close();
        }
    }
}

/// Rows as a JS array of `[key, Uint8Array | null]` pairs, for `postMessage`.
fn rows_to_js(rows: &[Write]) -> Array {
    rows.iter()
        .map(|(key, value)| {
            let value: JsValue = match value {
                Some(bytes) => Uint8Array::from(bytes.as_slice()).into(),
                None => JsValue::NULL,
            };
            Array::of2(&JsValue::from_str(key), &value)
        })
        .collect()
}

/// Reads what [`rows_to_js`] wrote; anything else yields no rows.
fn rows_from_js(data: &JsValue) -> Vec<Write> {
    let Some(rows) = data.dyn_ref::<Array>() else { return Vec::new() };
    rows.iter()
        .filter_map(|row| {
            let row = row.dyn_into::<Array>().ok()?;
            let key = row.get(0).as_string()?;
            let value = row.get(1).dyn_into::<Uint8Array>().ok().map(|a| a.to_vec());
            Some((key, value))
        })
        .collect()
}
