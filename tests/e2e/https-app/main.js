// A page served over https from an origin of its own that finds its edge node from the edge
// node's /bootstrap.json (another origin: read by CORS) and opens a light node in a worker.
// Query: ?edge=https://host:port (the edge node's site)&difficulty=N&ws=address (given this
// bootstrap instead, one plain ws:// address). Tests read window.statsNode, window.warnings
// (every "warning" event's detail) and window.bootstrap (what /bootstrap.json said).
import { openStatsNode } from "/pkg/worker.js";

const query = new URLSearchParams(location.search);
window.warnings = [];
try {
  window.bootstrap = await (await fetch(`${query.get("edge")}/bootstrap.json`)).json();
  const bootstrap = query.has("ws") ? [query.get("ws")] : window.bootstrap.addresses;
  const difficulty = Number(query.get("difficulty"));
  const node = await openStatsNode({ namespace: window.bootstrap.namespace, bootstrap, difficulty, light: true });
  node.addEventListener("warning", (e) => window.warnings.push(e.detail));
  document.getElementById("node-id").textContent = node.nodeId;
  window.statsNode = node;
} catch (error) {
  window.openError = String(error?.stack ?? error);
}
