// A web client of the published package, as a developer would write it.
import init, { StatsNode } from "warpnet-stats";

await init();
const node = await StatsNode.open({ namespace: "e2e" });
const likes = document.getElementById("likes");
const show = () => { likes.textContent = String(node.likesCount("t1")); };
node.addEventListener("change", show);
document.getElementById("node-id").textContent = node.nodeId;
document.getElementById("like").addEventListener("click", () => node.like("t1", "alice"));
show();
window.statsNode = node;
