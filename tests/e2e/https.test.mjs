// An edge node on the internet, on loopback: a page served over https from an origin of its
// own finds the edge node by its name (stats.test, mapped to 127.0.0.1 in the browser) from its
// /bootstrap.json (HTTPS, read across origins by CORS) and reaches it over wss (WebSocket over
// TLS, `/tls/ws`) from a light node in a worker; likes travel between two such pages. Given a
// plain ws:// address alone, the same page warns (`no-dialable-address`). The certificate is
// made here and trusted by the test browser (its public key named in the browser's flags).
// Needs scripts/build-pkg and the debug edge node binary (scripts/test builds both first).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import https from "node:https";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { startEdge, freePorts, chromiumArgs } from "./edge.mjs";
import { serve } from "./serve.mjs";

const repo = resolve(import.meta.dirname, "../..");
const DIFFICULTY = 8;
let dir, edge, site, browser, wss, edgeSite, tls;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "warpnet-https-"));
  const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=stats.test",
    "-addext", "subjectAltName=DNS:stats.test,DNS:app.test"], { stdio: "pipe" });
  tls = { cert: readFileSync(cert), key: readFileSync(key) };
  site = await serve(join(import.meta.dirname, "https-app"), { tls, mounts: { "/pkg/": join(repo, "pkg") } });
  ({ ws: wss } = await freePorts());
  edge = await startEdge({
    args: [
      "--difficulty", String(DIFFICULTY), "--tls-cert", cert, "--tls-key", key,
      "--listen", `/ip4/127.0.0.1/tcp/${wss}/tls/ws`,
      "--advertise", `/dns4/stats.test/tcp/${wss}/tls/ws`,
      "--cors-origin", `https://app.test:${site.port}`,
    ],
  });
  edgeSite = edge.url.replace("127.0.0.1", "stats.test").replace(/\/$/, "");
  const spki = new X509Certificate(tls.cert).publicKey.export({ type: "spki", format: "der" });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...chromiumArgs, "--host-resolver-rules=MAP stats.test 127.0.0.1, MAP app.test 127.0.0.1",
      `--ignore-certificate-errors-spki-list=${createHash("sha256").update(spki).digest("base64")}`],
  });
});

after(async () => {
  await browser?.close();
  site?.close();
  if (edge) {
    const status = await edge.stop();
    assert.equal(status.code, 0, `the edge node exits cleanly on SIGTERM:\n${edge.log()}`);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openPage(query = "") {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(`https://app.test:${site.port}/?edge=${edgeSite}&difficulty=${DIFFICULTY}${query}`);
  await page.waitForFunction(() => window.statsNode || window.openError, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => window.openError), undefined);
  assert.deepEqual(errors, []);
  return page;
}

test("a page served over https reaches the edge node over wss by its name, and likes travel", async () => {
  const [a, b] = [await openPage(), await openPage()];
  const { addresses } = await a.evaluate(() => window.bootstrap);
  assert.equal(addresses.length, 1, `only the advertised address: ${addresses}`);
  assert.match(addresses[0], new RegExp(`^/dns4/stats.test/tcp/${wss}/tls/ws/p2p/12D3Koo`));
  assert.equal(await a.evaluate(() => window.statsNode.inWorker), true);
  for (const page of [a, b]) {
    await page.waitForFunction(() => window.statsNode.syncStatus().connected, null, { timeout: 20_000 });
  }
  const [peer] = await a.evaluate(() => window.statsNode.peers());
  assert.match(peer.address, /\/tls\/ws/, "connected over WebSocket over TLS");
  await b.evaluate(() => { window.unwatch = window.statsNode.watch(["over-tls"]); });
  await a.evaluate(() => window.statsNode.like("over-tls", "alice"));
  await b.waitForFunction(() => window.statsNode.stats("over-tls").likes === 1, null, { timeout: 20_000 });
  for (const page of [a, b]) {
    assert.deepEqual(await page.evaluate(() => window.warnings), []);
    await page.context().close();
  }
});

test("given only a plain ws:// address, a page served over https warns that it cannot dial it", async () => {
  assert.match(edge.url, /^https:/, "given a certificate, the edge node's site is https");
  const id = /node=(\S+)/.exec(edge.log())[1];
  const ws = /listening address=(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/\S+)/.exec(edge.log())[1];
  assert.ok(ws.endsWith(id));
  const page = await openPage(`&ws=${encodeURIComponent(ws)}`);
  await page.waitForFunction(() => window.warnings.length > 0, null, { timeout: 10_000 });
  const [warning] = await page.evaluate(() => window.warnings);
  assert.equal(warning.code, "no-dialable-address");
  assert.match(warning.message, /https/);
  await page.context().close();
});

test("bootstrap.json is readable from the origins allowed, and only from them", async () => {
  const { port } = new URL(edge.url);
  const allowOrigin = (origin) => new Promise((resolve, reject) => {
    const request = https.get({ host: "127.0.0.1", port, path: "/bootstrap.json", servername: "stats.test",
      ca: tls.cert, headers: { origin } }, (response) => {
      response.resume();
      resolve(response.headers["access-control-allow-origin"] ?? null);
    });
    request.on("error", reject);
  });
  assert.equal(await allowOrigin(`https://app.test:${site.port}`), `https://app.test:${site.port}`);
  assert.equal(await allowOrigin("https://elsewhere.test"), null);
});
