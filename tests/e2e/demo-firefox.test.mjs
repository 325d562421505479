// The demo page in Firefox ESR (headless, through geckodriver) with Chromium, both light tabs
// of one edge node process: a like clicked in either shows in the other, Firefox counts while
// offline and converges when back online, and a reload shows its counts from IndexedDB.
// Needs scripts/build-pkg, the debug edge node binary, firefox-esr and geckodriver.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { edgeAndBrowser } from "./hooks.mjs";
import { firefox } from "./firefox.mjs";

const repo = resolve(import.meta.dirname, "../..");
const env = edgeAndBrowser({ www: join(repo, "www"), namespace: "demo-firefox" });
let fox;
after(async () => fox?.close());

/** Polls `check` (a function body) in Firefox until it returns true. */
async function foxUntil(what, check, args = [], timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const state = await fox.run(check, args);
    if (state === true) return;
    if (Date.now() > deadline) throw new Error(`Firefox: timed out waiting for ${what}: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** In Firefox: the demo page is up and connected to the edge node. */
const foxReady = () => foxUntil("the page, connected", `
  if (document.body.dataset.ready !== "true") return "loading";
  return window.statsNode.syncStatus().connected || window.statsNode.syncStatus();`);

/** In Firefox: clicks `action` on `tweet`'s card. */
const foxClick = (tweet, action) => fox.run(
  `document.querySelector(\`[data-tweet="\${arguments[0]}"] button[data-action="\${arguments[1]}"]\`).click(); return true;`,
  [tweet, action]);

/** In Firefox: until `tweet`'s card shows `likes` likes. */
const foxShows = (tweet, likes) => foxUntil(`${likes} likes on ${tweet}`, `
  const shown = Number(document.querySelector(\`[data-tweet="\${arguments[0]}"] [data-count="likes"]\`).textContent);
  return shown === arguments[1] || shown;`, [tweet, likes]);

const chromeShows = (page, tweet, likes) => page.waitForFunction(
  ([tweet, likes]) => Number(document.querySelector(`[data-tweet="${tweet}"] [data-count="likes"]`)?.textContent) === likes,
  [tweet, likes], { timeout: 15_000 });

test("the demo page in Firefox and Chromium: likes travel both ways, offline and reload work", async () => {
  fox = await firefox();
  await fox.goto(env.edge.url);
  await foxReady();
  const page = await (await env.browser.newContext()).newPage();
  await page.goto(env.edge.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  await page.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 30_000 });

  // Both ways, on rows both show (the top of the feed).
  await foxClick("demo-1", "like");
  await foxShows("demo-1", 1);
  await chromeShows(page, "demo-1", 1);
  await page.locator('[data-tweet="demo-1"] button[data-action="like"]').click();
  await chromeShows(page, "demo-1", 2);
  await foxShows("demo-1", 2);

  // Firefox offline: it counts; Chromium too; back online both converge.
  await fox.run(`const s = document.querySelector("#online"); s.checked = false; s.dispatchEvent(new Event("change")); return true;`);
  await foxUntil("offline", "return window.statsNode.peers().length === 0 || window.statsNode.peers()");
  await foxClick("demo-2", "like");
  await foxShows("demo-2", 1);
  await page.locator('[data-tweet="demo-2"] button[data-action="like"]').click();
  await chromeShows(page, "demo-2", 1);
  await fox.run(`const s = document.querySelector("#online"); s.checked = true; s.dispatchEvent(new Event("change")); return true;`);
  await foxShows("demo-2", 2);
  await chromeShows(page, "demo-2", 2);

  // A reload in Firefox shows its counts again (from IndexedDB, then kept up by the edge node).
  await fox.goto(env.edge.url);
  await foxUntil("the page", `return document.body.dataset.ready === "true"`);
  await foxShows("demo-1", 2);
  await foxReady();
  await foxShows("demo-2", 2);
  assert.equal(await fox.run(`return document.querySelector("#storage").textContent`), "IndexedDB");
  // The page shows uncaught errors in its error box: none.
  assert.equal(await fox.run(`return document.querySelector("#error").hidden || document.querySelector("#error").textContent`), true);
  await page.context().close();
});
