// A React client of the package: each row watches its tweet and reads it through
// useSyncExternalStore (`subscribe` + `snapshot`), showing "loading" until the node is open and
// "…" until its counts are loaded. With `?edge`, a light node of the edge node serving the page
// (its /bootstrap.json); else a node off the network. Bundled in React's development build,
// which reports a getSnapshot that is not cached (an error in the console).
import { useEffect, useState, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import init, { StatsNode } from "warpnet-stats";

const TWEETS = ["r1", "r2"];
window.renders = { r1: 0, r2: 0 };
window.loadingShown = { r1: false, r2: false };

async function open() {
  await init();
  if (!new URLSearchParams(location.search).has("edge")) return StatsNode.open({ namespace: "react" });
  const { addresses } = await (await fetch("/bootstrap.json")).json();
  const bootstrap = addresses.filter((a) => a.includes("/ws/") && a.startsWith("/ip4/127.0.0.1/"));
  return StatsNode.open({ namespace: "react", bootstrap, light: true, difficulty: 8 });
}

function Likes({ node, tweetId }) {
  useEffect(() => node.watch([tweetId]), [node, tweetId]);
  const counts = useSyncExternalStore(
    (changed) => node.subscribe(tweetId, changed),
    () => node.snapshot(tweetId),
  );
  window.renders[tweetId]++;
  if (!counts.loaded) window.loadingShown[tweetId] = true;
  return <output data-likes={tweetId}>{counts.loaded ? counts.likes : "…"}</output>;
}

function App() {
  const [node, setNode] = useState(null);
  useEffect(() => {
    let opened;
    open()
      .then((node) => {
        opened = node;
        window.statsNode = node;
        setNode(node);
      });
    return () => opened?.close();
  }, []);
  if (!node) return <p id="loading">loading</p>;
  return (
    <ul>
      {TWEETS.map((tweetId) => (
        <li key={tweetId}>
          <Likes node={node} tweetId={tweetId} />
          <button data-like={tweetId} onClick={() => node.like(tweetId, "alice")}>like</button>
        </li>
      ))}
    </ul>
  );
}

createRoot(document.getElementById("root")).render(<App />);
