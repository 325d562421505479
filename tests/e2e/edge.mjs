// Starts the edge node binary for the end-to-end tests and benchmarks: loopback only, free
// ports, a fresh data directory; resolves once it serves HTTP. `stop()` ends it with SIGTERM.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repo, "target");

/** `profile`: "debug" (built by `cargo test`) or "release". */
export async function startEdge({ profile = "debug", namespace = "e2e", www, env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "warpnet-edge-"));
  const child = spawn(join(target, profile, "warpnet-stats-edge"), [
    "--data-dir", dataDir, "--namespace", namespace, "--http", "127.0.0.1:0",
    "--listen", "/ip4/127.0.0.1/tcp/0/ws", "--listen", "/ip4/127.0.0.1/udp/0/webrtc-direct",
    "--www", www ?? join(repo, "tests/e2e/network-app"), "--pkg", join(repo, "pkg"),
  ], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RUST_LOG: "warn,warpnet_stats=info,warpnet_stats_edge=info", ...env } });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the edge node did not start:\n${log}`)), 20_000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const match = /serving the demo page url=(\S+)/.exec(log);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
    child.on("exit", (code) => reject(new Error(`the edge node exited with ${code}:\n${log}`)));
    child.on("error", (error) => { clearTimeout(timer); reject(error); });
  });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    url,
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      const status = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return status;
    },
  };
}

export const chromiumArgs = [
  "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
  // Loopback only: no mDNS host-name candidates in WebRTC.
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];
