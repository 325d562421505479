// Firefox ESR for the end-to-end tests, through geckodriver's WebDriver HTTP API (Playwright
// drives only its own Firefox build, which cannot be installed here). Loopback only.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts geckodriver and a headless Firefox session; `close()` ends both. */
export async function firefox() {
  const port = await freePort();
  const driver = spawn("geckodriver", ["--host", "127.0.0.1", "--port", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  driver.stderr.on("data", (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => driver.on("exit", resolve));
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`webdriver ${method} ${path}: ${JSON.stringify(json.value)}\n${log}`);
    return json.value;
  };
  let session;
  for (let attempt = 0; ; attempt++) {
    try {
      session = await call("POST", "/session", {
        capabilities: { alwaysMatch: { browserName: "firefox", "moz:firefoxOptions": {
          binary: "/usr/bin/firefox-esr", args: ["-headless"],
          prefs: {
            // A closed network: no updates, telemetry or remote settings.
            "app.update.enabled": false, "datareporting.policy.dataSubmissionEnabled": false,
            "toolkit.telemetry.enabled": false, "network.captive-portal-service.enabled": false,
            // WebRTC over loopback: gather loopback candidates, without mDNS host names.
            "media.peerconnection.ice.loopback": true,
            "media.peerconnection.ice.obfuscate_host_addresses": false,
            // Without a camera or microphone permission Firefox gathers only the default
            // route's address (not loopback); a permission granted by default lifts that.
            "permissions.default.camera": 1, "permissions.default.microphone": 1,
          },
        } } },
      });
      break;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const id = session.sessionId;
  return {
    goto: (url) => call("POST", `/session/${id}/url`, { url }),
    /** Runs `script` (a function body; `arguments` holds `args`) in the page and returns its value. */
    run: (script, args = []) => call("POST", `/session/${id}/execute/async`, {
      script: `const done = arguments[arguments.length - 1];
        Promise.resolve().then(async () => { ${script} }).then((v) => done({ ok: v }), (e) => done({ error: String(e?.stack ?? e) }));`,
      args,
    }).then((result) => {
      if (result?.error) throw new Error(result.error);
      return result?.ok;
    }),
    async close() {
      await call("DELETE", `/session/${id}`).catch(() => {});
      driver.kill("SIGTERM");
      await exited;
    },
  };
}
