// Web clients as a feed uses them: 130 short-lived nodes each liking once and closing at once;
// light tabs on the page's thread and in a worker (warpnet-stats/worker), with an edge node
// process and a full node on loopback WebSocket:
// watches that nest and overlap keep their updates until the last one ends; verify() on a full
// node, and on a popular tweet's tally before and after the tab's own like of it; a worker's
// reads of tweets it let go are the page-thread node's, and follow its own writes.
// Needs scripts/build-pkg and the debug edge node binary (scripts/test builds both first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { edgeAndBrowser } from "./hooks.mjs";

const DIFFICULTY = 8; // identity proofs minted at once (see network.test.mjs)
const env = edgeAndBrowser({ args: ["--difficulty", String(DIFFICULTY)] });
// Writers of a like, a retweet, a reply and a view each: more counters (132) than an edge node
// sends a light node one by one, so the tweet comes as a tally.
const POPULAR_WRITERS = 33;

async function open(query) {
  const page = await (await env.browser.newContext()).newPage();
  page.on("pageerror", (error) => { page.pageError = error; });
  await page.goto(`${env.edge.url}index.html?difficulty=${DIFFICULTY}&${query}`);
  await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => window.openError), undefined);
  await page.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 30_000 });
  return page;
}

const stats = (page, tweet) => page.evaluate((t) => window.statsNode.stats(t), tweet);
const like = (page, tweet, user) => page.evaluate(([t, u]) => window.statsNode.like(t, u), [tweet, user]);

async function until(page, tweet, likes, verified) {
  try {
    await page.waitForFunction(([t, likes, verified]) => window.statsNode.stats(t).likes === likes
      && (verified === undefined || window.statsNode.verified(t) === verified), [tweet, likes, verified], { timeout: 15_000 });
  } catch (error) {
    const state = await page.evaluate((t) => ({ stats: window.statsNode.stats(t), verified: window.statsNode.verified(t), status: window.statsNode.syncStatus() }), tweet);
    throw new Error(`${error.message}\nwanted ${likes} likes (verified: ${verified}); ${JSON.stringify(state)}`);
  }
}

/** `writers` full nodes of their own (one page, separate databases) each like, retweet, reply
 *  to and view `tweet` once, and stay open until `full` holds all of it. */
async function seed(full, tweet, writers) {
  const seeder = await (await env.browser.newContext()).newPage();
  await seeder.goto(`${env.edge.url}index.html?difficulty=${DIFFICULTY}`);
  await seeder.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  await seeder.evaluate(async ([tweet, writers, difficulty]) => {
    const { StatsNode } = await import("/pkg/warpnet_stats.js");
    const { addresses } = await (await fetch("/bootstrap.json")).json();
    const bootstrap = addresses.filter((a) => a.includes("/ws/") && a.startsWith("/ip4/127.0.0.1/"));
    window.seeders = [];
    // A few at a time: an edge node takes 8 handshakes per address at once.
    for (let at = 0; at < writers; at += 6) {
      const batch = await Promise.all(Array.from({ length: Math.min(6, writers - at) }, (_, i) =>
        StatsNode.open({ namespace: "e2e", dbName: `seed-${tweet}-${at + i}`, bootstrap, difficulty })));
      await Promise.all(batch.map(async (node, i) => {
        await node.like(tweet, `seeder-${at + i}`);
        await node.retweet(tweet, `seeder-${at + i}`);
        await node.reply(tweet, `reply-${at + i}`);
        await node.view(tweet);
      }));
      window.seeders.push(...batch);
    }
  }, [tweet, writers, DIFFICULTY]);
  await full.waitForFunction(([t, n]) => window.statsNode.stats(t).views === n && window.statsNode.stats(t).likes === n,
    [tweet, writers], { timeout: 60_000 });
  await seeder.evaluate(() => window.seeders.forEach((node) => node.close()));
  await seeder.context().close();
}

test("watches nest and overlap: updates come until the last watch of a tweet ends, on the page's thread and in a worker", async () => {
  const full = await open("transport=websocket");
  for (const mode of ["light", "light&worker"]) {
    const tab = await open(mode);
    const [x, y, z] = ["x", "y", "z"].map((name) => `nest-${mode}-${name}`);
    await tab.evaluate(([x, y]) => {
      const node = window.statsNode;
      const first = node.watch([x]);
      window.second = node.watch([x]); // the same tweet watched twice (React StrictMode, two rows)
      first();
      const both = node.watch([x, y]);
      window.onlyY = node.watch([y]); // overlapping
      both();
    }, [x, y]);
    await like(full, x, "alice");
    await like(full, y, "alice");
    await until(tab, x, 1);
    await until(tab, y, 1);
    // The last watches end: later likes of x and y do not come; z's, after them, does.
    await tab.evaluate(() => { window.second(); window.onlyY(); });
    await tab.evaluate((z) => { window.statsNode.watch([z]); }, z);
    await like(full, x, "bob");
    await like(full, y, "bob");
    await like(full, z, "bob");
    await until(tab, z, 1);
    assert.deepEqual([(await stats(tab, x)).likes, (await stats(tab, y)).likes], [1, 1], `${mode}: unwatched`);
    const late = await tab.evaluate(([x, y]) => window.changes.filter((c) => (c.tweetId === x || c.tweetId === y) && c.stats.likes > 1), [x, y]);
    assert.deepEqual(late, [], `${mode}: no change events after the last unwatch`);
    assert.equal(tab.pageError, undefined);
    await tab.context().close();
  }
  await full.context().close();
});

