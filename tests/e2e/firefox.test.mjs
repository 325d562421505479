// Firefox ESR (headless, through geckodriver) and Chromium as two browser nodes on one edge
// node process: each one's like reaches the other, over WebSocket and over WebRTC-direct.
// Needs scripts/build-pkg, the debug edge node binary, firefox-esr and geckodriver.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { edgeAndBrowser } from "./hooks.mjs";
import { firefox } from "./firefox.mjs";
import { EVENTS_CHECK, EVENTS_SEEN } from "./events.mjs";

const env = edgeAndBrowser();
let fox;
after(async () => fox?.close());

/** Polls `check` in Firefox until it returns true. */
async function foxUntil(what, check, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const state = await fox.run(check);
    if (state === true) return;
    if (Date.now() > deadline) throw new Error(`Firefox: timed out waiting for ${what}: ${JSON.stringify(state)}\nedge log:\n${env.edge.log()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

for (const transport of ["websocket", "webrtc-direct"]) {
  test(`Firefox and Chromium sync over ${transport}`, async () => {
    fox ??= await firefox();
    const url = `${env.edge.url}index.html?transport=${transport}`;
    await fox.goto(url);
    await foxUntil("the node", "return !!window.statsNode || window.openError || false");
    assert.equal(await fox.run("return window.openError ?? null"), null);
    await foxUntil("a connection and a catch-up", `
      const s = window.statsNode.syncStatus();
      return (s.connected && s.syncsCompleted > 0) || s;`);
    const peers = await fox.run("return window.statsNode.peers()");
    assert.equal(peers.length, 1);
    assert.equal(peers[0].transport, transport);

    const page = await (await env.browser.newContext()).newPage();
    await page.goto(url);
    await page.waitForFunction(() => {
      const s = window.statsNode?.syncStatus();
      return s && s.connected && s.syncsCompleted > 0;
    }, null, { timeout: 20_000 });

    const tweet = `ff-${transport}`;
    await fox.run(`return window.statsNode.like(arguments[0], "fox")`, [tweet]);
    await page.waitForFunction((t) => window.statsNode.stats(t).likes === 1, tweet, { timeout: 15_000 });
    await page.evaluate((t) => window.statsNode.like(t, "chrome"), tweet);
    await foxUntil("Chromium's like", `return window.statsNode.stats(arguments[0]).likes === 2 || window.statsNode.stats(arguments[0])`.replace(/arguments\[0\]/g, JSON.stringify(tweet)));
    await page.context().close();
  });
}

test("in Firefox a StatsNode is an EventTarget ({ once }, { signal }), says its status in events, and closes with await", async () => {
  fox ??= await firefox();
  await fox.goto(`${env.edge.url}index.html?transport=websocket&light`);
  await foxUntil("the node", "return !!window.statsNode || window.openError || false");
  assert.equal(await fox.run("return window.openError ?? null"), null);
  await foxUntil("a connection", "return window.statsNode.syncStatus().connected || window.statsNode.syncStatus()");
  assert.deepEqual(await fox.run(`return ${EVENTS_CHECK}`), EVENTS_SEEN);
});
