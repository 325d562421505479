// What `StatsNode` adds in JavaScript: an EventTarget's prototype and listener options,
// `Symbol.asyncDispose`, and `subscribe` / `snapshot` (a store for React's
// useSyncExternalStore, Svelte's and Vue's), over the class's own API.

// The most snapshots a node keeps: past that they are made anew (a read after a clear gets a
// new object with the same counts, which a store compares as a change and renders once).
const MAX_SNAPSHOTS = 10000;
const snapshots = new WeakMap();

function snapshotsOf(node) {
  let cache = snapshots.get(node);
  if (!cache) {
    cache = new Map();
    snapshots.set(node, cache);
  }
  return cache;
}

const methods = {
  [Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose")]() {
    return this.close();
  },
  subscribe(tweetId, listener) {
    if (typeof listener !== "function") {
      throw Object.assign(new TypeError("listener must be a function"), { code: "invalid-argument" });
    }
    this.stats(tweetId); // the id's checks
    // The tweet's snapshot is gone by then (`adopt`'s listener comes first).
    const heard = (event) => { if (event.detail.tweetId === tweetId) listener(); };
    this.addEventListener("change", heard);
    return () => this.removeEventListener("change", heard);
  },
  snapshot(tweetId) {
    const cache = snapshotsOf(this);
    let snapshot = cache.get(tweetId);
    if (!snapshot) {
      snapshot = Object.freeze({ ...this.stats(tweetId), verified: this.verified(tweetId) });
      if (cache.size >= MAX_SNAPSHOTS) cache.clear();
      cache.set(tweetId, snapshot);
    }
    return snapshot;
  },
};

export function adopt(node) {
  const proto = Object.getPrototypeOf(node);
  if (!(node instanceof EventTarget)) {
    Object.setPrototypeOf(proto, EventTarget.prototype);
    for (const key of Reflect.ownKeys(methods)) {
      Object.defineProperty(proto, key, { value: methods[key], writable: true, configurable: true });
    }
  }
  // A change drops the tweet's snapshot before any listener of the page hears it.
  node.addEventListener("change", (event) => snapshotsOf(node).delete(event.detail.tweetId));
  return node;
}

export function listen(target, kind, listener, options) {
  target.addEventListener(kind, listener, options);
}

export function unlisten(target, kind, listener, options) {
  target.removeEventListener(kind, listener, options);
}

export function dispatchTo(target, event) {
  return target.dispatchEvent(event);
}
