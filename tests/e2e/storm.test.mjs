// The edge-restart storm: three browser nodes (two on WebSocket, one on WebRTC-direct) on one
// edge node process; the edge node is killed (SIGKILL) and restarted on the same data
// directory and ports while the pages go offline and online around it and keep liking. Every
// node must converge to the exact totals without waiting for a periodic catch-up (the edge
// node's is off; the pages' comes every 30 s, after the deadline below), and no page may throw
// an uncaught error. Needs scripts/build-pkg and the debug edge node binary.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { chromium } from "playwright-core";
import { startEdge, freePorts, chromiumArgs } from "./edge.mjs";

const TWEET = "storm";
/** Convergence after the restart must come well before the pages' 30 s periodic catch-up. */
const CONVERGE_MS = 25_000;

let browser;
let edge;
after(async () => {
  await browser?.close();
  await edge?.stop();
  if (edge) rmSync(edge.dataDir, { recursive: true, force: true });
});

async function openNode(url, transport, errors) {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (error) => errors.push(`${transport}: ${error.message}`));
  await page.goto(`${url}index.html?transport=${transport}`);
  await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => window.openError), undefined);
  await caughtUp(page, 30_000);
  return page;
}

async function caughtUp(page, timeout) {
  await page.waitForFunction(() => {
    const status = window.statsNode.syncStatus();
    return status.connected && status.syncsCompleted > 0;
  }, null, { timeout });
}

const like = (page, user) => page.evaluate(([t, u]) => window.statsNode.like(t, u), [TWEET, user]);

test("every node converges after the edge node is killed and restarted, with no page error", async () => {
  const ports = await freePorts();
  const args = ["--sync-interval", "3600"];
  edge = await startEdge({ ports, args });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
  const errors = [];
  const transports = ["websocket", "websocket", "webrtc-direct"];
  const pages = [];
  for (const transport of transports) pages.push(await openNode(edge.url, transport, errors));
  const [a, b, c] = pages;
  for (const [i, page] of pages.entries()) await like(page, `u${i}-before`);
  for (const page of pages) {
    await page.waitForFunction((t) => window.statsNode.stats(t).likes === 3, TWEET, { timeout: 15_000 });
  }

  // b goes offline; the edge node dies; everyone keeps liking; c (WebRTC) goes offline and
  // back online while the edge node is down, cancelling and restarting its dials.
  await b.evaluate(() => window.statsNode.setOnline(false));
  const killed = await edge.kill();
  assert.equal(killed.signal, "SIGKILL");
  for (const [i, page] of pages.entries()) await like(page, `u${i}-during`);
  await b.evaluate((t) => window.statsNode.retweet(t, "u1-during"), TWEET);
  await c.evaluate(() => window.statsNode.setOnline(false));
  await c.waitForFunction(() => !window.statsNode.syncStatus().online);
  const dials = await c.evaluate(() => window.statsNode.syncStatus().dials);
  await c.evaluate(() => window.statsNode.setOnline(true));
  // Its dials start again (and fail: the edge node is down).
  await c.waitForFunction((n) => window.statsNode.syncStatus().dials > n, dials, { timeout: 10_000 });

  // Restart on the same data directory and ports; b comes back online.
  edge = await startEdge({ ports, args, dataDir: edge.dataDir });
  const restarted = Date.now();
  await b.evaluate(() => window.statsNode.setOnline(true));
  for (const [i, page] of pages.entries()) {
    const left = Math.max(1_000, CONVERGE_MS - (Date.now() - restarted));
    try {
      await page.waitForFunction((t) => {
        const stats = window.statsNode.stats(t);
        return stats.likes === 6 && stats.retweets === 1;
      }, TWEET, { timeout: left });
    } catch (error) {
      const state = await page.evaluate((t) => ({ stats: window.statsNode.stats(t), status: window.statsNode.syncStatus(), peers: window.statsNode.peers() }), TWEET);
      throw new Error(`page ${i} (${transports[i]}) did not converge: ${JSON.stringify(state)}\nedge log:\n${edge.log()}`);
    }
  }
  console.log(`every page converged ${Date.now() - restarted} ms after the edge node restarted`);
  for (const page of pages) {
    // Pending until a catch-up finds the edge node holding them (a second after publishing).
    await page.waitForFunction(() => window.statsNode.syncStatus().pendingEntries === 0, null, { timeout: 10_000 });
    const status = await page.evaluate(() => window.statsNode.syncStatus());
    assert.equal(status.connected, true, JSON.stringify(status));
  }
  // The WebRTC page must not be left on a dead connection: a like now travels live.
  await like(c, "u2-after");
  await a.waitForFunction((t) => window.statsNode.stats(t).likes === 7, TWEET, { timeout: 10_000 });
  assert.deepEqual(errors, [], "uncaught page errors");
});
