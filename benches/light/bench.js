// The light node benchmark's page script (benches/light.mjs drives window.bench).
import init, { StatsNode } from "/pkg/warpnet_stats.js";

await init();
const { addresses } = await (await fetch("/bootstrap.json")).json();
const bootstrap = addresses.filter((a) => a.includes("/ws/") && a.startsWith("/ip4/127.0.0.1/"));
const open = (maxTweets) =>
  StatsNode.open({ namespace: "mainnet", bootstrap, difficulty: 0, light: true, maxTweets });

/** Resolves once `done()` holds, checked on every change event of `node`. */
const until = (node, done) => new Promise((resolve) => {
  if (done()) return resolve();
  const check = () => {
    if (!done()) return;
    node.removeEventListener("change", check);
    resolve();
  };
  node.addEventListener("change", check);
});

window.bench = {
  /**
   * A fresh light node watches `ids`: the ms from `open()` resolving until every one shows
   * `likes` likes with `verified`, and the bytes received by then.
   */
  async fresh(ids, likes, verified) {
    const opening = performance.now();
    const node = await open();
    const opened = performance.now();
    // When the connection was up and the first counts came (checked every few ms).
    let connected;
    const polling = setInterval(() => {
      if (node.syncStatus().connected) connected ??= performance.now() - opened;
    }, 1);
    let first;
    node.addEventListener("change", () => { first ??= performance.now() - opened; });
    node.watch(ids);
    await until(node, () => ids.every((id) => node.stats(id).likes === likes && node.verified(id) === verified));
    const shown = performance.now();
    clearInterval(polling);
    const bytes = node.syncStatus().receivedBytes;
    window.node = node;
    return { openMs: opened - opening, shownMs: shown - opened, bytes, first, connected };
  },

  /** `window.node` checks `id` in full: whether it holds, the ms and bytes it took. */
  async verify(id) {
    const before = window.node.syncStatus().receivedBytes;
    const started = performance.now();
    const confirmed = await window.node.verify(id).catch((e) => String(e));
    return { confirmed, ms: performance.now() - started, bytes: window.node.syncStatus().receivedBytes - before };
  },

  /** A light node with `maxTweets` watches `ids` `step` at a time until each shows one like. */
  async scroll(ids, step, maxTweets) {
    const node = await open(maxTweets);
    const started = performance.now();
    for (let i = 0; i < ids.length; i += step) {
      const rows = ids.slice(i, i + step);
      const unwatch = node.watch(rows);
      await until(node, () => rows.every((id) => node.stats(id).likes === 1));
      unwatch();
    }
    const ms = performance.now() - started;
    node.close();
    return { ms };
  },

  /** A full node that likes (`likes`); resolves once connected with its identity minted. */
  async writer() {
    window.node = await StatsNode.open({ namespace: "mainnet", bootstrap, difficulty: 0 });
    while (!window.node.syncStatus().connected || !window.node.syncStatus().identity.minted) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  },

  /**
   * For `warmup` + `seconds`, `perSecond` likes a second (by the clock, every 10 ms what is
   * due) on tweets `unwatched-*`; after `warmup`, one every 100 ms on `watched` in turn;
   * returns those with the time each was sent (ms since the epoch).
   */
  async likes(warmup, seconds, perSecond, watched) {
    const node = window.node;
    const start = performance.now();
    const sent = [];
    let n = 0;
    while (performance.now() - start < (warmup + seconds) * 1000) {
      const due = Math.floor((performance.now() - start) * perSecond / 1000);
      const likes = [];
      for (; n < due; n++) likes.push(node.like(`unwatched-${n % 100000}`, `u${n}`));
      const samples = Math.floor((performance.now() - start - warmup * 1000) / 100);
      while (sent.length < samples) {
        const tweet = watched[sent.length % watched.length];
        sent.push({ tweet, at: performance.timeOrigin + performance.now() });
        likes.push(node.like(tweet, `w${sent.length}`));
      }
      await Promise.all(likes);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { sent, unwatched: n };
  },

  /** A fresh light node watches `ids` and notes when each change of them arrives. */
  async watching(ids) {
    const node = await StatsNode.open({ namespace: "mainnet", bootstrap, difficulty: 0, light: true });
    window.node = node;
    window.arrivals = [];
    node.addEventListener("change", (e) => {
      const { tweetId, stats } = e.detail;
      window.arrivals.push({ tweet: tweetId, likes: stats.likes, at: performance.timeOrigin + performance.now() });
    });
    node.watch(ids);
    while (!node.syncStatus().connected) await new Promise((resolve) => setTimeout(resolve, 10));
  },

  /** Opens again (after a reload): the ms `open()` took and how many of `ids` it holds. */
  async reopen(ids, maxTweets) {
    const opening = performance.now();
    const node = await open(maxTweets);
    const ms = performance.now() - opening;
    const held = ids.filter((id) => node.stats(id).likes > 0).length;
    node.close();
    return { ms, held };
  },
};
window.ready = true;
