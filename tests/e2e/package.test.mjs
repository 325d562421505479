// The npm package as a web developer gets it: a fresh esbuild project installs the packed
// tarball from its file (and esbuild and TypeScript from the npm registry), type-checks a
// TypeScript client against its declarations, and headless Chromium runs it.
// Needs scripts/build-pkg to have run (scripts/test does it first).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";
import { firefox } from "./firefox.mjs";
import { startEdge } from "./edge.mjs";

const repo = resolve(import.meta.dirname, "../..");
const tarball = join(repo, "target/npm", readdirSync(join(repo, "target/npm")).find((f) => f.endsWith(".tgz")));
let project, server, browser;

before(async () => {
  project = mkdtempSync(join(tmpdir(), "warpnet-stats-app-"));
  cpSync(join(import.meta.dirname, "app"), join(project, "src"), { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({
    name: "fresh-app", private: true, type: "module",
    dependencies: {
      "warpnet-stats": `file:${tarball}`, esbuild: "0.28.2", typescript: "6.0.3",
      react: "19.3.1", "react-dom": "19.3.1",
      // The TypeScript versions create-vite's templates and their users have.
      typescript5: "npm:typescript@5.9.3", typescript7: "npm:typescript@7.0.2",
    },
  }));
  const run = (command, args) => execFileSync(command, args, { cwd: project, stdio: "pipe" });
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"]);
  run("npx", ["esbuild", "src/main.js", "--bundle", "--format=esm", "--outdir=dist"]);
  run("npx", ["esbuild", "src/react.jsx", "--bundle", "--format=esm", "--outdir=dist", "--jsx=automatic",
    "--define:process.env.NODE_ENV=\"development\""]);
  cpSync(join(project, "src/index.html"), join(project, "dist/index.html"));
  cpSync(join(project, "src/react.html"), join(project, "dist/react.html"));
  cpSync(join(project, "node_modules/warpnet-stats/warpnet_stats_bg.wasm"), join(project, "dist/warpnet_stats_bg.wasm"));
  server = await serve(join(project, "dist"));
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

async function openTab(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(server.url);
  await page.waitForFunction(() => window.statsNode !== undefined, null, { timeout: 10_000 });
  assert.deepEqual(errors, []);
  return page;
}

test("the package's TypeScript declarations type a client strictly (tsc --strict)", () => {
  // src/typed.ts uses the API as typed, and marks the misuses the types must refuse.
  execFileSync("npx", ["tsc", "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
    "--moduleResolution", "bundler", "--lib", "esnext,dom", "--skipLibCheck", "false", "src/typed.ts"],
  { cwd: project, stdio: "pipe" });
});

test("the declarations hold under create-vite's default tsconfigs, TypeScript 5 and 7, with and without skipLibCheck", () => {
  // Its lib (ES2023, DOM) lacks ESNext.Disposable: the worker node's type once collapsed into
  // an index signature there (27 errors on correct code, and any member accepted).
  const failures = [];
  for (const template of ["vanilla-ts", "react-ts"]) {
    for (const skipLibCheck of [true, false]) {
      writeFileSync(join(project, "src/tsconfig.check.json"), JSON.stringify({
        extends: `./tsconfig.${template}.json`, compilerOptions: { skipLibCheck },
      }));
      for (const typescript of ["typescript5", "typescript7"]) {
        try {
          execFileSync("node", [`node_modules/${typescript}/bin/tsc`, "-p", "src/tsconfig.check.json"],
            { cwd: project, stdio: "pipe" });
        } catch (error) {
          failures.push(`${template}, skipLibCheck ${skipLibCheck}, ${typescript}:\n${error.stdout}`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
});

test("in Node the package says it needs a browser (code unsupported-environment)", () => {
  const script = `
    import { readFileSync } from "node:fs";
    import { openStatsNode } from "warpnet-stats/worker";
    import { initSync, StatsNode } from "warpnet-stats";
    const codes = [];
    await openStatsNode({ namespace: "x" }).catch((error) => codes.push(error.code));
    initSync({ module: readFileSync("node_modules/warpnet-stats/warpnet_stats_bg.wasm") });
    await StatsNode.open({ namespace: "x" }).catch((error) => codes.push(error.code));
    console.log(JSON.stringify(codes));`;
  const out = execFileSync("node", ["--input-type=module", "-e", script], { cwd: project, stdio: "pipe" });
  assert.deepEqual(JSON.parse(out.toString()), ["unsupported-environment", "unsupported-environment"]);
});

test("a like survives a reload, and the page shows it", async () => {
  const context = await browser.newContext();
  const page = await openTab(context);
  const nodeId = await page.evaluate(() => window.statsNode.nodeId);
  await page.click("#like");
  await page.waitForFunction(() => document.getElementById("likes").textContent === "1");
  assert.equal(await page.evaluate(() => window.statsNode.like("t1", "alice")), 1, "one like per user");
  await page.reload();
  await page.waitForFunction(() => window.statsNode !== undefined);
  assert.equal(await page.evaluate(() => window.statsNode.nodeId), nodeId, "same node after reload");
  assert.equal(await page.evaluate(() => window.statsNode.stats("t1").likes), 1);
  assert.equal(await page.textContent("#likes"), "1");
  assert.equal(await page.evaluate(() => window.statsNode.persistent), true);
  await context.close();
});

test("two tabs liking concurrently 200 times each end at the exact total in both", async () => {
  const context = await browser.newContext();
  const [a, b] = [await openTab(context), await openTab(context)];
  const burst = (page, prefix) => page.evaluate(async (prefix) => {
    const node = window.statsNode;
    const counts = await Promise.all(Array.from({ length: 200 }, (_, i) => node.like("c", `${prefix}${i}`)));
    return counts.length;
  }, prefix);
  assert.deepEqual(await Promise.all([burst(a, "a"), burst(b, "b")]), [200, 200]);
  for (const page of [a, b]) {
    await page.waitForFunction(() => window.statsNode.stats("c").likes === 400, null, { timeout: 5_000 });
  }
  // And the store agrees: a new tab reads 400 from IndexedDB.
  const c = await openTab(context);
  assert.equal(await c.evaluate(() => window.statsNode.stats("c").likes), 400);
  await context.close();
});

test("a React app renders counts through useSyncExternalStore (subscribe + snapshot), loading states first, in Chromium and Firefox", async () => {
  // Served by an edge node: a light node whose rows show "…" until the edge node answered.
  const edge = await startEdge({ namespace: "react", www: join(project, "dist"), args: ["--difficulty", "8"] });
  try {
    await reactApp(`${edge.url}react.html?edge`);
  } finally {
    await edge.stop();
  }

  const fox = await firefox();
  try {
    await fox.goto(`${server.url}react.html`);
    const until = async (script) => {
      const deadline = Date.now() + 20_000;
      while ((await fox.run(script)) !== true) {
        if (Date.now() > deadline) throw new Error(`Firefox: timed out on ${script}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await until("return document.querySelector('[data-likes=r1]')?.textContent === '0'");
    await fox.run("document.querySelector('[data-like=r1]').click()");
    await until("return document.querySelector('[data-likes=r1]')?.textContent === '1'");
  } finally {
    await fox.close();
  }
});

async function reactApp(url) {
  const page = await (await browser.newContext()).newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // React's own errors (a getSnapshot not cached, say) and any failed request but the favicon.
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
  });
  page.on("response", (response) => {
    if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) problems.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(url);
  await page.waitForSelector("#loading, [data-likes]");
  await page.waitForFunction(() => document.querySelector("[data-likes=r1]")?.textContent === "0", null, { timeout: 30_000 });
  assert.deepEqual(await page.evaluate(() => window.loadingShown), { r1: true, r2: true }, "\"…\" first");
  await page.click("[data-like=r1]");
  await page.waitForFunction(() => document.querySelector("[data-likes=r1]").textContent === "1");
  // Another tab of the origin likes r2: this tab's row follows, r1's row does not render again.
  const renders = await page.evaluate(() => ({ ...window.renders }));
  const other = await page.context().newPage();
  await other.goto(url);
  await other.waitForFunction(() => document.querySelector("[data-likes=r2]")?.textContent === "0", null, { timeout: 30_000 });
  await other.click("[data-like=r2]");
  await page.waitForFunction(() => document.querySelector("[data-likes=r2]").textContent === "1");
  assert.equal(await page.evaluate(() => window.renders.r1), renders.r1);
  assert.equal(await page.evaluate(() => Object.is(window.statsNode.snapshot("r2"), window.statsNode.snapshot("r2"))), true);
  assert.deepEqual(problems, []);
  await page.context().close();
}
