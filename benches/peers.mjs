// Side by side with Automerge and Yjs (`scripts/bench --peers`), one workload: 10 nodes, 1,000
// tweets x 4 stats, 20,000 actions each by a user of its own on a (node, tweet, stat) drawn
// from splitmix64 seeded 42, every node's state merged into one replica, then 100 more likes on node 0. Alike for the three libraries: each
// is called from JS once per action, with ids built inside the timing (the tweet's number as
// its id); every state crosses as bytes (encoded, then decoded and merged); medians of 5
// rounds. Each node keeps a counter of its own per (tweet, stat) (what a PN-counter per writer
// is; concurrent writes to one shared key would lose counts in Yjs's maps, and concurrent
// creation of one Automerge counter too). warpnet-stats is its core behind a few JS calls
// (benches/peers-wasm, built by scripts/bench --peers), and its one-off cost Automerge and Yjs
// do not have, minting an identity proof at the default difficulty, is reported apart.
import { createRequire } from "node:module";
import { resolve } from "node:path";
import * as Automerge from "@automerge/automerge";
import * as Y from "yjs";

const NODES = 10, TWEETS = 1000, ACTIONS = 20000, MORE = 100, ROUNDS = 5;
const MASK = (1n << 64n) - 1n;

function splitmix(seed) {
  let state = BigInt(seed);
  return () => {
    state = (state + 0x9E3779B97F4A7C15n) & MASK;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & MASK;
    return z ^ (z >> 31n);
  };
}

function workload() {
  const next = splitmix(42);
  const actions = [];
  for (let user = 0; user < ACTIONS; user++) {
    const node = Number(next() % BigInt(NODES));
    const tweet = Number(next() % BigInt(TWEETS));
    const stat = Number(next() % 4n);
    actions.push([node, tweet, stat]);
  }
  const more = [];
  for (let i = 0; i < MORE; i++) more.push([0, Number(next() % BigInt(TWEETS)), 0]);
  return { actions, more };
}

/** Sum over tweets t and stats s of count(t, s) * (4 t + s + 1), as the Rust side computes. */
function checksum(count) {
  let sum = 0;
  for (let t = 0; t < TWEETS; t++) for (let s = 0; s < 4; s++) sum += count(t, s) * (4 * t + s + 1);
  return sum;
}

/** Totals per `${tweet}/${stat}` of per-node counters named `${tweet}/${stat}/${node}`. */
function totals(entries) {
  const sums = new Map();
  for (const [key, value] of entries) {
    const at = key.lastIndexOf("/");
    const counter = key.slice(0, at);
    sums.set(counter, (sums.get(counter) ?? 0) + value);
  }
  return (t, s) => sums.get(`${t}/${s}`) ?? 0;
}

const yjs = {
  name: "Yjs " + "13.6",
  run({ actions, more }) {
    const docs = Array.from({ length: NODES }, () => new Y.Doc());
    const maps = docs.map((d) => d.getMap("c"));
    let start = performance.now();
    for (const [node, tweet, stat] of actions) {
      const key = `${tweet}/${stat}/${node}`;
      maps[node].set(key, (maps[node].get(key) ?? 0) + 1);
    }
    const local = performance.now() - start;
    start = performance.now();
    const merged = new Y.Doc();
    for (const doc of docs) Y.applyUpdate(merged, Y.encodeStateAsUpdate(doc));
    const merge = performance.now() - start;
    const full = Y.encodeStateAsUpdate(merged).length;
    const before = Y.encodeStateVector(docs[0]);
    for (const [node, tweet, stat] of more) {
      const key = `${tweet}/${stat}/${node}`;
      maps[node].set(key, (maps[node].get(key) ?? 0) + 1);
    }
    const update = Y.encodeStateAsUpdate(docs[0], before);
    Y.applyUpdate(merged, update);
    const sum = checksum(totals(merged.getMap("c").entries()));
    return { local, merge, full, incremental: update.length, sum };
  },
};

