// The demo page: a feed of sample tweets whose statistics live in a warpnet-stats node in this
// tab. It imports the npm package as any web client would (the edge node serves it at /pkg/)
// and finds its edge node, and the namespace to join, from /bootstrap.json of its origin. The
// node is a light node: it watches the rows on screen (an IntersectionObserver), so it receives
// the statistics of those tweets only.
// Query: ?transport=websocket|webrtc-direct (default websocket), ?namespace=... (default: the
// edge node's).
import init, { StatsNode } from "/pkg/warpnet_stats.js";

const TWEETS = [
  { id: "demo-1", author: "@ada", text: "Offline-first counters: like this while your tab is offline, then reconnect." },
  { id: "demo-2", author: "@grace", text: "Every node signs what it counted; every other node checks before it merges." },
  { id: "demo-3", author: "@linus", text: "PN-counters merge by maximum, so an unlike survives any delivery order." },
  { id: "demo-4", author: "@barbara", text: "Open this page in two browsers and watch the counts meet." },
  { id: "demo-5", author: "@edsger", text: "Catch-up compares digests and fetches only the entries that differ." },
  // A longer feed: this tab receives the statistics of the rows it shows, nothing else.
  ...Array.from({ length: 295 }, (_, i) => ({
    id: `demo-${i + 6}`,
    author: `@sample${(i % 17) + 1}`,
    text: `Sample tweet ${i + 6}: scroll, and only the rows on screen are watched.`,
  })),
];
const STATS = ["likes", "retweets", "replies", "views"];
const USER_KEY = "warpnet-stats-demo/user";

const $ = (selector, root = document) => root.querySelector(selector);
const query = new URLSearchParams(location.search);
const transport = query.get("transport") === "webrtc-direct" ? "webrtc-direct" : "websocket";

let node;

// ---- errors: shown on the page, not only in the console ----
function showError(error) {
  const box = $("#error");
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  box.textContent = message;
  box.hidden = false;
  console.error(error);
}
function clearError() {
  $("#error").hidden = true;
}
addEventListener("error", (e) => showError(e.error ?? e.message));
addEventListener("unhandledrejection", (e) => showError(e.reason));

// ---- the user name, remembered across reloads ----
const userInput = $("#user");
userInput.value = localStorage.getItem(USER_KEY) || `user-${Math.random().toString(36).slice(2, 7)}`;
localStorage.setItem(USER_KEY, userInput.value);
userInput.addEventListener("change", () => {
  const name = userInput.value.trim();
  if (!name) return showError(new RangeError("the user name must not be empty"));
  userInput.value = name;
  localStorage.setItem(USER_KEY, name);
  try {
    node?.hasLiked(TWEETS[0].id, name); // the library checks the name
    clearError();
  } catch (error) {
    showError(error);
  }
  unwatchers.forEach((_, id) => render(id));
});
const user = () => userInput.value.trim();

// ---- the feed ----
const template = $("#tweet-template");
for (const tweet of TWEETS) {
  const card = template.content.firstElementChild.cloneNode(true);
  card.dataset.tweet = tweet.id;
  $(".author", card).textContent = tweet.author;
  $(".text", card).textContent = tweet.text;
  card.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (button && node) act(tweet.id, button.dataset.action).catch(showError);
  });
  $("#tweets").append(card);
}

// ---- watching the rows on screen ----
const unwatchers = new Map();
const onScreen = new IntersectionObserver((entries) => {
  const shown = [];
  for (const entry of entries) {
    const id = entry.target.dataset.tweet;
    if (entry.isIntersecting && !unwatchers.has(id)) {
      shown.push(id);
    } else if (!entry.isIntersecting && unwatchers.has(id)) {
      unwatchers.get(id)();
      unwatchers.delete(id);
    }
  }
  if (!node) return;
  for (const id of shown) {
    unwatchers.set(id, node.watch([id]));
    render(id);
  }
}, { rootMargin: "200px 0px" });

async function act(tweetId, action) {
  const who = user();
  switch (action) {
    case "like":
      await (node.hasLiked(tweetId, who) ? node.unlike(tweetId, who) : node.like(tweetId, who));
      break;
    case "retweet":
      await (node.hasRetweeted(tweetId, who) ? node.unretweet(tweetId, who) : node.retweet(tweetId, who));
      break;
    case "reply":
      await node.reply(tweetId, `${who}-${Date.now().toString(36)}`);
      break;
    case "view":
      await node.view(tweetId);
      break;
  }
  clearError();
  render(tweetId);
}

const shortId = (id) => (id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id);

