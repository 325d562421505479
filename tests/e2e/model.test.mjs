// A model-based test of light nodes as the package's README describes them, on the page's
// thread and in a worker (warpnet-stats/worker), on real IndexedDB, with an edge node process
// and a full node on loopback WebSocket: seeded random sequences of watches and unwatches
// (nested, overlapping), the tab's own likes, unlikes and views, other nodes' likes and views,
// going offline and back, and reloads, checked after every step against a plain model of what
// the README promises: a light node holds other nodes' counts of at most `maxTweets` tweets
// (watched ones, then the most recently used; acting on a tweet uses it), its own counts always;
// watched tweets show every node's counts once online; a tweet let go shows its own counts only;
// a reload keeps what was held and ends every watch. MODEL_SEEDS (default 4 per mode) and
// MODEL_STEPS (default 40) set how much; a failure names its seed and steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { edgeAndBrowser } from "./hooks.mjs";

const DIFFICULTY = 8;
const env = edgeAndBrowser({ args: ["--difficulty", String(DIFFICULTY)] });
const SEEDS = Number(process.env.MODEL_SEEDS ?? 4);
const STEPS = Number(process.env.MODEL_STEPS ?? 40);
const MAX_TWEETS = 2;
const TWEETS = 4;
const USERS = ["ann", "bob"];

/** A seeded generator of numbers in [0, 1) (mulberry32). */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the README promises of the light node, kept plainly. */
class Model {
  constructor(tweets) {
    this.held = []; // { tweet, watchers }, least recently used first
    this.handles = new Map(); // handle -> tweets it watches
    this.own = new Map(tweets.map((t) => [t, { likes: 0, views: 0 }]));
    this.others = new Map(tweets.map((t) => [t, { likes: 0, views: 0 }]));
    this.marks = new Set();
    this.online = true;
  }

  /** `tweet` used (with `watchers` more watches): past the bound the least recently used
   *  unwatched tweet is let go, never a watched one nor the one just used. */
  use(tweet, watchers) {
    const at = this.held.findIndex((h) => h.tweet === tweet);
    const held = at >= 0 ? this.held.splice(at, 1)[0] : { tweet, watchers: 0 };
    held.watchers += watchers;
    this.held.push(held);
    while (this.held.length > MAX_TWEETS) {
      const idle = this.held.slice(0, -1).findIndex((h) => h.watchers === 0);
      if (idle < 0) break;
      this.held.splice(idle, 1);
    }
  }

  unwatch(tweet) {
    const held = this.held.find((h) => h.tweet === tweet);
    if (held && held.watchers > 0) held.watchers -= 1;
  }

  /** What `stats(tweet)` must show (once what is due arrived): exact counts, or bounds. */
  expected(tweet) {
    const own = this.own.get(tweet);
    const all = { likes: own.likes + this.others.get(tweet).likes, views: own.views + this.others.get(tweet).views };
    const held = this.held.find((h) => h.tweet === tweet);
    if (!held) return { exact: own }; // let go: its own counts only
    if (held.watchers > 0 && this.online) return { exact: all };
    return { low: own, high: all }; // held, not kept live: somewhere between
  }
}

async function open(query) {
  const page = await (await env.browser.newContext()).newPage();
  page.on("pageerror", (error) => { page.pageError = error; });
  await load(page, `${env.edge.url}index.html?difficulty=${DIFFICULTY}&${query}`);
  return page;
}

async function load(page, url) {
  if (url) await page.goto(url);
  else await page.reload();
  await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => window.openError), undefined);
  await page.evaluate(() => { window.handles = new Map(); });
  await page.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 30_000 });
}

