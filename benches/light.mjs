// Browser benchmark of light nodes (not a test): headless Chromium tabs (the npm package, real
// IndexedDB) served by an edge node process (target/release, --difficulty 0) on loopback
// WebSocket, on stores made by `LIGHT_STORES=<dir> cargo bench --bench light` (scripts/bench
// --light-browser does both). Prints JSON lines:
//   million  a fresh tab watches 50 tweets of an edge node holding 1,000,000 entries: ms from
//            open() resolving until their exact counts show, verified; bytes received
//   popular  the same with 50 tweets x 10,000 writers (tallies); then one checked in full
//   unwatched  a full-node tab likes 1,000 tweets a second for 12 s that a light tab does not
//            watch (and, after 2 s, one of its 50 every 100 ms): the bytes a second the light
//            tab receives, what of them it shows, the latency of its watched likes (an edge
//            node on a fresh store)
//   bounded  a tab with maxTweets 5,000 watches 100,000 tweets 250 at a time; after a reload,
//            the ms open() takes and how many tweets' counts it still holds
// RUNS (default 5) fresh tabs per scenario; SCENARIOS picks some (e.g. "million,popular").
import { rmSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startEdge, chromiumArgs } from "../tests/e2e/edge.mjs";

const stores = process.env.LIGHT_STORES;
if (!stores) throw new Error("LIGHT_STORES=<dir> names the stores made by the light bench");
const RUNS = Number(process.env.RUNS ?? 5);
const wanted = (process.env.SCENARIOS ?? "million,popular,unwatched,bounded").split(",");
const tweet = (i) => `tweet-${i}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const www = join(import.meta.dirname, "light");

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });

/** An edge node on the scenario's store and a fresh tab (its own browser context) on it. */
async function withEdge(scenario, run) {
  const edge = await startEdge({
    profile: "release", namespace: "mainnet", www, dataDir: join(stores, scenario),
    args: ["--difficulty", "0"],
  });
  const tab = async () => {
    const page = await (await browser.newContext()).newPage();
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    await page.goto(edge.url);
    await page.waitForFunction(() => window.ready === true);
    return page;
  };
  try {
    await run(tab);
  } finally {
    await edge.stop();
  }
}

/** Fresh tabs watching `ids` until each shows `likes`; the first warms the edge node up. */
async function fresh(tab, ids, likes, verified, then) {
  const runs = [];
  for (let round = 0; round <= RUNS; round++) {
    const page = await tab();
    const run = await page.evaluate(([ids, likes, verified]) => window.bench.fresh(ids, likes, verified), [ids, likes, verified]);
    // Round 0 meets a cold edge node (it folds its store and builds its digest tree on its
    // first catch-up); the figures are of the runs after, as a running edge node serves.
    if (round > 0) runs.push(run);
    if (then && round > 0) await then(page);
    await page.context().close();
  }
  return {
    open_to_shown_ms: Math.round(median(runs.map((r) => r.shownMs))),
    bytes: median(runs.map((r) => r.bytes)),
    runs_ms: runs.map((r) => Math.round(r.shownMs)),
    open_ms: Math.round(median(runs.map((r) => r.openMs))),
    connected_ms: runs.map((r) => Math.round(r.connected)),
    first_change_ms: runs.map((r) => Math.round(r.first)),
  };
}

try {
  if (wanted.includes("million")) {
    const watched = Array.from({ length: 50 }, (_, i) => tweet((i * 1999) % 100_000));
    await withEdge("million", async (tab) => {
      console.log(JSON.stringify({ scenario: "million", entries: 1_000_000, watched: 50, ...(await fresh(tab, watched, 10, true)) }));
    });
  }
  if (wanted.includes("popular")) {
    const watched = Array.from({ length: 50 }, (_, i) => tweet(200_000 + i));
    const checks = [];
    await withEdge("popular", async (tab) => {
      const shown = await fresh(tab, watched, 10_000, false, async (page) => {
        checks.push(await page.evaluate((id) => window.bench.verify(id), watched[0]));
      });
      if (!checks.every((c) => c.confirmed === true)) console.error(`a tally did not verify: ${JSON.stringify(checks)}`);
      console.log(JSON.stringify({ scenario: "popular", writers: 10_000, watched: 50, ...shown }));
      console.log(JSON.stringify({
        scenario: "verify one popular tweet", writers: 10_000,
        ms: Math.round(median(checks.map((c) => c.ms))), bytes: median(checks.map((c) => c.bytes)),
        runs_ms: checks.map((c) => Math.round(c.ms)),
      }));
    });
  }
  if (wanted.includes("unwatched")) {
    // On an edge node of its own (a fresh store): a full-node tab likes 1,000 tweets a second
    // that a light tab does not watch, and one of its 50 watched every 100 ms, for 10 s.
    const watched = Array.from({ length: 50 }, (_, i) => `watched-${i}`);
    const fresh = join(stores, `unwatched-${Date.now()}`);
    await withEdge(fresh.slice(stores.length + 1), async (tab) => {
      const light = await tab();
      await light.evaluate((ids) => window.bench.watching(ids), watched);
      const writer = await tab();
      await writer.evaluate(() => window.bench.writer());
      const before = await light.evaluate(() => window.node.syncStatus().receivedBytes);
      const started = Date.now();
      // Two seconds of unwatched likes first: the watched ones are timed once the writer tab
      // is past its first catch-ups and its gossip mesh (its first second's likes took up to
      // 630 ms to arrive).
      const { sent, unwatched } = await writer.evaluate((ids) => window.bench.likes(2, 10, 1000, ids), watched);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const seconds = (Date.now() - started) / 1000;
      const { arrivals, bytes, held } = await light.evaluate(() => ({
        arrivals: window.arrivals,
        bytes: window.node.syncStatus().receivedBytes,
        held: Array.from({ length: 100 }, (_, i) => window.node.stats(`unwatched-${i}`).likes).filter((n) => n > 0).length,
      }));
      // The k-th like on a tweet arrived when the tweet first showed k likes.
      const nth = new Map();
      const latencies = [];
      for (const { tweet, at } of sent) {
        const k = (nth.get(tweet) ?? 0) + 1;
        nth.set(tweet, k);
        const arrival = arrivals.find((a) => a.tweet === tweet && a.likes >= k);
        if (arrival) latencies.push(arrival.at - at);
      }
      latencies.sort((a, b) => a - b);
      const at = (q) => +latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
      console.log(JSON.stringify({
        scenario: "unwatched", unwatched_likes: unwatched, seconds: +seconds.toFixed(1),
        received_bytes_per_s: Math.round((bytes - before) / seconds),
        unwatched_tweets_shown: held, watched_likes: sent.length, arrived: latencies.length,
        p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1),
        slowest: latencies.slice(-5).map((l) => Math.round(l)),
      }));
    });
    rmSync(fresh, { recursive: true, force: true });
  }
  if (wanted.includes("bounded")) {
    const ids = Array.from({ length: 100_000 }, (_, i) => tweet(i));
    await withEdge("bounded", async (tab) => {
      const page = await tab();
      const { ms } = await page.evaluate((ids) => window.bench.scroll(ids, 250, 5000), ids);
      const reopens = [];
      for (let round = 0; round < RUNS; round++) {
        await page.reload();
        await page.waitForFunction(() => window.ready === true);
        reopens.push(await page.evaluate((ids) => window.bench.reopen(ids, 5000), ids));
      }
      console.log(JSON.stringify({
        scenario: "bounded", watched: 100_000, max_tweets: 5000, watching_s: +(ms / 1000).toFixed(1),
        held: reopens.map((r) => r.held), reopen_ms: Math.round(median(reopens.map((r) => r.ms))),
        runs_ms: reopens.map((r) => Math.round(r.ms)),
      }));
      await page.context().close();
    });
  }
} finally {
  await browser.close();
}