test("verify() on a full node, and on a light tab's tally of a popular tweet before and after the tab's own like, on the page's thread and in a worker", async () => {
  const full = await open("transport=websocket");
  await seed(full, "popular", POPULAR_WRITERS);
  assert.equal(await full.evaluate(() => window.statsNode.verify("popular")), true, "a full node holds every entry");
  let likes = POPULAR_WRITERS;
  for (const mode of ["light", "light&worker"]) {
    const tab = await open(mode);
    await tab.evaluate(() => { window.statsNode.watch(["popular"]); });
    await until(tab, "popular", likes, false); // the edge node's tally, not checked yet
    assert.equal(await tab.evaluate(() => window.statsNode.verify("popular")), true, `${mode}: the tally checks`);
    assert.equal(await tab.evaluate(() => window.statsNode.verified("popular")), true);
    // Its own like: the counts stay exact and the tally still checks.
    await like(tab, "popular", `me-${mode}`);
    likes += 1;
    await until(full, "popular", likes);
    await until(tab, "popular", likes);
    assert.equal(await tab.evaluate(() => window.statsNode.verify("popular")), true, `${mode}: checks after its own like`);
    await until(tab, "popular", likes, true);
    // Its own row and the tally's rest, adding up to what is shown.
    const shares = await tab.evaluate(() => window.statsNode.contributions("popular"));
    assert.deepEqual(shares.map((s) => [s.local, s.tally, s.likes]), [[true, false, 1], [false, true, likes - 1]], `${mode}: rows`);
    assert.equal(tab.pageError, undefined);
    await tab.context().close();
  }
  await full.context().close();
});

test("a light worker's reads of the tweets it let go are the page-thread light node's", async () => {
  const full = await open("transport=websocket");
  const feed = ["e1", "e2", "e3", "e4"];
  for (const tweet of feed) await like(full, tweet, "alice");
  const shown = [];
  for (const mode of ["light&maxTweets=2", "light&maxTweets=2&worker"]) {
    const tab = await open(mode);
    // A feed scrolled row by row: each tweet watched until its count shows, then let go.
    for (const tweet of feed) {
      await tab.evaluate((t) => { window.unwatch = window.statsNode.watch([t]); }, tweet);
      await until(tab, tweet, 1);
      await tab.evaluate(() => window.unwatch());
    }
    const reads = await tab.evaluate(async (feed) => Promise.all(feed.map(async (t) =>
      [window.statsNode.stats(t).likes, (await window.statsNode.contributions(t)).length])), feed);
    shown.push(reads);
    await tab.context().close();
  }
  // The two tweets used first were let go: only the tab's own counts (none) are left of them.
  assert.deepEqual(shown[0], [[0, 0], [0, 0], [1, 1], [1, 1]], "page thread");
  assert.deepEqual(shown[1], shown[0], "the worker reads as the page-thread node");
  await full.context().close();
});

test("a worker's reads follow its own writes: right after an action resolves, stats() shows it", async () => {
  const tab = await open("worker");
  const stale = await tab.evaluate(async () => {
    const node = window.statsNode;
    const seen = [];
    for (let i = 0; i < 100; i++) {
      const likes = await node.like("rw", `user-${i}`);
      const views = await node.view("rw");
      const shown = node.stats("rw");
      if (shown.likes !== likes || shown.views !== views || !node.hasLiked("rw", `user-${i}`)) seen.push([i, likes, shown]);
    }
    return seen;
  });
  assert.deepEqual(stale, [], "reads that missed the action just resolved");
  await tab.context().close();
});

test("130 short-lived nodes, each liking once and closing at once: every like reaches the edge node", async () => {
  const full = await open("transport=websocket");
  const nodes = 130;
  const page = await (await env.browser.newContext()).newPage();
  page.on("pageerror", (error) => { page.pageError = error; });
  await page.goto(`${env.edge.url}index.html?difficulty=${DIFFICULTY}`);
  await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  await page.evaluate(async ([nodes, difficulty]) => {
    const { StatsNode } = await import("/pkg/warpnet_stats.js");
    const { addresses } = await (await fetch("/bootstrap.json")).json();
    const bootstrap = addresses.filter((a) => a.includes("/ws/") && a.startsWith("/ip4/127.0.0.1/"));
    const connected = (node) => new Promise((resolve) => {
      const check = () => (node.syncStatus().connected ? resolve() : setTimeout(check, 20));
      check();
    });
    for (let at = 0; at < nodes; at += 10) {
      await Promise.all(Array.from({ length: Math.min(10, nodes - at) }, async (_, i) => {
        const node = await StatsNode.open({ namespace: "e2e", dbName: `short-${at + i}`, bootstrap, difficulty });
        await connected(node);
        await node.like("short-lived", `user-${at + i}`);
        node.close(); // at once: the node stays on in the background until the edge node holds it
      }));
    }
  }, [nodes, DIFFICULTY]);
  try {
    await full.waitForFunction((n) => window.statsNode.stats("short-lived").likes === n, nodes, { timeout: 60_000 });
  } catch (error) {
    const likes = await full.evaluate(() => window.statsNode.stats("short-lived").likes);
    const metrics = (await (await fetch(`${env.edge.url}metrics`)).text()).split("\n").filter((l) => /dropped|entries|connections/.test(l) && !l.startsWith("#"));
    throw new Error(`${error.message}: ${likes} of ${nodes} likes reached the edge node\n${metrics.join("\n")}\n${JSON.stringify(await full.evaluate(() => window.statsNode.syncStatus()))}`);
  }
  assert.equal(page.pageError, undefined);
  await page.context().close();
  await full.context().close();
});