/** Runs one seeded sequence on a fresh light tab (`mode`: its query); returns the steps. */
async function sequence(full, mode, seed) {
  const next = random(seed * 7919 + mode.length);
  const pick = (items) => items[Math.floor(next() * items.length)];
  const tweets = Array.from({ length: TWEETS }, (_, i) => `model-${mode.replaceAll("&", "-")}-${seed}-${i}`);
  const model = new Model(tweets);
  const tab = await open(`light&maxTweets=${MAX_TWEETS}&${mode}`);
  const steps = [];
  let handle = 0;
  let otherUser = 0;
  const ops = [
    [4, async () => {
      const chosen = [...new Set([pick(tweets), ...(next() < 0.5 ? [pick(tweets)] : [])])];
      const id = handle++;
      await tab.evaluate(([ids, id]) => { window.handles.set(id, window.statsNode.watch(ids)); }, [chosen, id]);
      model.handles.set(id, chosen);
      for (const t of chosen) model.use(t, 1);
      return `watch ${chosen} (#${id})`;
    }],
    [3, async () => {
      if (model.handles.size === 0) return "no watch to end";
      const id = pick([...model.handles.keys()]);
      await tab.evaluate((id) => { window.handles.get(id)(); window.handles.delete(id); }, id);
      for (const t of model.handles.get(id)) model.unwatch(t);
      model.handles.delete(id);
      return `unwatch #${id}`;
    }],
    [3, async () => {
      const [t, user, like] = [pick(tweets), pick(USERS), next() < 0.7];
      const count = await tab.evaluate(([t, u, like]) => (like ? window.statsNode.like(t, u) : window.statsNode.unlike(t, u)), [t, user, like]);
      const mark = `${t}\n${user}`;
      if (like && !model.marks.has(mark)) { model.marks.add(mark); model.own.get(t).likes += 1; }
      if (!like && model.marks.has(mark)) { model.marks.delete(mark); model.own.get(t).likes -= 1; }
      model.use(t, 0);
      const shown = await tab.evaluate((t) => window.statsNode.stats(t).likes, t);
      assert.equal(shown, count, "reads follow the tab's own writes");
      return `${like ? "like" : "unlike"} ${t} as ${user}`;
    }],
    [1, async () => {
      const t = pick(tweets);
      await tab.evaluate((t) => window.statsNode.view(t), t);
      model.own.get(t).views += 1;
      model.use(t, 0);
      return `view ${t}`;
    }],
    [3, async () => {
      const t = pick(tweets);
      await full.evaluate(([t, u]) => window.statsNode.like(t, u), [t, `other-${seed}-${otherUser++}`]);
      model.others.get(t).likes += 1;
      return `another node likes ${t}`;
    }],
    [1, async () => {
      const t = pick(tweets);
      await full.evaluate((t) => window.statsNode.view(t), t);
      model.others.get(t).views += 1;
      return `another node views ${t}`;
    }],
    [1, async () => {
      model.online = !model.online;
      await tab.evaluate((online) => window.statsNode.setOnline(online), model.online);
      if (model.online) await tab.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 30_000 });
      return model.online ? "online" : "offline";
    }],
    [1, async () => {
      await load(tab);
      model.online = true;
      model.handles.clear();
      for (const held of model.held) held.watchers = 0;
      return "reload";
    }],
  ];
  const weights = ops.reduce((sum, [weight]) => sum + weight, 0);
  // Other nodes' likes are known to the full node once it shows them (so they reached the edge).
  const settled = () => full.waitForFunction((expected) => expected.every(([t, n]) => window.statsNode.stats(t).likes >= n),
    tweets.map((t) => [t, model.others.get(t).likes]), { timeout: 15_000 });
  try {
    for (let step = 0; step < STEPS; step++) {
      let roll = next() * weights;
      const [, op] = ops.find(([weight]) => (roll -= weight) < 0) ?? ops[ops.length - 1];
      steps.push(await op());
      await settled();
      const expected = tweets.map((t) => [t, model.expected(t)]);
      const marks = tweets.flatMap((t) => USERS.map((u) => [t, u, model.marks.has(`${t}\n${u}`)]));
      await tab.waitForFunction(([expected, marks]) => {
        const node = window.statsNode;
        const fits = ([t, { exact, low, high }]) => {
          const { likes, views } = node.stats(t);
          return exact ? likes === exact.likes && views === exact.views
            : likes >= low.likes && likes <= high.likes && views >= low.views && views <= high.views;
        };
        return expected.every(fits) && marks.every(([t, u, liked]) => node.hasLiked(t, u) === liked);
      }, [expected, marks], { timeout: 15_000 });
    }
    assert.equal(tab.pageError, undefined);
  } catch (error) {
    const shown = await tab.evaluate((ts) => ts.map((t) => [t, window.statsNode.stats(t)]), tweets).catch(() => "?");
    throw new Error(`${mode} seed ${seed}: ${error.message}\nsteps:\n${steps.join("\n")}\nmodel: ${JSON.stringify(model.held)}\nexpected: ${JSON.stringify(tweets.map((t) => model.expected(t)))}\nshown: ${JSON.stringify(shown)}`);
  } finally {
    await tab.context().close();
  }
  return steps.length;
}

test(`light nodes against a model of the README: ${SEEDS} seeded sequences of ${STEPS} steps each, on the page's thread and in a worker`, async () => {
  const full = await (await env.browser.newContext()).newPage();
  await load(full, `${env.edge.url}index.html?difficulty=${DIFFICULTY}&transport=websocket`);
  let steps = 0;
  for (const mode of ["thread", "worker"]) {
    for (let seed = 1; seed <= SEEDS; seed++) steps += await sequence(full, mode, seed);
  }
  console.log(`model: ${2 * SEEDS} sequences, ${steps} steps checked`);
  await full.context().close();
});
