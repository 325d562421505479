// `warpnet-stats/worker`: a StatsNode in a dedicated worker, off the page's thread (catch-up,
// signature checks and IndexedDB run there), with the StatsNode API for the page. The page
// keeps a copy of what the node shows (every tweet's counts, whether loaded and verified, this
// node's marks), made at open and kept by the node's changes (those of a call before its promise
// resolves, so reads follow one's own writes), so reads answer at once. Where no
// worker can start, the node runs on the page's thread instead (`inWorker` is then false).
// Differences from StatsNode: `contributions` resolves (the page holds no copy of it); marks
// made in another tab show after a reload. Bad arguments get the node's errors (checked here).
import init, { StatsNode } from "./warpnet_stats.js";

/**
 * Opens a StatsNode in a worker (see `StatsNode.open` for the options), or on this thread
 * where no worker can start.
 */
export async function openStatsNode(options) {
  if (typeof document === "undefined" && typeof WorkerGlobalScope === "undefined") {
    throw coded(Object.assign(new Error("warpnet-stats runs in a browser (a page or a worker), not here"),
      { name: "StatsNodeError" }), "unsupported-environment");
  }
  // A worker has no RTCPeerConnection: it dials the WebSocket addresses only, and a node
  // given WebRTC-direct addresses alone runs on this thread.
  const bootstrap = Array.isArray(options?.bootstrap) ? options.bootstrap : [];
  const direct = (address) => typeof address === "string" && address.includes("/webrtc-direct");
  const inWorker = bootstrap.length === 0 || bootstrap.some((address) => !direct(address));
  if (inWorker && typeof Worker === "function") {
    let worker;
    try {
      worker = new Worker(new URL("./worker-host.js", import.meta.url), { type: "module" });
    } catch {
      worker = undefined;
    }
    if (worker) {
      const started = await new Promise((resolve) => {
        worker.onmessage = ({ data }) => resolve(data?.type === "started");
        worker.onerror = (event) => { event.preventDefault?.(); resolve(false); };
      });
      if (started) {
        try {
          const dialled = bootstrap.length ? { bootstrap: bootstrap.filter((a) => !direct(a)) } : {};
          return await WorkerStatsNode.open(worker, { ...options, ...dialled });
        } catch (error) {
          if (error?.code) throw error; // the node's own error (an option, the store)
        }
      } else {
        worker.terminate();
      }
    }
  }
  await init();
  return new ThreadStatsNode(await StatsNode.open(options));
}

const ACTIONS = ["like", "unlike", "retweet", "unretweet", "reply", "deleteReply", "view", "verify"];
const ZERO = Object.freeze({ likes: 0, retweets: 0, replies: 0, views: 0 });

/** What each argument names (as the node's errors say it). */
const WHAT = { tweetId: "tweet id", "tweetIds[]": "tweet id", userId: "user id", replyId: "reply id" };
const encoder = new TextEncoder();

