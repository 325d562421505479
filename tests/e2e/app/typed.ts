// The package's TypeScript declarations as a TypeScript client uses them: `tsc --strict` must
// accept this file, and each `@ts-expect-error` line must be an error (so the types are not
// `any`: a misspelt field or a number for an id is caught).
import { openStatsNode, type WorkerStatsNode } from "warpnet-stats/worker";
import init, {
  type Contribution,
  StatsNode,
  type StatsNodeError,
  type StatsNodeErrorCode,
  type StatsNodeOptions,
  type SyncStatus,
  type TweetStats,
} from "warpnet-stats";

await init();
const options: StatsNodeOptions = { namespace: "e2e", light: true, maxTweets: 100, caps: { likes: 5 } };
const node: StatsNode = await StatsNode.open(options);
const stats: TweetStats = node.stats("t1");
const likes: number = stats.likes + (await node.like("t1", "alice"));
const status: SyncStatus = node.syncStatus();
const lastSync: number | null = status.lastSync;
const dropped: number | undefined = status.dropped["bad-signature"];
const writers: string[] = node.contributions("t1").map((share) => share.nodeId);
const unwatch: () => void = node.watch(["t1", "t2"]);
unwatch();
node.addEventListener("change", (event) => {
  const tweet: string = event.detail.tweetId;
  const source: "local" | "tab" | "remote" = event.detail.source;
  console.log(tweet, source, event.detail.stats.views);
});
node.addEventListener("identity", (event) => console.log(event.detail.minted, event.detail.attempts));
// An EventTarget, with its options; a "status" event carrying syncStatus().
const target: EventTarget = node;
const stop = new AbortController();
node.addEventListener("status", (event) => console.log(event.detail.connected, event.detail.lastSync), { signal: stop.signal });
node.addEventListener("change", (event) => console.log(event.detail.stats.likes), { once: true });
stop.abort();
const closing: Promise<void> = node[Symbol.asyncDispose]();
try {
  await node.verify("t1");
} catch (error) {
  const code: StatsNodeErrorCode = (error as StatsNodeError).code;
  if (code === "verify-failed" || code === "no-network") console.log(code);
}
// Loading states: loaded() and the snapshot's `loaded`, on both variants.
const loaded: boolean = node.loaded("t1") && node.snapshot("t1").loaded && node.snapshot("t1").verified;
console.log(likes, lastSync, dropped, writers, loaded);

// The node in a worker: the same API, `contributions` resolving.
const off: WorkerStatsNode = await openStatsNode(options);
const inWorker: boolean = off.inWorker;
const offShares: Contribution[] = await off.contributions("t1");
const offLikes: number = off.stats("t1").likes + (await off.like("t1", "bob"));
off.addEventListener("change", (event) => console.log(event.detail.stats.likes));
off.addEventListener("status", (event) => console.log(event.detail.online), { once: true });
const offTarget: Pick<EventTarget, "dispatchEvent"> = off;
const offClosed: Promise<void> = off.close();
const offLoaded: boolean = off.loaded("t1") && off.snapshot("t1").loaded;
console.log(inWorker, offShares, offLikes, target, closing, offTarget, offClosed, offLoaded);

// @ts-expect-error: a namespace is required
await StatsNode.open({ light: true });
// @ts-expect-error: no such option
await StatsNode.open({ namespace: "e2e", lite: true });
// @ts-expect-error: ids are strings
await node.like(5, "alice");
// @ts-expect-error: no such statistic
console.log(stats.likez);
// @ts-expect-error: no such error code
const unknown: StatsNodeErrorCode = "oops";
// @ts-expect-error: a change's detail is a StatsChange
node.addEventListener("change", (event) => console.log(event.detail.tweet));
// @ts-expect-error: a peer's transport is one of four
const transport: "quic" = node.peers()[0].transport;
console.log(transport);
// @ts-expect-error: a status's detail is a SyncStatus
node.addEventListener("status", (event) => console.log(event.detail.tweetId));
console.log(unknown);
// @ts-expect-error: in a worker, contributions resolves
const notYet: Contribution[] = off.contributions("t1");
// @ts-expect-error: the worker node's options are StatsNode's
await openStatsNode({ namespace: "e2e", lite: true });
console.log(notYet);
// @ts-expect-error: no per-statistic methods: stats() has the four counts
node.likesCount("t1");
