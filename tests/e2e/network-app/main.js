// A browser node that finds its edge node from /bootstrap.json of its origin, as the demo page
// does. Query: ?transport=websocket|webrtc-direct&namespace=...&difficulty=N (the namespace's
// identity-proof difficulty: as the edge node's --difficulty)&light (a light node)&maxTweets=N
// (its bound)&worker (the node in a worker, warpnet-stats/worker); tests drive it through
// window.statsNode and read every change event (with its arrival time) from window.changes
// and their count from peers (stored in IndexedDB before the event) from window.remoteChanges.
import init, { StatsNode } from "/pkg/warpnet_stats.js";
import { openStatsNode } from "/pkg/worker.js";

const query = new URLSearchParams(location.search);
const transport = query.get("transport") ?? "websocket";
const marker = transport === "webrtc-direct" ? "/webrtc-direct/" : "/ws/";
try {
  const { addresses } = await (await fetch("/bootstrap.json")).json();
  const bootstrap = addresses.filter((a) => a.includes(marker) && a.startsWith("/ip4/127.0.0.1/"));
  const difficulty = query.has("difficulty") ? Number(query.get("difficulty")) : undefined;
  const light = query.has("light");
  const maxTweets = query.has("maxTweets") ? Number(query.get("maxTweets")) : undefined;
  const options = { namespace: query.get("namespace") ?? "e2e", bootstrap, difficulty, light, maxTweets };
  const node = query.has("worker") ? await openStatsNode(options) : await init().then(() => StatsNode.open(options));
  window.changes = [];
  window.remoteChanges = 0;
  node.addEventListener("change", (e) => {
    window.changes.push({ ...e.detail, at: performance.now() });
    if (e.detail.source === "remote") window.remoteChanges++;
  });
  document.getElementById("node-id").textContent = node.nodeId;
  window.statsNode = node;
} catch (error) {
  window.openError = String(error?.stack ?? error);
}
