// Test-file hooks shared by the end-to-end tests: an edge node process (see edge.mjs) and
// headless Chromium, started before a file's tests and stopped after them.
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startEdge, chromiumArgs } from "./edge.mjs";

/** Registers the hooks; the returned object holds `edge` and `browser` once they run. */
export function edgeAndBrowser(options) {
  const held = {};
  before(async () => {
    held.edge = await startEdge(options);
    held.browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: chromiumArgs });
  });
  after(async () => {
    await held.browser?.close();
    if (held.edge) {
      const status = await held.edge.stop();
      assert.equal(status.code, 0, `the edge node exits cleanly on SIGTERM:\n${held.edge.log()}`);
    }
  });
  return held;
}
