// Browser benchmark of the npm package in headless Chromium (real IndexedDB):
//   node benches/browser.mjs      (scripts/bench --browser builds the package first)
// Prints medians: persisted likes per second in a burst, the time to open a node holding
// 100,000 entries until its first stats() answer, and identity minting (BENCH=mint alone).
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "../tests/e2e/serve.mjs";

const repo = resolve(import.meta.dirname, "..");
const root = mkdtempSync(join(tmpdir(), "warpnet-stats-bench-"));
cpSync(join(repo, "benches/browser/index.html"), join(root, "index.html"));
cpSync(join(repo, "pkg"), join(root, "pkg"), { recursive: true });
const server = await serve(root);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => window.ready === true);

  // BENCH=open, BENCH=burst or BENCH=mint runs only that part.
  const only = process.env.BENCH;
  if (!only || only === "mint") {
    // Five identities at the default difficulty: attempts per second as a page mints (the
    // time to mint varies a lot from one identity to the next; the rate does not).
    const rates = [];
    const times = [];
    for (let round = 0; round < 5; round++) {
      const [attempts, ms] = await page.evaluate((round) => window.bench.mint(`mint-${round}`, 23), round);
      rates.push(attempts / ms * 1000);
      times.push(ms);
    }
    const rate = median(rates);
    console.log(`identity minting in the page: median ${(rate / 1e6).toFixed(2)} M attempts/s (runs: ${rates.map((r) => (r / 1e6).toFixed(2)).join(", ")}); at difficulty 23 that is ${(2 ** 23 / rate).toFixed(2)} s on average (runs took ${times.map((t) => (t / 1000).toFixed(2)).join(", ")} s)`);
    if (only === "mint") process.exit(0);
  }
  const bursts = [[1000, 100], [5000, 100], [5000, 5000]];
  for (const [n, tweets] of only === "open" ? [] : bursts) {
    const runs = [];
    for (let round = 0; round < 5; round++) {
      runs.push(await page.evaluate(([n, tweets, round]) => window.bench.burst(`burst-${n}-${tweets}`, n, tweets, round), [n, tweets, round]));
    }
    const ms = median(runs);
    console.log(`burst of ${n} likes on ${tweets} tweets: median ${ms.toFixed(0)} ms, ${(n / ms * 1000).toFixed(0)} persisted likes/s (runs: ${runs.map((r) => r.toFixed(0)).join(", ")} ms)`);
  }

  if (only === "burst") process.exit(0);
  const fillStart = Date.now();
  await page.evaluate(() => window.bench.fill("open-100k", 100000));
  console.log(`filled 100,000 entries (one like on each of 100,000 tweets) in ${((Date.now() - fillStart) / 1000).toFixed(1)} s`);
  const opens = [];
  for (let i = 0; i < 5; i++) opens.push(await page.evaluate(() => window.bench.open("open-100k")));
  const raw = [];
  for (let i = 0; i < 5; i++) raw.push(await page.evaluate(() => window.bench.rawRead("open-100k")));
  console.log(`  of which IndexedDB alone (getAllKeys + getAll from JS): median ${median(raw).toFixed(0)} ms`);
  console.log(`open with 100,000 entries to first stats(): median ${median(opens).toFixed(0)} ms (runs: ${opens.map((r) => r.toFixed(0)).join(", ")} ms)`);
} finally {
  await browser.close();
  server.close();
  rmSync(root, { recursive: true, force: true });
}
