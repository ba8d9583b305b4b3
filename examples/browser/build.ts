/**
 * Builds the browser example into a static folder: app.js (app.ts and the
 * edgeq modules it uses, bundled by esbuild), index.html, targets.json (the
 * built-in profiles, resolved) and onnxruntime-web's wasm files under ort/.
 * Serve the folder with any static server (wasm needs http, not file://):
 *
 *   node --import tsx examples/browser/build.ts [OUT]   # default examples/browser/dist
 *   npx http-server examples/browser/dist   # or python3 -m http.server -d examples/browser/dist
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { loadTarget } from "../../src/targets/load.ts";
import { builtinTargetNames } from "../../src/targets/builtin.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = path.join(HERE, "..", "..");

/**
 * What a browser bundle of edgeq needs: onnxruntime-node (loaded on demand,
 * never in a page) and Node's built-ins (used by file helpers a page never
 * calls) become empty modules.
 */
export const browserStubs: Plugin = {
  name: "edgeq-browser-stubs",
  setup(b) {
    b.onResolve({ filter: /^(onnxruntime-node|node:.*|fs|path|url|os)$/ }, (a) => ({ path: a.path, namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: "module.exports = {};", loader: "js" }));
  },
};

/** Bundles `entry` for browsers (ESM, every import inlined but the stubs). */
export async function bundleForBrowser(entry: string): Promise<string> {
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
    plugins: [browserStubs],
    // The CPU (wasm) build: edgeq runs on the "wasm" provider, so the WebGPU build's 28 MB are not needed.
    alias: { "onnxruntime-web": "onnxruntime-web/wasm" },
  });
  return r.outputFiles[0].text;
}

/** The example's files, as path → bytes (for a test server) or written to `out`. */
export async function browserExample(out?: string): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  const enc = new TextEncoder();
  files["app.js"] = enc.encode(await bundleForBrowser(path.join(HERE, "app.ts")));
  files["index.html"] = new Uint8Array(fs.readFileSync(path.join(HERE, "index.html")));
  files["targets.json"] = enc.encode(JSON.stringify(builtinTargetNames().map((n) => loadTarget(n))));
  const ort = path.join(ROOT, "node_modules", "onnxruntime-web", "dist");
  for (const f of fs.readdirSync(ort).filter((f) => /^ort-wasm-simd-threaded\.(wasm|mjs)$/.test(f))) files[`ort/${f}`] = new Uint8Array(fs.readFileSync(path.join(ort, f)));
  if (out) {
    for (const [name, data] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(out, name)), { recursive: true });
      fs.writeFileSync(path.join(out, name), data);
    }
  }
  return files;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? path.join(HERE, "dist");
  const files = await browserExample(out);
  const bytes = Object.values(files).reduce((n, d) => n + d.length, 0);
  console.log(`wrote ${Object.keys(files).length} files (${(bytes / 2 ** 20).toFixed(1)} MiB) to ${out}`);
}
