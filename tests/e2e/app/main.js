// A web client of the published package, as a developer would write it; with ?worker the node
// runs in a worker (warpnet-stats/worker).
import init, { StatsNode } from "warpnet-stats";

const options = { namespace: "e2e" };
const node = new URLSearchParams(location.search).has("worker")
  ? await (await import("warpnet-stats/worker")).openStatsNode(options)
  : await init().then(() => StatsNode.open(options));
const likes = document.getElementById("likes");
const show = () => { likes.textContent = String(node.stats("t1").likes); };
node.addEventListener("change", show);
document.getElementById("node-id").textContent = node.nodeId;
document.getElementById("like").addEventListener("click", () => node.like("t1", "alice"));
show();
window.statsNode = node;
