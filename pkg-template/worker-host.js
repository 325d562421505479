// The worker side of `warpnet-stats/worker`: runs one StatsNode and tells the page what it
// needs to answer its reads at once (see worker.js).
import init, { StatsNode, __mirror } from "./warpnet_stats.js";

// Changes go to the page in messages of at most this many tweets, so that handling one
// (making its "change" events) stays a short task on the page's thread.
const CHANGES_PER_MESSAGE = 1000;

let node;
let pending = [];
let flushing = false;
const unwatches = new Map();

const post = (message) => self.postMessage(message);
const errorOf = (error) => ({
  name: error?.name ?? "Error", message: String(error?.message ?? error), code: error?.code,
});
const status = () => ({ syncStatus: node.syncStatus(), peers: node.peers() });
let light = false;
/** Whether a tweet is verified and (a light node's: a full node's all are, once caught up) loaded. */
const shownOf = (tweetId) => (light
  ? { verified: node.verified(tweetId), loaded: node.loaded(tweetId) }
  : { verified: node.verified(tweetId) });

/** Sends what changed, then the status, once this task is done: one status message however
 *  many changes and calls came in it. */
function soon() {
  if (!flushing) {
    flushing = true;
    setTimeout(flush, 0);
  }
}

function flush() {
  flushing = false;
  sendChanges();
  post({ type: "status", ...status() });
}

/** Sends the changes gathered so far. */
function sendChanges() {
  for (let at = 0; at < pending.length; at += CHANGES_PER_MESSAGE) {
    const changes = pending.slice(at, at + CHANGES_PER_MESSAGE)
      .map((change) => ({ ...change, ...shownOf(change.tweetId) }));
    post({ type: "changes", changes });
  }
  pending = [];
}

async function open(options) {
  await init();
  node = await StatsNode.open(options);
  node.addEventListener("change", (event) => {
    pending.push(event.detail);
    soon();
  });
  for (const kind of ["identity", "warning"]) {
    node.addEventListener(kind, (event) => post({ type: "event", kind, detail: event.detail }));
  }
  // The page's copy of the status is the event's, before its listeners hear it.
  node.addEventListener("status", (event) => post({
    type: "event", kind: "status", detail: event.detail, syncStatus: event.detail, peers: node.peers(),
  }));
  setInterval(() => node && post({ type: "status", ...status() }), 1000);
  const mirror = __mirror(node);
  light = mirror.light;
  return { nodeId: node.nodeId, persistent: node.persistent, mirror, ...status() };
}

const calls = {
  open: ([options]) => open(options),
  watch: ([tweetIds, handle]) => {
    unwatches.set(handle, node.watch(tweetIds));
    // The page shows their counts at once from what this node holds.
    return tweetIds.map((tweetId) => ({ tweetId, stats: node.stats(tweetId), ...shownOf(tweetId) }));
  },
  unwatch: ([handle]) => {
    unwatches.get(handle)?.();
    unwatches.delete(handle);
  },
  contributions: ([tweetId]) => node.contributions(tweetId),
  setOnline: ([online]) => node.setOnline(online),
  close: async () => {
    await node.close();
    post({ type: "status", ...status() });
  },
};
for (const action of ["like", "unlike", "retweet", "unretweet", "reply", "deleteReply", "view", "verify"]) {
  calls[action] = (args) => node[action](...args);
}

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    const value = await calls[method](args);
    // What the call changed reaches the page first: a read after its promise resolves shows
    // it (reads follow one's own writes).
    if (node && method !== "close") sendChanges();
    post({ type: "result", id, value: value ?? null });
    if (node && method !== "close") soon();
  } catch (error) {
    post({ type: "result", id, error: errorOf(error) });
  }
};
post({ type: "started" });
