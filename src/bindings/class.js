// What `StatsNode` adds in JavaScript: an EventTarget's prototype and listener options,
// `Symbol.asyncDispose`, and `subscribe` / `snapshot` (a store for React's
// useSyncExternalStore, Svelte's and Vue's), over the class's own API. A snapshot changes with
// the tweet's "change" events and with a "status" event that changed whether it is loaded.

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
    // The tweet's snapshot is gone by then if it changed (`adopt`'s listeners come first).
    const heard = (event) => { if (event.detail.tweetId === tweetId) listener(); };
    const status = () => { if (!snapshotsOf(this).has(tweetId)) listener(); };
    this.addEventListener("change", heard);
    this.addEventListener("status", status);
    return () => {
      this.removeEventListener("change", heard);
      this.removeEventListener("status", status);
    };
  },
  snapshot(tweetId) {
    const cache = snapshotsOf(this);
    let snapshot = cache.get(tweetId);
    if (!snapshot) {
      const [loaded, verified] = [this.loaded(tweetId), this.verified(tweetId)];
      snapshot = Object.freeze({ ...this.stats(tweetId), loaded, verified });
      if (cache.size >= MAX_SNAPSHOTS) cache.clear();
      cache.set(tweetId, snapshot);
    }
    return snapshot;
  },
};

/** Drops the snapshots whose `loaded` is no longer what `loaded` says. */
function dropLoaded(cache, loaded) {
  for (const [tweetId, snapshot] of cache) {
    if (snapshot.loaded !== loaded(tweetId)) cache.delete(tweetId);
  }
}

export function adopt(node) {
  const proto = Object.getPrototypeOf(node);
  if (!(node instanceof EventTarget)) {
    Object.setPrototypeOf(proto, EventTarget.prototype);
    for (const key of Reflect.ownKeys(methods)) {
      Object.defineProperty(proto, key, { value: methods[key], writable: true, configurable: true });
    }
  }
  // A change drops the tweet's snapshot before any listener of the page hears it; a status
  // whose catch-up was the first (a full node's tweets are loaded then) those it loaded.
  node.addEventListener("change", (event) => snapshotsOf(node).delete(event.detail.tweetId));
  let synced = false;
  node.addEventListener("status", (event) => {
    if (synced !== (event.detail.lastSync !== null)) {
      synced = !synced;
      dropLoaded(snapshotsOf(node), (id) => node.loaded(id));
    }
  });
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
