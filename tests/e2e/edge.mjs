// Starts the edge node binary for the end-to-end tests and benchmarks: loopback only, free
// ports, a fresh data directory; resolves once it serves HTTP. `stop()` ends it with SIGTERM.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "../..");

const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repo, "target");

/**
 * `profile`: "debug" (built by `cargo test`) or "release"; `pkg`: the package served at /pkg/
 * (default: pkg/, scripts/build-pkg's). `dataDir` and `ports` ({ http, ws,
 * webrtc }) restart a node where an earlier one ran (default: a fresh directory, free ports);
 * `args`: more arguments.
 */
export async function startEdge({ profile = "debug", namespace = "e2e", www, pkg, env = {}, dataDir, ports = {}, args = [] } = {}) {
  const ownDir = !dataDir;
  dataDir ??= mkdtempSync(join(tmpdir(), "warpnet-edge-"));
  const child = spawn(join(target, profile, "warpnet-stats-edge"), [
    "--data-dir", dataDir, "--namespace", namespace, "--http", `127.0.0.1:${ports.http ?? 0}`,
    "--listen", `/ip4/127.0.0.1/tcp/${ports.ws ?? 0}/ws`,
    "--listen", `/ip4/127.0.0.1/udp/${ports.webrtc ?? 0}/webrtc-direct`,
    "--www", www ?? join(repo, "tests/e2e/network-app"), "--pkg", pkg ?? join(repo, "pkg"), ...args,
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
    dataDir,
    async stop() {
      child.kill("SIGTERM");
      const status = await exited;
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      return status;
    },
    /** Ends the process at once (SIGKILL), keeping its data directory. */
    async kill() {
      child.kill("SIGKILL");
      return exited;
    },
  };
}

/** A free TCP port and a free UDP port on 127.0.0.1 (free when asked). */
export async function freePorts() {
  const { createServer } = await import("node:net");
  const { createSocket } = await import("node:dgram");
  const tcp = async () => {
    const server = createServer();
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address();
    await new Promise((resolve) => server.close(resolve));
    return port;
  };
  const socket = createSocket("udp4");
  await new Promise((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const webrtc = socket.address().port;
  await new Promise((resolve) => socket.close(resolve));
  return { http: await tcp(), ws: await tcp(), webrtc };
}

export const chromiumArgs = [
  "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
  // Loopback only: no mDNS host-name candidates in WebRTC.
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];
