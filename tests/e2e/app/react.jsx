// A React client of the package: each row reads its tweet through useSyncExternalStore
// (`subscribe` + `snapshot`), showing "loading" until the node is open. Bundled in React's
// development build, which reports a getSnapshot that is not cached (an error in the console).
import { useEffect, useState, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import init, { StatsNode } from "warpnet-stats";

const TWEETS = ["r1", "r2"];
window.renders = { r1: 0, r2: 0 };

function Likes({ node, tweetId }) {
  const counts = useSyncExternalStore(
    (changed) => node.subscribe(tweetId, changed),
    () => node.snapshot(tweetId),
  );
  window.renders[tweetId]++;
  return <output data-likes={tweetId}>{counts.likes}</output>;
}

function App() {
  const [node, setNode] = useState(null);
  useEffect(() => {
    let opened;
    init()
      .then(() => StatsNode.open({ namespace: "react" }))
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
