// Browser network benchmark (not a test): an edge node process (release build) and two headless
// Chromium nodes on loopback. For each transport: the time from opening a page to its first
// completed catch-up, then the latency from like() in one browser to the change event in the
// other, over 200 likes one after another. Prints medians and percentiles as JSON lines.
//   scripts/bench --network
import { chromium } from "playwright-core";
import { startEdge, chromiumArgs } from "../tests/e2e/edge.mjs";

const LIKES = Number(process.env.LIKES ?? 200);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const edge = await startEdge({ binary: "target/release/warpnet-stats-edge", namespace: "bench" });
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
      open_to_caught_up_ms: ready, first_update_after_connect_ms: firstUpdate,
    }));
    for (const page of pages) await page.context().close();
  }
} finally {
  await browser.close();
  await edge.stop();
}
