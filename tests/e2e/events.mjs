// What a StatsNode (page thread or worker) does as a DOM EventTarget and through its lifecycle,
// as source run in the page (Chromium through Playwright, Firefox through geckodriver), whose
// `window.statsNode` is connected to an edge node: `once` and `signal` listeners, "status"
// events going offline, back and closing, `lastSync`, `await close()`, watched tweets nobody
// liked loaded (a "change" event says so; a full node caught up already). Resolves to what it
// saw.
export const EVENTS_CHECK = `(async () => {
  const node = window.statsNode;
  const within = (what, promise) => Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error("timed out waiting for " + what + ": " + JSON.stringify(node.syncStatus()))), 20000))]);
  const status = (what, check) => within(what, new Promise((resolve) => {
    const heard = (event) => {
      if (check(event.detail)) {
        node.removeEventListener("status", heard);
        resolve(event.detail);
      }
    };
    node.addEventListener("status", heard);
  }));
  // A light node's lastSync: when an edge node last answered what it watches.
  const [first, second] = ["events-1-" + node.nodeId, "events-2-" + node.nodeId].map((id) => id.slice(0, 64));
  const ours = (event) => event.detail.tweetId === first || event.detail.tweetId === second;
  const unwatch = node.watch([first, second]);
  const loaded = (tweetId) => node.loaded(tweetId) || within(tweetId + " loaded", new Promise((resolve) => {
    const heard = (event) => {
      if (event.detail.tweetId === tweetId && node.loaded(tweetId)) {
        node.removeEventListener("change", heard);
        resolve();
      }
    };
    node.addEventListener("change", heard);
  }));
  await Promise.all([loaded(first), loaded(second)]);
  const nobodyLiked = node.snapshot(first);
  const heard = { all: 0, once: 0, signal: 0 };
  node.addEventListener("change", (event) => { if (ours(event)) heard.all++; });
  node.addEventListener("change", () => heard.once++, { once: true });
  const abort = new AbortController();
  node.addEventListener("change", (event) => { if (ours(event)) heard.signal++; }, { signal: abort.signal });
  await node.like(first, "ev");
  abort.abort();
  await node.like(second, "ev");

  const offline = status("offline", (s) => !s.online && !s.connected);
  node.setOnline(false);
  await offline;
  const back = status("connected again", (s) => s.online && s.connected);
  node.setOnline(true);
  const reconnected = await back;
  const lastSync = node.syncStatus().lastSync !== null
    || (await status("an edge node's answer", (s) => s.lastSync !== null)).lastSync !== null;

  // What was heard while watched (a light node's unwatch then tells each tweet unloaded).
  const heardWatched = { ...heard };
  unwatch();
  const closing = status("closed", (s) => !s.online);
  const closed = await within("close()", node.close());
  await closing;
  const after = await node.like(first, "ev2").then(() => null, (error) => error.code);
  return {
    nobodyLiked,
    eventTarget: node instanceof EventTarget,
    heard: heardWatched,
    reconnected: reconnected.connected,
    lastSync,
    closed: closed === undefined,
    onlineAfterClose: node.syncStatus().online,
    closeAgain: (await node.close()) === undefined,
    actionAfterClose: after,
    asyncDispose: typeof Symbol.asyncDispose !== "symbol" || typeof node[Symbol.asyncDispose] === "function",
  };
})()`;

/** What EVENTS_CHECK must see. */
export const EVENTS_SEEN = {
  nobodyLiked: { likes: 0, retweets: 0, replies: 0, views: 0, loaded: true, verified: true },
  eventTarget: true,
  heard: { all: 2, once: 1, signal: 1 },
  reconnected: true,
  lastSync: true,
  closed: true,
  onlineAfterClose: false,
  closeAgain: true,
  actionAfterClose: "closed",
  asyncDispose: true,
};