/** A character as Rust's `{:?}` shows it, as the node's messages do. */
function quoted(c) {
  const escapes = { "\0": "\\0", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
  const code = c.codePointAt(0);
  const control = code < 0x20 || (code >= 0x7f && code < 0xa0);
  return `'${escapes[c] ?? (control ? `\\u{${code.toString(16)}}` : c)}'`;
}

/** The checks of an id the node makes, here on the page, with the node's errors: a TypeError
 *  for a non-string, a RangeError for an empty, too long (over 128 bytes) or malformed one. */
function checkId(name, value) {
  if (typeof value !== "string") {
    throw coded(new TypeError(`${name} must be a string, got ${typeof value}`), "invalid-argument");
  }
  const what = WHAT[name] ?? name;
  const range = (why) => coded(new RangeError(`${name}: ${what} ${why}`), "invalid-argument");
  if (value.length === 0) throw range("is empty");
  const bytes = encoder.encode(value).length;
  if (bytes > 128) throw range(`is ${bytes} bytes long, the limit is 128`);
  const bad = [...value].find((c) => c === "/" || /\p{Cc}/u.test(c));
  if (bad !== undefined) throw range(`contains ${quoted(bad)}, which is not allowed`);
}

function coded(error, code) {
  error.code = code;
  return error;
}

function closedError(message) {
  return coded(Object.assign(new Error(message), { name: "StatsNodeError" }), "closed");
}

/** An error from the worker, as the node made it. */
function rebuilt({ name, message, code }) {
  const error = name === "TypeError" ? new TypeError(message)
    : name === "RangeError" ? new RangeError(message) : new Error(message);
  if (name !== "TypeError" && name !== "RangeError") error.name = name;
  return coded(error, code);
}

class WorkerStatsNode extends EventTarget {
  #worker;
  #calls = new Map();
  #nextCall = 0;
  #shown = new Map();
  #snapshots = new Map();
  #liked = new Set();
  #retweeted = new Set();
  #status;
  #peers = [];
  #closed = false;
  #light = false;
  #alone = false;

  static async open(worker, options) {
    const node = new WorkerStatsNode(worker);
    try {
      await node.#init(options);
    } catch (error) {
      worker.terminate();
      throw error;
    }
    return node;
  }

  constructor(worker) {
    super();
    this.#worker = worker;
    this.inWorker = true;
    worker.onmessage = ({ data }) => this.#heard(data);
    worker.onerror = (event) => this.#stop(`the node's worker failed: ${event.message ?? "unknown error"}`);
  }

  /** The worker is gone: every call still waiting rejects, and later ones throw "closed". */
  #stop(why) {
    this.#closed = true;
    this.#worker.terminate();
    for (const { reject } of this.#calls.values()) reject(closedError(why));
    this.#calls.clear();
  }

  async #init(options) {
    const opened = await this.#call("open", [options]);
    this.nodeId = opened.nodeId;
    this.persistent = opened.persistent;
    [this.#status, this.#peers] = [opened.syncStatus, opened.peers];
    const { ids, counts, verified, loaded, light, alone, liked, retweeted } = opened.mirror;
    ids.forEach((id, i) => this.#shown.set(id, {
      stats: { likes: counts[4 * i], retweets: counts[4 * i + 1], replies: counts[4 * i + 2], views: counts[4 * i + 3] },
      verified: verified[i],
      loaded: loaded[i],
    }));
    [this.#light, this.#alone] = [light, alone];
    this.#liked = new Set(liked);
    this.#retweeted = new Set(retweeted);
  }

  #heard(message) {
    if (message.syncStatus) [this.#status, this.#peers] = [message.syncStatus, message.peers];
    if (message.type === "result") {
      const call = this.#calls.get(message.id);
      this.#calls.delete(message.id);
      if (message.error) call?.reject(rebuilt(message.error));
      else call?.resolve(message.value);
    } else if (message.type === "changes") {
      for (const { verified, loaded, ...change } of message.changes) {
        this.#shown.set(change.tweetId, { stats: change.stats, verified, loaded });
        this.#snapshots.delete(change.tweetId);
        this.dispatchEvent(new CustomEvent("change", { detail: change }));
      }
    } else if (message.type === "event") {
      if (message.kind === "status" && !this.#light) {
        // A full node's tweets are loaded once it caught up.
        for (const [tweetId, snapshot] of this.#snapshots) {
          if (snapshot.loaded !== this.loaded(tweetId)) this.#snapshots.delete(tweetId);
        }
      }
      this.dispatchEvent(new CustomEvent(message.kind, { detail: message.detail }));
    }
  }

  #call(method, args) {
    const id = this.#nextCall++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  #checkOpen() {
    if (this.#closed) throw closedError("this StatsNode is closed");
  }

  /** An action: like the node's, it never throws (a bad argument or a closed node rejects). */
  #act(action, args, names) {
    try {
      names.forEach((name, i) => checkId(name, args[i]));
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call(action, args);
  }

  like(tweetId, userId) { return this.#mark("like", this.#liked, true, tweetId, userId); }
  unlike(tweetId, userId) { return this.#mark("unlike", this.#liked, false, tweetId, userId); }
  retweet(tweetId, userId) { return this.#mark("retweet", this.#retweeted, true, tweetId, userId); }
  unretweet(tweetId, userId) { return this.#mark("unretweet", this.#retweeted, false, tweetId, userId); }

  /** An action that sets or clears a mark: the page's copy of the mark follows once stored. */
  #mark(action, marks, present, tweetId, userId) {
    return this.#act(action, [tweetId, userId], ["tweetId", "userId"]).then((count) => {
      const mark = `${tweetId}\n${userId}`;
      if (present) marks.add(mark);
      else marks.delete(mark);
      return count;
    });
  }

  reply(tweetId, replyId) { return this.#act("reply", [tweetId, replyId], ["tweetId", "replyId"]); }
  deleteReply(tweetId, replyId) { return this.#act("deleteReply", [tweetId, replyId], ["tweetId", "replyId"]); }
  view(tweetId) { return this.#act("view", [tweetId], ["tweetId"]); }
  verify(tweetId) {
    return this.#act("verify", [tweetId], ["tweetId"]).then((verified) => {
      const shown = this.#shown.get(tweetId);
      // Until the next tally, as in the node (where a tweet not loaded is not verified).
      if (verified && shown) shown.verified = shown.loaded !== false;
      return verified;
    });
  }

  stats(tweetId) {
    checkId("tweetId", tweetId);
    return { ...(this.#shown.get(tweetId)?.stats ?? ZERO) };
  }

  /** As `StatsNode.subscribe`. */
  subscribe(tweetId, listener) {
    if (typeof listener !== "function") throw coded(new TypeError("listener must be a function"), "invalid-argument");
    checkId("tweetId", tweetId);
    const heard = (event) => { if (event.detail.tweetId === tweetId) listener(); };
    const status = () => { if (!this.#snapshots.has(tweetId)) listener(); };
    this.addEventListener("change", heard);
    this.addEventListener("status", status);
    return () => {
      this.removeEventListener("change", heard);
      this.removeEventListener("status", status);
    };
  }

  /** As `StatsNode.snapshot`: the same frozen object until the tweet's counts change or it
   *  is loaded. */
  snapshot(tweetId) {
    let snapshot = this.#snapshots.get(tweetId);
    if (!snapshot) {
      const [loaded, verified] = [this.loaded(tweetId), this.verified(tweetId)];
      snapshot = Object.freeze({ ...this.stats(tweetId), loaded, verified });
      if (this.#snapshots.size >= 10000) this.#snapshots.clear();
      this.#snapshots.set(tweetId, snapshot);
    }
    return snapshot;
  }

  verified(tweetId) {
    checkId("tweetId", tweetId);
    return this.#shown.get(tweetId)?.verified ?? !this.#light;
  }

  /** As `StatsNode.loaded`. */
  loaded(tweetId) {
    checkId("tweetId", tweetId);
    if (this.#light) return this.#shown.get(tweetId)?.loaded ?? false;
    return this.#alone || this.#status?.lastSync != null;
  }

  hasLiked(tweetId, userId) {
    checkId("tweetId", tweetId);
    checkId("userId", userId);
    return this.#liked.has(`${tweetId}\n${userId}`);
  }

  hasRetweeted(tweetId, userId) {
    checkId("tweetId", tweetId);
    checkId("userId", userId);
    return this.#retweeted.has(`${tweetId}\n${userId}`);
  }

  watch(tweetIds) {
    if (!Array.isArray(tweetIds)) {
      throw coded(new TypeError("tweetIds must be an array of strings"), "invalid-argument");
    }
    tweetIds.forEach((id) => checkId("tweetIds[]", id));
    this.#checkOpen();
    const handle = this.#nextCall++;
    this.#call("watch", [tweetIds, handle]).then((shown) => {
      for (const { tweetId, stats, verified, loaded } of shown) {
        this.#shown.set(tweetId, { stats, verified, loaded });
        this.#snapshots.delete(tweetId);
      }
    }, () => {});
    let watching = true;
    return () => {
      if (watching && !this.#closed) this.#call("unwatch", [handle]).catch(() => {});
      watching = false;
    };
  }

  /** Who contributed what to a tweet's statistics; resolves (the page holds no copy of it). */
  contributions(tweetId) {
    return this.#act("contributions", [tweetId], ["tweetId"]);
  }

  peers() { return this.#peers; }
  syncStatus() { return this.#status; }

  setOnline(online) {
    if (typeof online !== "boolean") throw coded(new TypeError("setOnline needs a boolean"), "invalid-argument");
    this.#checkOpen();
    this.#call("setOnline", [online]).catch(() => {});
  }

  /** Closes the node in the worker (see `StatsNode.close`), then the worker. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // The node's last status (offline) comes with the result.
      await this.#call("close", []);
    } catch {
      // The worker failed: it is gone all the same.
    } finally {
      this.#stop("this StatsNode is closed");
    }
  }

  [Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose")]() { return this.close(); }
  /** Closes without waiting, as `free()` does on the page's thread. */
  [Symbol.dispose ?? Symbol.for("Symbol.dispose")]() { this.close(); }
}

/** The node on this thread, with the worker node's API (`contributions` resolves). */
class ThreadStatsNode extends EventTarget {
  #node;

  constructor(node) {
    super();
    this.#node = node;
    this.inWorker = false;
    this.nodeId = node.nodeId;
    this.persistent = node.persistent;
  }

  contributions(tweetId) {
    return new Promise((resolve) => resolve(this.#node.contributions(tweetId))); // rejects, never throws
  }

  static {
    for (const method of [...ACTIONS, "stats", "loaded", "verified", "hasLiked", "hasRetweeted", "watch", "peers", "syncStatus", "setOnline",
      "addEventListener", "removeEventListener", "dispatchEvent", "subscribe", "snapshot", "close"]) {
      this.prototype[method] = function (...args) { return this.#node[method](...args); };
    }
  }

  [Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose")]() { return this.close(); }
}
