// A static file server on 127.0.0.1 (a free port), for the end-to-end tests; over HTTPS given
// `tls` ({ cert, key }), and serving other directories under `mounts` ({ "/pkg/": dir }).
import { createServer } from "node:http";
import { createServer as createSecureServer } from "node:https";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const types = {
  ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".json": "application/json", ".css": "text/css",
};

export async function serve(root, { tls, mounts = {} } = {}) {
  const handle = async (request, response) => {
    let path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    let base = root;
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (path.startsWith(prefix)) [base, path] = [dir, path.slice(prefix.length - 1)];
    }
    const file = join(base, path.endsWith("/") ? `${path}index.html` : path);
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  };
  const server = tls ? createSecureServer(tls, handle) : createServer(handle);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `${tls ? "https" : "http"}://127.0.0.1:${port}/`, port, close: () => server.close() };
}
