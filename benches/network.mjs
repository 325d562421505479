// Browser network benchmark (not a test): an edge node process (release build) and headless
// Chromium nodes on loopback. For each transport: the time from opening a page to its first
// completed catch-up and to its identity proof minted; then the latency from like() in one
// browser to the change event in another,
// over 200 likes one after another (median, p99); then a cold sync of 100,000 entries into a
// fresh browser node, three times per transport (median), on the page's thread and (WebSocket)
// in a worker, with the page's long tasks. Prints JSON lines. LIKES, COLD, COLD_RUNS, MODES
// and TRANSPORTS override the defaults.
//   scripts/bench --network
import { chromium } from "playwright-core";
import { startEdge, chromiumArgs } from "../tests/e2e/edge.mjs";

const LIKES = Number(process.env.LIKES ?? 200);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const edge = await startEdge({ profile: "release", namespace: "bench" });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
try {
  for (const transport of (process.env.TRANSPORTS ?? "websocket,webrtc-direct").split(",")) {
    const pages = [];
    const ready = [];
    for (let i = 0; i < 2; i++) {
      const page = await (await browser.newContext()).newPage();
      const opened = Date.now();
      await page.goto(`${edge.url}index.html?transport=${transport}&namespace=bench`);
      await page.waitForFunction(() => window.statsNode?.syncStatus().syncsCompleted > 0, null, { timeout: 60_000 })
        .catch(async (e) => { throw new Error(`${e.message}: ${await page.evaluate(() => window.openError ?? JSON.stringify([window.statsNode?.syncStatus(), window.statsNode?.peers()]))}\n${edge.log()}`); });
      ready.push(Date.now() - opened);
      pages.push(page);
    }
    const [a, b] = pages;
    // Latencies once both identities are minted (minting runs on the page's thread, after
    // the first catch-up): the network path, not the proof of work.
    const minted = [];
    for (const page of pages) {
      await page.waitForFunction(() => window.statsNode.syncStatus().identity.minted, null, { timeout: 120_000 });
      minted.push(Math.round(await page.evaluate(() => performance.now())));
    }
    // The first live update after connecting (this is where a stalled stream would show).
    const first = Date.now();
    await a.evaluate(() => window.statsNode.like("first", "u"));
    await b.waitForFunction(() => window.changes.some((c) => c.tweetId === "first"), null, { timeout: 60_000, polling: 1 });
    const firstUpdate = Date.now() - first;

    const latencies = [];
    for (let i = 0; i < LIKES; i++) {
      const tweet = `${transport}-${i}`;
      const sent = await a.evaluate((tweet) => {
        const at = performance.timeOrigin + performance.now();
        window.statsNode.like(tweet, "u");
        return at;
      }, tweet);
      const arrived = await b.evaluate((tweet) => new Promise((resolve) => {
        const seen = () => window.changes.find((c) => c.tweetId === tweet);
        if (seen()) return resolve(performance.timeOrigin + seen().at);
        window.statsNode.addEventListener("change", function listener(e) {
          if (e.detail.tweetId !== tweet) return;
          window.statsNode.removeEventListener("change", listener);
          resolve(performance.timeOrigin + performance.now());
        });
      }), tweet);
      latencies.push(arrived - sent);
    }
    latencies.sort((x, y) => x - y);
    console.log(JSON.stringify({
      transport, likes: LIKES,
      p50_ms: +percentile(latencies, 50).toFixed(1), p99_ms: +percentile(latencies, 99).toFixed(1),
      max_ms: +latencies.at(-1).toFixed(1),
      open_to_caught_up_ms: ready, open_to_minted_ms: minted, first_update_after_connect_ms: firstUpdate,
    }));
    for (const page of pages) await page.context().close();
  }

  // Cold sync: the edge node holds COLD entries (liked through one browser node over
  // WebSocket); a fresh browser node opens and catches up, verifying every signature and
  // storing in IndexedDB. Timed from the page's start to the last entry stored.
  const COLD = Number(process.env.COLD ?? 100_000);
  const COLD_RUNS = Number(process.env.COLD_RUNS ?? 3);
  if (COLD > 0) {
    const filler = await (await browser.newContext()).newPage();
    await filler.goto(`${edge.url}index.html?transport=websocket&namespace=bench`);
    await filler.waitForFunction(() => window.statsNode?.syncStatus().syncsCompleted > 0, null, { timeout: 60_000 });
    await filler.evaluate(async (n) => {
      for (let k = 0; k < n; k += 1000) {
        await Promise.all(Array.from({ length: Math.min(1000, n - k) }, (_, i) => window.statsNode.like(`cold-${k + i}`, "u")));
      }
    }, COLD);
    // Until the edge node holds them all (a burst beyond its rate limit reaches it by catch-up).
    for (let held = 0; held < COLD; await new Promise((r) => setTimeout(r, 200))) {
      const metrics = await (await fetch(`${edge.url}metrics`)).text();
      held = [...metrics.matchAll(/^warpnet_stats_(?:gossip|synced)_entries_total (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    }
    await filler.context().close();
    const median = (values) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
    // On the page's thread, and in a worker (warpnet-stats/worker: WebSocket only); each with
    // the page's long tasks (over 50 ms, Chromium's Long Tasks API) until synced.
    const modes = (process.env.MODES ?? "thread,worker").split(",");
    for (const transport of (process.env.TRANSPORTS ?? "websocket,webrtc-direct").split(",")) {
      for (const mode of modes.filter((m) => m === "thread" || transport === "websocket")) {
        const runs = [];
        const longTasks = [];
        for (let run = 0; run < COLD_RUNS; run++) {
          const context = await browser.newContext();
          await context.addInitScript(() => {
            window.longTasks = [];
            new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)))
              .observe({ type: "longtask", buffered: true });
          });
          const page = await context.newPage();
          const worker = mode === "worker" ? "&worker" : "";
          await page.goto(`${edge.url}index.html?transport=${transport}&namespace=bench${worker}`);
          // Every tweet's change event comes once its entries are stored in IndexedDB.
          await page.waitForFunction((n) => window.remoteChanges >= n, COLD, { timeout: 600_000, polling: 50 });
          runs.push(Math.round(await page.evaluate(() => performance.now())));
          longTasks.push(await page.evaluate(() => window.longTasks));
          await context.close();
        }
        console.log(JSON.stringify({
          transport, mode, cold_sync_entries: COLD, page_start_to_synced_ms: runs, median_ms: median([...runs]),
          long_tasks: longTasks.map((tasks) => tasks.length),
          longest_task_ms: longTasks.map((tasks) => Math.round(Math.max(0, ...tasks))),
        }));
      }
    }
  }
} finally {
  await browser.close();
  await edge.stop();
}
