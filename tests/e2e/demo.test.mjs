// The demo page (www/) as a person uses it, in headless Chromium: an edge node process on free
// loopback ports serves it; two browser contexts are two light nodes, each watching the rows
// of its feed on screen. Likes and retweets in one show in the other; one goes offline with
// the switch, both change, it comes back and both show the same numbers; a reload keeps
// counts, liked state and the user name; the per-node breakdown adds up to the totals; a bad
// user name shows an error on the page; a like on a tweet neither page shows never arrives,
// and only the rows on screen are watched; the wasm comes compressed. Screenshots of both pages
// are saved to target/e2e-artifacts/ (not committed).
// Needs scripts/build-pkg and the debug edge node binary (scripts/test builds both first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { edgeAndBrowser } from "./hooks.mjs";

const repo = resolve(import.meta.dirname, "../..");
const artifacts = join(process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repo, "target"), "e2e-artifacts");
const env = edgeAndBrowser({ www: join(repo, "www"), namespace: "demo-e2e" });

const STATS = ["likes", "retweets", "replies", "views"];

/** Opens the demo page in a fresh context (a new node) as `user`, connected and caught up. */
async function openPage(user) {
  const context = await env.browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  // Every request the page makes is served (no 404 for a favicon, a script, the package).
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  page.on("requestfailed", (r) => {
    // Requests cut short by the test's reloads and closing are not failures of the page.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") errors.push(`failed ${r.url()}: ${r.failure()?.errorText}`);
  });
  const wasm = page.waitForResponse((r) => r.url().endsWith("/warpnet_stats_bg.wasm"));
  await page.goto(env.edge.url);
  // The package's wasm as its brotli copy (or gzip, where a browser takes no brotli).
  const headers = (await wasm).headers();
  assert.equal(headers["content-encoding"], "br");
  assert.match(headers.vary ?? "", /accept-encoding/i, "caches keep each copy apart");
  await ready(page);
  await page.fill("#user", user);
  await page.press("#user", "Enter");
  await page.locator("#user").blur();
  page.errors = errors;
  return page;
}

async function ready(page) {
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  // A light node pulls no catch-up: connected, it asks for the rows on screen.
  await page.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 30_000 });
  // The rows on screen are loaded once the edge node answered (faded until then).
  await page.waitForSelector('[data-tweet][data-loaded="true"]', { timeout: 30_000 });
}

const card = (page, tweet) => page.locator(`[data-tweet="${tweet}"]`);
const click = (page, tweet, action) => card(page, tweet).locator(`button[data-action="${action}"]`).click();

/** The counts a tweet's card shows. */
async function shown(page, tweet) {
  const counts = {};
  for (const stat of STATS) counts[stat] = Number(await card(page, tweet).locator(`[data-count="${stat}"]`).textContent());
  return counts;
}

/** Waits until a tweet's card shows `expected` (a subset of the four counts). */
async function until(page, tweet, expected) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const counts = await shown(page, tweet);
    if (Object.entries(expected).every(([stat, n]) => counts[stat] === n)) return counts;
    if (Date.now() > deadline) {
      const status = await page.evaluate(() => window.statsNode.syncStatus());
      assert.fail(`${tweet}: wanted ${JSON.stringify(expected)}, the page shows ${JSON.stringify(counts)}; ${JSON.stringify(status)}`);
    }
    await page.waitForTimeout(50);
  }
}

/** The breakdown table of a tweet: one row per node, and the totals row. */
async function breakdown(page, tweet) {
  const details = card(page, tweet).locator("details");
  if (!(await details.getAttribute("open"))) await details.locator("summary").click();
  return details.evaluate((el) => ({
    rows: [...el.querySelectorAll("tbody tr")].map((row) => ({
      node: row.dataset.node,
      local: row.querySelector("td").classList.contains("you"),
      ...Object.fromEntries([...row.querySelectorAll("td[data-stat]")].map((td) => [td.dataset.stat, Number(td.textContent)])),
    })),
    total: Object.fromEntries([...el.querySelectorAll("tfoot td[data-total]")].map((td) => [td.dataset.total, Number(td.textContent)])),
  }));
}

