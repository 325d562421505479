// Two browser nodes (two contexts: separate storage, so separate node ids) and an edge node
// process, all on loopback, over WebSocket and over WebRTC-direct: a like in one appears in
// the other; one goes offline, both change, it comes back, and both converge. Two light tabs
// with feeds that partly overlap: they converge on the tweets they share and get nothing else.
// A node in a worker (warpnet-stats/worker) with a page-thread node, and its fallback.
// Needs scripts/build-pkg and the debug edge node binary (scripts/test builds both first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { edgeAndBrowser } from "./hooks.mjs";
import { EVENTS_CHECK, EVENTS_SEEN } from "./events.mjs";

// Identity proofs of 8 bits: minted at once, so what is tested is the network, not how long a
// proof of work happened to take (at the default 23 bits one in twenty takes over 3x the mean).
const DIFFICULTY = 8;
const env = edgeAndBrowser({ args: ["--difficulty", String(DIFFICULTY)] });

/** A browser node in a fresh context, connected to the edge node over `transport` and caught up. */
async function openNode(transport) {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${env.edge.url}index.html?transport=${transport}&difficulty=${DIFFICULTY}`);
  await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => window.openError), undefined);
  await waitConnected(page);
  return page;
}

async function waitConnected(page) {
  await page.waitForFunction(() => {
    const status = window.statsNode.syncStatus();
    return status.connected && status.syncsCompleted > 0;
  }, null, { timeout: 30_000 });
}

const count = (page, tweet) => page.evaluate((tweet) => window.statsNode.stats(tweet), tweet);
async function until(page, tweet, likes, retweets = 0) {
  try {
    await page.waitForFunction(([tweet, likes, retweets]) => {
      const stats = window.statsNode.stats(tweet);
      return stats.likes === likes && stats.retweets === retweets;
    }, [tweet, likes, retweets], { timeout: 15_000 });
  } catch (error) {
    const state = await page.evaluate((t) => ({ stats: window.statsNode.stats(t), status: window.statsNode.syncStatus() }), tweet);
    throw new Error(`${error.message}\nwanted ${likes} likes, ${retweets} retweets; ${JSON.stringify(state)}\nedge log:\n${env.edge.log().split("\n").filter((l) => /warpnet/.test(l)).join("\n")}`);
  }
}

for (const transport of ["websocket", "webrtc-direct"]) {
  test(`over ${transport}: likes travel, and a node that was offline converges`, async () => {
    const [a, b] = [await openNode(transport), await openNode(transport)];
    const ids = await Promise.all([a, b].map((p) => p.evaluate(() => window.statsNode.nodeId)));
    assert.notEqual(ids[0], ids[1], "two nodes");
    for (const page of [a, b]) {
      const peers = await page.evaluate(() => window.statsNode.peers());
      assert.equal(peers.length, 1);
      assert.equal(peers[0].transport, transport);
      assert.ok(peers[0].address.includes(transport === "websocket" ? "/ws" : "/webrtc-direct"));
    }
    const tweet = `t-${transport}`;

    // Live: a like in a appears in b as a remote change.
    assert.equal(await a.evaluate((t) => window.statsNode.like(t, "alice"), tweet), 1);
    await until(b, tweet, 1);
    // The event follows once the entry is stored.
    await b.waitForFunction((t) => window.changes.some((c) => c.tweetId === t), tweet);
    const remote = await b.evaluate((t) => window.changes.filter((c) => c.tweetId === t), tweet);
    assert.deepEqual(remote.map((c) => [c.source, c.stats.likes]), [["remote", 1]]);

    // b goes offline; both change; b keeps counting locally and holds its change as pending.
    await b.evaluate(() => window.statsNode.setOnline(false));
    await b.waitForFunction(() => window.statsNode.peers().length === 0, null, { timeout: 10_000 });
    await a.evaluate((t) => window.statsNode.like(t, "bob"), tweet);
    await b.evaluate(async (t) => { await window.statsNode.like(t, "carol"); await window.statsNode.retweet(t, "carol"); }, tweet);
    assert.deepEqual(await count(b, tweet), { likes: 2, retweets: 1, replies: 0, views: 0 }, "alice's and carol's");
    await until(a, tweet, 2);
    const offline = await b.evaluate(() => window.statsNode.syncStatus());
    assert.equal(offline.online, false);
    assert.equal(offline.connected, false);
    assert.ok(offline.pendingEntries >= 2, `pending while offline: ${JSON.stringify(offline)}`);

    // Back online: both converge to the same totals, and nothing is pending.
    await b.evaluate(() => window.statsNode.setOnline(true));
    await waitConnected(b);
    await until(a, tweet, 3, 1);
    await until(b, tweet, 3, 1);
    // Nothing pending once a peer took them: at once when its publication after reconnecting
    // went out, else by the next catch-up (every 30 s). Over WebRTC-direct the publication
    // right after reconnecting sometimes finds no subscribed peer yet (known; see the notes).
    try {
      await b.waitForFunction(() => window.statsNode.syncStatus().pendingEntries === 0, null, { timeout: 45_000 });
    } catch (error) {
      throw new Error(`${error.message}: ${await b.evaluate(() => JSON.stringify(window.statsNode.syncStatus()))}`);
    }
    assert.equal(await b.evaluate((t) => window.statsNode.hasLiked(t, "carol"), tweet), true);
    for (const page of [a, b]) await page.context().close();
  });
}

test("a full tab over WebRTC-direct that went offline and back three times: its like arrives live, not at the next catch-up", async () => {
  const [a, b] = [await openNode("webrtc-direct"), await openNode("websocket")];
  for (let cycle = 0; cycle < 3; cycle++) {
    await a.evaluate(() => window.statsNode.setOnline(false));
    await a.waitForFunction(() => !window.statsNode.syncStatus().connected, null, { timeout: 10_000 });
    await a.evaluate(() => window.statsNode.setOnline(true));
    await a.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 30_000 });
  }
  const liked = await a.evaluate(async () => { await window.statsNode.like("rtc-cycles", "alice"); return Date.now(); });
  // Live is within milliseconds; the next catch-up (every 30 s) would be far beyond this wait.
  try {
    await b.waitForFunction(() => window.statsNode.stats("rtc-cycles").likes === 1, null, { timeout: 5_000 });
  } catch (error) {
    const state = await a.evaluate(() => JSON.stringify([window.statsNode.syncStatus(), window.statsNode.peers()]));
    throw new Error(`${error.message}: ${state}\nedge log:\n${env.edge.log().split("\n").slice(-40).join("\n")}`);
  }
  console.log(`the like arrived ${Date.now() - liked} ms after it was made (three offline/online cycles)`);
  for (const page of [a, b]) await page.context().close();
});

test("light tabs with partly overlapping feeds converge on the tweets they share and receive nothing of the rest", async () => {
  const open = async () => {
    const page = await (await env.browser.newContext()).newPage();
    await page.goto(`${env.edge.url}index.html?light&difficulty=${DIFFICULTY}`);
    await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.openError), undefined);
    // A light node pulls no catch-up: connected is all there is to wait for.
    await page.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 30_000 });
    return page;
  };
  const [a, b] = [await open(), await open()];
  const feed = (from, to) => Array.from({ length: to - from }, (_, i) => `feed-${from + i}`);
  const [onlyA, shared, onlyB] = [feed(0, 3), feed(3, 6), feed(6, 9)];
  await a.evaluate((ids) => { window.unwatch = window.statsNode.watch(ids); }, [...onlyA, ...shared]);
  await b.evaluate((ids) => { window.unwatch = window.statsNode.watch(ids); }, [...shared, ...onlyB]);
  const likeAll = (page, ids, user) => page.evaluate(([ids, user]) => Promise.all(ids.map((t) => window.statsNode.like(t, user))), [ids, user]);
  await likeAll(a, [...onlyA, ...shared], "alice");
  await likeAll(b, [...shared, ...onlyB], "bob");
  for (const tweet of shared) {
    await until(a, tweet, 2);
    await until(b, tweet, 2);
  }
  // A later like on a shared tweet arrives; those on the tweets only the other shows never did.
  await b.evaluate((t) => window.statsNode.like(t, "carol"), shared[0]);
  await until(a, shared[0], 3);
  const likes = (page, ids) => page.evaluate((ids) => ids.map((t) => window.statsNode.stats(t).likes), ids);
  assert.deepEqual(await likes(a, onlyB), [0, 0, 0], "b's likes on tweets a does not show");
  assert.deepEqual(await likes(b, onlyA), [0, 0, 0], "a's likes on tweets b does not show");
  assert.deepEqual(await likes(a, onlyA), [1, 1, 1], "a's own");
  // Remote changes came only for the tweets each page watches (one when each was loaded, more
  // with the other page's likes), and the other page's counts are held of the shared ones alone.
  const heard = (page) => page.evaluate(() => [...new Set(window.changes.filter((c) => c.source === "remote").map((c) => c.tweetId))].sort());
  const othersHeld = (page, ids) => page.evaluate((ids) => ids.filter((t) => window.statsNode.contributions(t).some((c) => !c.local)), ids);
  const all = [...onlyA, ...shared, ...onlyB];
  await a.waitForFunction((ids) => ids.every((t) => window.statsNode.loaded(t)), [...onlyA, ...shared]);
  await b.waitForFunction((ids) => ids.every((t) => window.statsNode.loaded(t)), [...shared, ...onlyB]);
  assert.deepEqual(await heard(a), [...onlyA, ...shared].sort(), "a heard of the tweets it shows alone");
  assert.deepEqual(await heard(b), [...shared, ...onlyB].sort(), "b heard of the tweets it shows alone");
  assert.deepEqual(await othersHeld(a, all), shared, "a holds b's counts of the shared tweets alone");
  assert.deepEqual(await othersHeld(b, all), shared, "b holds a's counts of the shared tweets alone");

  // Offline and back: b counts while offline; both converge on the shared tweet after.
  await b.evaluate(() => window.statsNode.setOnline(false));
  await b.waitForFunction(() => !window.statsNode.syncStatus().connected, null, { timeout: 10_000 });
  await a.evaluate((t) => window.statsNode.like(t, "dave"), shared[1]);
  await b.evaluate((t) => window.statsNode.like(t, "erin"), shared[1]);
  await until(a, shared[1], 3);
  await b.evaluate(() => window.statsNode.setOnline(true));
  await until(a, shared[1], 4);
  await until(b, shared[1], 4);
  for (const page of [a, b]) await page.context().close();
});

test("a node in a worker (warpnet-stats/worker): the StatsNode API, with a page-thread node, across a reload, and on the page's thread where no worker can start", async () => {
  const context = await env.browser.newContext();
  const open = async (page, query) => {
    await page.goto(`${env.edge.url}index.html?difficulty=${DIFFICULTY}&${query}`);
    await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.openError), undefined);
    await waitConnected(page);
    return page;
  };
  const w = await open(await context.newPage(), "worker");
  const m = await openNode("websocket");
  assert.equal(await w.evaluate(() => window.statsNode.inWorker), true);
  assert.equal(await w.evaluate(() => window.statsNode.peers()[0].transport), "websocket");

  // Likes both ways; the worker page's reads answer at once from its copy.
  assert.equal(await w.evaluate(() => window.statsNode.like("w1", "alice")), 1);
  await until(m, "w1", 1);
  await m.evaluate(() => window.statsNode.like("w1", "bob"));
  await until(w, "w1", 2);
  assert.deepEqual(await w.evaluate(() => window.changes.filter((c) => c.tweetId === "w1").map((c) => [c.source, c.stats.likes])),
    [["local", 1], ["remote", 2]]);
  assert.deepEqual(await w.evaluate(() => [window.statsNode.hasLiked("w1", "alice"), window.statsNode.hasLiked("w1", "bob"),
    window.statsNode.verified("w1"), window.statsNode.stats("w1").likes]), [true, false, true, 2]);
  const shares = await w.evaluate(() => window.statsNode.contributions("w1"));
  assert.deepEqual(shares.map((s) => [s.local, s.likes]).sort(), [[false, 1], [true, 1]]);
  // Errors as StatsNode makes them: the argument's type checked on the page, its value in the worker.
  assert.deepEqual(await w.evaluate(() => { try { window.statsNode.stats(5); } catch (e) { return [e.name, e.code]; } }),
    ["TypeError", "invalid-argument"]);
  assert.deepEqual(await w.evaluate(() => window.statsNode.like("a/b", "u").catch((e) => [e instanceof RangeError, e.code])),
    [true, "invalid-argument"]);

  // Offline, both count, back: converged.
  await w.evaluate(() => window.statsNode.setOnline(false));
  await w.waitForFunction(() => !window.statsNode.syncStatus().connected, null, { timeout: 10_000 });
  await w.evaluate(() => window.statsNode.retweet("w1", "alice"));
  await m.evaluate(() => window.statsNode.like("w1", "carol"));
  await w.evaluate(() => window.statsNode.setOnline(true));
  await until(w, "w1", 3, 1);
  await until(m, "w1", 3, 1);

  // A reload: the page's copy is made from the node's store at open, so reads are right at once.
  await w.reload();
  await w.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  assert.deepEqual(await w.evaluate(() => [window.statsNode.inWorker, window.statsNode.stats("w1"),
    window.statsNode.hasLiked("w1", "alice"), window.statsNode.hasRetweeted("w1", "alice")]),
  [true, { likes: 3, retweets: 1, replies: 0, views: 0 }, true, true]);
  await w.evaluate(() => window.statsNode.close());
  await w.close();

  // Where no worker can start, the same call runs the node on the page's thread.
  const fallback = await context.newPage();
  await fallback.addInitScript(() => { delete window.Worker; });
  await open(fallback, "worker");
  assert.equal(await fallback.evaluate(() => window.statsNode.inWorker), false);
  await until(fallback, "w1", 3, 1);
  assert.equal((await fallback.evaluate(() => window.statsNode.contributions("w1"))).length, 2);
  await context.close();
  await m.context().close();
});

// Every bad input a web developer might pass, to a node on the page's thread and to one in a
// worker: what each does (throws, rejects), with which error name, code and message.
const PROBES = `(async () => {
  const node = window.statsNode;
  const ops = {
    "like('')": () => node.like("", "u"),
    "like(5)": () => node.like(5, "u"),
    "like('a/b')": () => node.like("a/b", "u"),
    "unlike(id, '')": () => node.unlike("t", ""),
    "reply(id, long)": () => node.reply("t", "x".repeat(129)),
    "view(control)": () => node.view("a\u0001b"),
    "verify('')": () => node.verify(""),
    "stats('')": () => node.stats(""),
    "stats(5)": () => node.stats(5),
    "verified('')": () => node.verified(""),
    "hasLiked(id, '')": () => node.hasLiked("t", ""),
    "watch('t')": () => node.watch("t"),
    "watch([1])": () => node.watch([1]),
    "watch(['a/b'])": () => node.watch(["a/b"]),
    "setOnline('yes')": () => node.setOnline("yes"),
    "subscribe(id, 5)": () => node.subscribe("t", 5),
    "snapshot('')": () => node.snapshot(""),
  };
  const seen = {};
  for (const [name, op] of Object.entries(ops)) {
    try {
      const value = op();
      seen[name] = value instanceof Promise
        ? await value.then(() => "resolves", (e) => ["rejects", e.name, e.code, e.message])
        : "returns";
    } catch (e) {
      seen[name] = ["throws", e.name, e.code, e.message];
    }
  }
  return seen;
})()`;

test("a node in a worker and one on the page's thread answer every bad input alike", async () => {
  const context = await env.browser.newContext();
  const seen = {};
  for (const query of ["worker", "thread"]) {
    const page = await context.newPage();
    await page.goto(`${env.edge.url}index.html?difficulty=${DIFFICULTY}&${query}`);
    await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.openError), undefined);
    seen[query] = await page.evaluate(PROBES);
  }
  assert.deepEqual(seen.worker, seen.thread);
  assert.deepEqual(seen.thread["like('')"], ["rejects", "RangeError", "invalid-argument", "tweetId: tweet id is empty"]);
  assert.deepEqual(seen.thread["watch('t')"], ["throws", "TypeError", "invalid-argument", "tweetIds must be an array of strings"]);
  assert.equal(Object.values(seen.thread).every((what) => Array.isArray(what)), true, JSON.stringify(seen.thread));
  await context.close();
});

// A light node on the page's thread, a full node in a worker.
for (const variant of ["page", "worker"]) {
  test(`a ${variant} StatsNode is an EventTarget ({ once }, { signal }), says its status in events, and closes with await`, async () => {
    const page = await (await env.browser.newContext()).newPage();
    const errors = [];
    page.on("pageerror", (error) => errors.push(error));
    await page.goto(`${env.edge.url}index.html?difficulty=${DIFFICULTY}${variant === "worker" ? "&worker" : "&light"}`);
    await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.openError), undefined);
    // The full node caught up first: what the earlier tests liked comes before, not during.
    await page.waitForFunction((light) => {
      const status = window.statsNode.syncStatus();
      return status.connected && (light || status.syncsCompleted > 0);
    }, variant === "page", { timeout: 30_000 });
    assert.equal(await page.evaluate(() => window.statsNode.inWorker ?? false), variant === "worker");
    assert.deepEqual(await page.evaluate(EVENTS_CHECK), EVENTS_SEEN);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}