function render(tweetId) {
  const card = document.querySelector(`[data-tweet="${CSS.escape(tweetId)}"]`);
  if (!card || !node) return;
  const stats = node.stats(tweetId);
  card.dataset.verified = node.verified(tweetId);
  // Counts not current yet (no edge node answered for this tweet): shown faded.
  card.dataset.loaded = node.loaded(tweetId);
  for (const stat of STATS) {
    $(`[data-count="${stat}"]`, card).textContent = stats[stat];
    $(`[data-total="${stat}"]`, card).textContent = stats[stat];
  }
  let [liked, retweeted] = [false, false];
  try {
    [liked, retweeted] = [node.hasLiked(tweetId, user()), node.hasRetweeted(tweetId, user())];
  } catch {
    // An invalid user name: the error is shown when it is entered and when it is used.
  }
  $('[data-action="like"]', card).setAttribute("aria-pressed", liked);
  $('[data-action="retweet"]', card).setAttribute("aria-pressed", retweeted);
  const rows = node.contributions(tweetId).sort((a, b) => b.local - a.local);
  $("tbody", card).replaceChildren(...rows.map((share) => {
    const row = document.createElement("tr");
    row.dataset.node = share.nodeId;
    const name = document.createElement("td");
    name.textContent = shortId(share.nodeId) + (share.local ? " (this node)" : share.tally ? " (everyone else, its tally)" : "");
    name.title = share.tally ? `edge node ${share.nodeId}` : `${share.nodeId}\ngeneration ${share.generation}`;
    if (share.local) name.className = "you";
    row.append(name, ...STATS.map((stat) => {
      const cell = document.createElement("td");
      cell.dataset.stat = stat;
      cell.textContent = share[stat];
      return cell;
    }));
    return row;
  }));
}

// ---- the node panel and the network status ----
function renderStatus() {
  if (!node) return;
  const status = node.syncStatus();
  const ago = (ms) => (ms == null ? "never" : `${Math.max(0, Math.round((Date.now() - ms) / 1000))} s ago`);
  const dropped = Object.entries(status.dropped).map(([why, n]) => `${why} ${n}`).join(", ") || "none";
  const items = [
    ["State", status.online ? (status.connected ? "online, connected" : "online, connecting…") : "offline"],
    ["Peers", status.peers],
    ["Last sync", ago(status.lastSync)],
    ["Pending", `${status.pendingEntries} local changes`],
    ["Published", `${status.publishedEntries} entries`],
    ["Watching", `${unwatchers.size} of ${TWEETS.length} tweets`],
    ["Received", `${status.receivedBytes.toLocaleString("en")} bytes`],
    ["Refused", dropped],
  ];
  $("#status").replaceChildren(...items.flatMap(([term, value]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value;
    dd.dataset.status = term.toLowerCase().replace(/\W+/g, "-");
    return [dt, dd];
  }));
  const peers = node.peers();
  $("#peers").replaceChildren(...(peers.length ? peers : [null]).map((peer) => {
    const item = document.createElement("li");
    if (!peer) {
      item.textContent = "none";
      item.className = "muted";
      return item;
    }
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = peer.transport;
    const id = document.createElement("code");
    id.textContent = shortId(peer.id);
    id.title = `${peer.id}\n${peer.address}`;
    item.dataset.transport = peer.transport;
    item.append(badge, id, ` since ${new Date(peer.since).toLocaleTimeString()}`);
    return item;
  }));
}

$("#transport").value = transport;
$("#transport").addEventListener("change", (e) => {
  query.set("transport", e.target.value);
  location.search = query.toString();
});

const onlineSwitch = $("#online");
onlineSwitch.addEventListener("change", () => {
  try {
    node.setOnline(onlineSwitch.checked);
    renderStatus();
  } catch (error) {
    showError(error);
  }
});

// ---- start ----
/** The edge node's addresses for this page's transport, best first: the host this page came from. */
function pickAddresses(addresses) {
  const marker = transport === "webrtc-direct" ? "/webrtc-direct/" : "/ws/";
  const usable = addresses.filter((a) => a.includes(marker));
  const host = location.hostname === "localhost" ? "127.0.0.1" : location.hostname.replace(/^\[|\]$/g, "");
  const here = usable.filter((a) => a.split("/")[2] === host);
  return (here.length ? here : usable).slice(0, 1);
}

async function start() {
  await init();
  let bootstrap = [];
  let namespace = query.get("namespace");
  try {
    const response = await fetch("/bootstrap.json");
    if (!response.ok) throw new Error(`/bootstrap.json answered ${response.status}`);
    const edge = await response.json();
    bootstrap = pickAddresses(edge.addresses ?? []);
    namespace ??= edge.namespace;
    if (!bootstrap.length) throw new Error(`the edge node offers no ${transport} address`);
  } catch (error) {
    showError(new Error(`No edge node found (${error.message}): this node counts offline only.`));
  }
  node = await StatsNode.open({ namespace: namespace ?? "mainnet", bootstrap, light: true });
  window.statsNode = node;
  $("#node-id").textContent = node.nodeId;
  $("#storage").textContent = node.persistent ? "IndexedDB" : "memory only (IndexedDB unavailable)";
  onlineSwitch.disabled = bootstrap.length === 0;
  onlineSwitch.checked = bootstrap.length > 0;
  node.addEventListener("change", (e) => render(e.detail.tweetId));
  node.addEventListener("warning", (e) => showError(e.detail.message));
  node.addEventListener("status", renderStatus); // connected, offline, caught up: at once
  document.querySelectorAll("[data-tweet]").forEach((card) => onScreen.observe(card));
  renderStatus();
  setInterval(renderStatus, 1000); // the counters and "s ago"
  document.body.dataset.ready = "true";
}

start().catch(showError);
