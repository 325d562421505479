// The npm package in a fresh Vite app, as most web clients are built: the app installs the
// packed tarball and Vite from the npm registry; headless Chromium runs it from Vite's dev
// server and from its production build (served by `vite preview`), with no Vite
// configuration, the node on the page's thread and in a worker. Loopback only.
// Needs scripts/build-pkg to have run (scripts/test does it first).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { chromiumArgs, freePorts } from "./edge.mjs";

const repo = resolve(import.meta.dirname, "../..");
const tarball = join(repo, "target/npm", readdirSync(join(repo, "target/npm")).find((f) => f.endsWith(".tgz")));
let project, browser;

before(async () => {
  project = mkdtempSync(join(tmpdir(), "warpnet-stats-vite-"));
  cpSync(join(import.meta.dirname, "app"), project, { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({
    name: "fresh-vite-app", private: true, type: "module",
    dependencies: { "warpnet-stats": `file:${tarball}`, vite: "8.3.8" },
  }));
  // No Vite configuration: the package's wasm loads as Vite serves and bundles it by default.
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: project, stdio: "pipe" });
  execFileSync("npx", ["vite", "build", "--logLevel", "error"], { cwd: project, stdio: "pipe" });
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
});

after(async () => {
  await browser?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

/** Runs `vite <command>` on a free loopback port until `use` is done. */
async function withVite(command, use) {
  const { http: port } = await freePorts();
  const child = spawn("npx", ["vite", command, "--host", "127.0.0.1", "--port", String(port), "--strictPort"],
    { cwd: project, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  child.stdout.on("data", (chunk) => { log += chunk; });
  child.stderr.on("data", (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    const url = `http://127.0.0.1:${port}/`;
    for (let tries = 0; ; tries++) {
      const up = await fetch(url).then((r) => r.ok, () => false);
      if (up) break;
      if (tries > 300) throw new Error(`vite ${command} did not start:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await use(url);
  } finally {
    process.kill(-child.pid, "SIGTERM");
    await exited;
  }
}

/** Opens the app, likes, reloads: the like is kept (IndexedDB), and nothing failed; with the
 *  node in a worker (`?worker`, warpnet-stats/worker) too, which must really run in one. */
async function likeAndReload(base) {
  await likeAndReloadAt(base, false);
  await likeAndReloadAt(`${base}?worker`, true);
}

async function likeAndReloadAt(url, inWorker) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(url);
  await page.waitForFunction(() => window.statsNode !== undefined, null, { timeout: 20_000 });
  await page.click("#like");
  await page.waitForFunction(() => document.getElementById("likes").textContent === "1");
  await page.reload();
  await page.waitForFunction(() => window.statsNode !== undefined, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => window.statsNode.stats("t1").likes), 1);
  assert.equal(await page.evaluate(() => window.statsNode.persistent), true);
  assert.equal(await page.evaluate(() => window.statsNode.inWorker), inWorker ? true : undefined);
  assert.deepEqual(errors, []);
  await context.close();
}

test("a Vite app runs the package from the dev server", () => withVite("dev", likeAndReload));

test("a Vite app runs the package from its production build", () => withVite("preview", likeAndReload));
