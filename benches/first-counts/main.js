// A tab of the edge node serving it (benches/first-counts.mjs). Query: ?seed (a full node
// liking tweets t0..t999 once each), ?light (a light node watching t0..t19), ?full (a full
// node catching up), ?init (the package's init() alone), ?blank (no node). Times in
// window.marks are ms since navigation.
const query = new URLSearchParams(location.search);
const marks = { script: performance.now() };
window.marks = marks;

async function run() {
  const { default: init, StatsNode } = await import("/pkg/warpnet_stats.js");
  const wasm = await init();
  marks.init = performance.now();
  marks.wasmMemory = wasm.memory.buffer.byteLength;
  if (query.has("init")) return;
  const { addresses } = await (await fetch("/bootstrap.json")).json();
  const bootstrap = addresses.filter((a) => a.includes("/ws/") && a.startsWith("/ip4/127.0.0.1/"));
  const node = await StatsNode.open({ namespace: "bench", bootstrap, light: query.has("light"), difficulty: 8 });
  window.statsNode = node;
  marks.open = performance.now();
  const tweets = Array.from({ length: query.has("seed") ? 1000 : 20 }, (_, i) => `t${i}`);
  if (query.has("seed")) {
    await Promise.all(tweets.map((t) => node.like(t, "seed")));
    // Published, and held by the edge node (a catch-up found it there).
    await new Promise((resolve) => setInterval(() => {
      const status = node.syncStatus();
      if (status.lastSync !== null && status.pendingEntries === 0) resolve();
    }, 100));
    return;
  }
  if (query.has("light")) node.watch(tweets);
  await new Promise((resolve) => {
    const check = () => tweets.every((t) => node.loaded(t)) && resolve();
    node.addEventListener("change", check);
    node.addEventListener("status", check);
    check();
  });
  marks.counts = performance.now();
  marks.likes = tweets.reduce((sum, t) => sum + node.stats(t).likes, 0);
  marks.wasmMemory = wasm.memory.buffer.byteLength;
}

if (!query.has("blank")) await run();
window.done = true;
