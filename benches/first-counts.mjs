// A visitor's first counts, cold (a fresh browser context: no HTTP cache, no IndexedDB), in
// headless Chromium against an edge node on loopback holding one like on each of 1,000 tweets:
// the time from navigation to `init()` done (the wasm fetched, compiled, instantiated), to
// `StatsNode.open` done, and to the counts of 20 tweets loaded (a light node watching them; a
// full node catching up), on loopback and throttled to 10 Mbit/s with 40 ms latency; then the
// tab's memory (private memory of its renderer, wasm linear memory, JS heap) against a blank
// page of the same origin and one that only ran `init()`.
//   node benches/first-counts.mjs   (after scripts/build-pkg and `cargo build --bin
//                                    warpnet-stats-edge`; PKG=<dir> serves another build)
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { startEdge } from "../tests/e2e/edge.mjs";

const repo = resolve(import.meta.dirname, "..");
const ROUNDS = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const launch = () => chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});

/** Opens `query` in a fresh context; resolves to the page's marks once it is done. */
async function visit(browser, url, throttled) {
  const context = await browser.newContext();
  const page = await context.newPage();
  if (throttled) {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 5e6 / 8,
    });
  }
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(url);
  await page.waitForFunction(() => window.done === true, null, { timeout: 120_000 });
  if (errors.length) throw errors[0];
  return { page, context, marks: await page.evaluate(() => window.marks) };
}

/** Private memory (clean + dirty, KiB) of every renderer process of `browser`. */
async function rendererMemory(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = await cdp.send("SystemInfo.getProcessInfo");
  let kib = 0;
  for (const { id } of processInfo.filter((p) => p.type === "renderer")) {
    const rollup = readFileSync(`/proc/${id}/smaps_rollup`, "utf8");
    for (const field of ["Private_Clean", "Private_Dirty"]) kib += Number(new RegExp(`${field}:\\s+(\\d+)`).exec(rollup)[1]);
  }
  return kib;
}

const pkg = resolve(process.env.PKG ?? join(repo, "pkg"));
const edge = await startEdge({
  profile: process.env.EDGE_PROFILE ?? "debug", namespace: "bench", pkg,
  www: join(repo, "benches/first-counts"), args: ["--difficulty", "8"],
});
async function timings() {
const browser = await launch();
try {
  const seeded = await visit(browser, `${edge.url}index.html?seed`, false);
  await seeded.context.close();
  const wasm = readFileSync(join(pkg, "warpnet_stats_bg.wasm")).length;
  console.log(`package wasm ${wasm} bytes (served as its .br copy); edge node holds 1,000 tweets`);
  for (const throttled of [false, true]) {
    for (const kind of ["light", "full"]) {
      const runs = [];
      for (let round = 0; round < ROUNDS; round++) {
        const { context, marks } = await visit(browser, `${edge.url}index.html?${kind}`, throttled);
        if (marks.likes !== 20) throw new Error(`expected 20 likes, saw ${marks.likes}`);
        runs.push(marks);
        await context.close();
      }
      const at = (mark) => median(runs.map((m) => m[mark])).toFixed(0);
      console.log(`${throttled ? "10 Mbit/s, 40 ms" : "loopback"}, ${kind} node: init() done ${at("init")} ms, open ${at("open")} ms, ` +
        `20 tweets' counts loaded ${at("counts")} ms after navigation (medians of ${ROUNDS}; ` +
        `counts: ${runs.map((m) => m.counts.toFixed(0)).join(", ")} ms)`);
    }
  }
} finally {
  await browser.close();
}
}

/** Each page alone in a browser of its own, after a garbage collection. */
async function memory() {
  const seen = {};
  for (const kind of ["blank", "init", "light", "full"]) {
    const rounds = [];
    for (let round = 0; round < 3; round++) {
      const alone = await launch();
      try {
        const { page, context, marks } = await visit(alone, `${edge.url}index.html?${kind}`, false);
        const cdp = await context.newCDPSession(page);
        await cdp.send("HeapProfiler.collectGarbage");
        const heap = await page.evaluate(() => performance.memory.usedJSHeapSize);
        rounds.push({ privateKib: await rendererMemory(alone), heap, wasmMemory: marks.wasmMemory ?? 0 });
      } finally {
        await alone.close();
      }
    }
    const mib = (bytes) => (bytes / 1048576).toFixed(1);
    seen[kind] = median(rounds.map((r) => r.privateKib));
    console.log(`${kind} page: renderer private memory ${mib(seen[kind] * 1024)} MiB` +
      (kind === "blank" ? "" : ` (+${mib((seen[kind] - seen.blank) * 1024)} MiB over a blank page)`) +
      `, wasm memory ${mib(median(rounds.map((r) => r.wasmMemory)))} MiB, JS heap ${mib(median(rounds.map((r) => r.heap)))} MiB (medians of 3)`);
  }
}

try {
  await timings();
  await memory();
} finally {
  await edge.stop();
}