test("the demo page: counts travel, an offline node converges, state persists, the breakdown adds up", async () => {
  const a = await openPage("alice");
  const b = await openPage("bob");
  // The page names its icon, and it is served (else browsers ask for /favicon.ico: a 404).
  const icon = await a.evaluate(() => document.querySelector('link[rel="icon"]')?.href);
  assert.ok(icon, "an icon link");
  const served = await fetch(icon);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get("content-type"), "image/svg+xml");
  const ids = await Promise.all([a, b].map((p) => p.locator("#node-id").textContent()));
  assert.notEqual(ids[0], ids[1], "two nodes");
  for (const page of [a, b]) {
    assert.equal(await page.locator("#storage").textContent(), "IndexedDB");
    // The panel refreshes every second: one peer, the edge node, over WebSocket.
    await page.waitForSelector("#peers li[data-transport=websocket]", { timeout: 5_000 });
    assert.equal(await page.locator("#peers li").count(), 1);
  }

  // Likes and retweets in a show in b; a's buttons show its own state.
  await click(a, "demo-1", "like");
  await click(a, "demo-1", "retweet");
  await until(a, "demo-1", { likes: 1, retweets: 1 });
  assert.equal(await card(a, "demo-1").locator('[data-action="like"]').getAttribute("aria-pressed"), "true");
  assert.equal(await card(b, "demo-1").locator('[data-action="like"]').getAttribute("aria-pressed"), "false");
  await until(b, "demo-1", { likes: 1, retweets: 1 });
  // Liking again is an unlike, in a and then in b.
  await click(a, "demo-1", "like");
  await until(a, "demo-1", { likes: 0, retweets: 1 });
  await until(b, "demo-1", { likes: 0, retweets: 1 });
  await click(a, "demo-1", "like");
  await until(b, "demo-1", { likes: 1 });

  // a goes offline with the switch; both change; a keeps counting, and shows what is pending.
  await a.locator("#online").uncheck();
  await a.waitForFunction(() => window.statsNode.peers().length === 0, null, { timeout: 10_000 });
  await click(a, "demo-2", "like");
  await click(a, "demo-2", "view");
  await click(b, "demo-2", "like");
  await click(b, "demo-2", "retweet");
  await click(b, "demo-3", "reply");
  await until(a, "demo-2", { likes: 1, views: 1, retweets: 0 });
  await until(b, "demo-2", { likes: 1, retweets: 1, views: 0 });
  await a.waitForFunction(() => /^[1-9]\d* local changes$/.test(document.querySelector('[data-status="pending"]')?.textContent ?? ""), null, { timeout: 5_000 });
  assert.match(await a.locator('[data-status="state"]').textContent(), /^offline/);

  // Back online: both show the same numbers.
  await a.locator("#online").check();
  const expected = { "demo-1": { likes: 1, retweets: 1, replies: 0, views: 0 }, "demo-2": { likes: 2, retweets: 1, replies: 0, views: 1 }, "demo-3": { likes: 0, retweets: 0, replies: 1, views: 0 } };
  for (const [tweet, counts] of Object.entries(expected)) {
    for (const page of [a, b]) assert.deepEqual(await until(page, tweet, counts), counts, tweet);
  }
  await a.waitForFunction(() => document.querySelector('[data-status="pending"]')?.textContent === "0 local changes", null, { timeout: 10_000 });

  // The per-node breakdown adds up to the totals; demo-2 has a share from each node.
  for (const page of [a, b]) {
    for (const tweet of Object.keys(expected)) {
      const { rows, total } = await breakdown(page, tweet);
      for (const stat of STATS) {
        assert.equal(rows.reduce((sum, row) => sum + row[stat], 0), total[stat], `${tweet} ${stat}`);
        assert.equal(total[stat], expected[tweet][stat], `${tweet} ${stat}`);
      }
    }
    const { rows } = await breakdown(page, "demo-2");
    assert.deepEqual(rows.map((r) => r.node).sort(), [...ids].sort(), "both nodes contributed to demo-2");
    assert.equal(rows.filter((r) => r.local).length, 1, "this node is marked");
  }

  // A reload keeps the counts, the liked state and the user name.
  await b.reload();
  await ready(b);
  assert.equal(await b.locator("#user").inputValue(), "bob");
  assert.deepEqual(await shown(b, "demo-2"), expected["demo-2"]);
  assert.equal(await card(b, "demo-2").locator('[data-action="like"]').getAttribute("aria-pressed"), "true");
  assert.equal(await card(b, "demo-2").locator('[data-action="retweet"]').getAttribute("aria-pressed"), "true");
  assert.equal(await card(b, "demo-1").locator('[data-action="like"]').getAttribute("aria-pressed"), "false");
  await breakdown(b, "demo-2");

  // A bad user name is shown to the person, and changes nothing.
  await a.fill("#user", "no/slashes");
  await a.locator("#user").blur();
  await click(a, "demo-4", "like");
  await a.waitForSelector("#error:not([hidden])", { timeout: 5_000 });
  assert.match(await a.locator("#error").textContent(), /RangeError: userId/);
  assert.deepEqual(await shown(a, "demo-4"), { likes: 0, retweets: 0, replies: 0, views: 0 });
  await a.fill("#user", "alice");
  await a.locator("#user").blur();

  // A tweet neither page shows, whose id holds a quote, liked on b: it never reaches a, though
  // a like b makes after it on a row a shows does (and no page breaks over the id).
  await b.evaluate(() => window.statsNode.like('quote"d', "bob"));
  await click(b, "demo-1", "like");
  await until(a, "demo-1", { likes: 2 });
  assert.equal(await a.evaluate(() => window.statsNode.stats('quote"d').likes), 0);
  assert.equal(await a.evaluate(() => window.statsNode.contributions('quote"d').length), 0);
  // Only the rows near the screen are watched; the page shows the bytes this tab received.
  const watching = await a.locator('[data-status="watching"]').textContent();
  const [, watched, of] = watching.match(/^(\d+) of (\d+) tweets$/).map(Number);
  assert.ok(watched > 0 && watched < of, watching);
  assert.match(await a.locator('[data-status="received"]').textContent(), /^[\d,]+ bytes$/);

  for (const page of [a, b]) {
    await page.waitForFunction(() => document.querySelector('[data-status="state"]')?.textContent === "online, connected", null, { timeout: 10_000 });
  }
  mkdirSync(artifacts, { recursive: true });
  await a.screenshot({ path: join(artifacts, "demo-a.png"), fullPage: true });
  await b.screenshot({ path: join(artifacts, "demo-b.png"), fullPage: true });
  for (const page of [a, b]) assert.deepEqual(page.errors.map(String), [], "no uncaught errors or failed requests");
  for (const page of [a, b]) await page.context().close();
});
