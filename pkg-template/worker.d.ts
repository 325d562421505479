// `warpnet-stats/worker`: a StatsNode in a dedicated worker (see worker.js).
import type { Contribution, StatsNode, StatsNodeOptions } from "./warpnet_stats.js";

/**
 * The members of `StatsNode` a worker node shares, named one by one (not left out by
 * `Omit<..., typeof Symbol.dispose>`, which without TypeScript's `ESNext.Disposable` lib, as in
 * create-vite's tsconfig, turned the whole type into an index signature).
 */
type WorkerMembers =
  | "nodeId" | "persistent"
  | "like" | "unlike" | "retweet" | "unretweet" | "reply" | "deleteReply" | "view"
  | "stats" | "loaded"
  | "hasLiked" | "hasRetweeted" | "verified" | "verify" | "watch"
  | "peers" | "syncStatus" | "setOnline" | "close"
  | "addEventListener" | "removeEventListener" | "dispatchEvent" | "subscribe" | "snapshot";

/**
 * A StatsNode running in a worker (`inWorker`), or on the page's thread where no worker could
 * start: the StatsNode API, reads answered at once from the page's copy of what it shows;
 * `contributions` resolves.
 */
export interface WorkerStatsNode extends Pick<StatsNode, WorkerMembers> {
  /** Whether the node runs in a worker (false: on this thread, no worker could start). */
  readonly inWorker: boolean;
  /** Who contributed what to a tweet's statistics (see `StatsNode.contributions`). */
  contributions(tweetId: string): Promise<Contribution[]>;
  /** Closes the node (see `close`): `await using node = await openStatsNode(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Opens a StatsNode in a dedicated worker, off the page's thread, or on this thread where no
 * worker can start. In a worker the node dials the bootstrap's WebSocket addresses (workers
 * have no WebRTC); given WebRTC-direct addresses alone it runs on this thread.
 *
 * ```js
 * import { openStatsNode } from "warpnet-stats/worker";
 * const node = await openStatsNode({ namespace: "mainnet", bootstrap, light: true });
 * node.addEventListener("change", (e) => render(e.detail.tweetId, e.detail.stats));
 * ```
 */
export function openStatsNode(options: StatsNodeOptions): Promise<WorkerStatsNode>;