const automerge = {
  name: "Automerge 3.5",
  run({ actions, more }) {
    // One document every node starts from (separately created maps would conflict).
    const base = Automerge.from({ c: {} });
    let docs = Array.from({ length: NODES }, () => Automerge.clone(base));
    const act = (doc, node, tweet, stat) => Automerge.change(doc, (d) => {
      const key = `${tweet}/${stat}/${node}`;
      if (d.c[key] === undefined) d.c[key] = new Automerge.Counter(1);
      else d.c[key].increment(1);
    });
    let start = performance.now();
    for (const [node, tweet, stat] of actions) docs[node] = act(docs[node], node, tweet, stat);
    const local = performance.now() - start;
    start = performance.now();
    let merged = Automerge.clone(base);
    for (const doc of docs) merged = Automerge.loadIncremental(merged, Automerge.save(doc));
    const merge = performance.now() - start;
    const full = Automerge.save(merged).length;
    const heads = Automerge.getHeads(docs[0]);
    for (const [node, tweet, stat] of more) docs[0] = act(docs[0], node, tweet, stat);
    const update = Automerge.saveSince(docs[0], heads);
    merged = Automerge.loadIncremental(merged, update);
    const sum = checksum(totals(Object.entries(merged.c).map(([k, v]) => [k, v.value])));
    return { local, merge, full, incremental: update.length, sum };
  },
};

const repo = resolve(import.meta.dirname, "..");
const { BenchNode, mint } = createRequire(import.meta.url)(resolve(repo, "target/bench-peers/warpnet_stats_bench_peers.js"));

const warpnet = {
  name: "warpnet-stats (wasm)",
  run({ actions, more }) {
    const nodes = Array.from({ length: NODES }, (_, i) => new BenchNode(i + 1));
    let start = performance.now();
    actions.forEach(([node, tweet, stat], user) => {
      nodes[node].act(`${tweet}`, stat, stat === 2 ? `r${user}` : `u${user}`);
    });
    const local = performance.now() - start;
    start = performance.now();
    const merged = new BenchNode(100);
    let full = 0;
    for (const node of nodes) {
      const bytes = node.export();
      full += bytes.length;
      merged.merge(bytes);
    }
    const merge = performance.now() - start;
    more.forEach(([node, tweet], i) => nodes[node].act(`${tweet}`, 0, `u${ACTIONS + i}`));
    const update = nodes[0].export();
    merged.merge(update);
    const sum = checksum((t, s) => merged.count(`${t}`, s));
    for (const node of [...nodes, merged]) node.free();
    return { local, merge, full, incremental: update.length, sum };
  },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const work = workload();
const rows = [];
for (const library of [automerge, yjs, warpnet]) {
  const runs = Array.from({ length: ROUNDS }, () => library.run(work));
  const sums = new Set(runs.map((r) => r.sum));
  rows.push({
    name: library.name,
    actionsPerSecond: median(runs.map((r) => ACTIONS / r.local * 1000)),
    merge: median(runs.map((r) => r.merge)),
    full: median(runs.map((r) => r.full)),
    incremental: median(runs.map((r) => r.incremental)),
    sum: [...sums].join("/"),
  });
}
// A new warpnet-stats node's identity proof at the default difficulty, three nodes.
const mints = [1, 2, 3].map((seed) => {
  const start = performance.now();
  const attempts = mint(seed);
  return { ms: performance.now() - start, attempts };
});

const fmt = (n, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
console.log(`| | ${rows.map((r) => r.name).join(" | ")} |`);
console.log(`|---|${rows.map(() => "---").join("|")}|`);
console.log(`| local actions/s, one call per action | ${rows.map((r) => fmt(r.actionsPerSecond)).join(" | ")} |`);
console.log(`| merge all replicas into one (ms) | ${rows.map((r) => fmt(r.merge, 1)).join(" | ")} |`);
console.log(`| full-state bytes | ${rows.map((r) => fmt(r.full)).join(" | ")} |`);
console.log(`| incremental bytes, 100 likes | ${rows.map((r) => fmt(r.incremental)).join(" | ")} |`);
console.log(`| checksum of the totals | ${rows.map((r) => r.sum).join(" | ")} |`);
const mintMs = median(mints.map((m) => m.ms));
console.log(`| a new node's identity proof at the default difficulty, median of 3 (ms) | - | - | ${fmt(mintMs)} (${mints.map((m) => fmt(m.attempts)).join(", ")} attempts) |`);
if (new Set(rows.map((r) => r.sum)).size !== 1) {
  console.error("the totals differ between libraries");
  process.exit(1);
}
