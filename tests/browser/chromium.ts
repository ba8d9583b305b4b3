/**
 * Runs edgeq in real headless Chromium: bundles `page.ts` with esbuild,
 * serves it, onnxruntime-web's wasm files and the caller's files from
 * localhost, and drives the page with playwright-core. Chromium is the
 * system's (Debian's `chromium`, found on PATH; `CHROMIUM` overrides).
 *
 * @module
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { bundleForBrowser } from "../../examples/browser/build.ts";
import { chromium, type Page } from "playwright-core";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ORT_DIST = path.join(ROOT, "node_modules", "onnxruntime-web", "dist");

/** The Chromium binary: `$CHROMIUM`, else the first chromium on PATH; `undefined` when none. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
  }
  return undefined;
}

let script: Promise<string> | undefined;

/** page.ts bundled for browsers, once per process. */
function pageScript(): Promise<string> {
  script ??= bundleForBrowser(path.join(ROOT, "tests", "browser", "page.ts"));
  return script;
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html; charset=utf-8" };

/** What one page run gave back, and a screenshot of the page. */
export interface PageResult<T> {
  value: T;
  screenshot: Uint8Array;
  /** Console errors the page printed. */
  errors: string[];
}

/**
 * Serves `files` (URL path → bytes) next to the verify page and evaluates
 * `expression` in it (e.g. `edgeqVerify("/cls.tar")`), returning its value;
 * with `opts.page`, opens that served path instead (e.g. a report) and
 * evaluates `expression` there once it has loaded (after `opts.actions`,
 * e.g. choosing files and clicking).
 */
export async function inChromium<T>(
  files: Record<string, Uint8Array>,
  expression: string,
  opts: { page?: string; fullPage?: boolean; actions?: (page: Page) => Promise<void> } = {},
): Promise<PageResult<T>> {
  const exe = findChromium();
  if (!exe) throw new Error("No Chromium found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM");
  const js = await pageScript();
  const html = `<!doctype html><meta charset="utf-8"><title>edgeq verify</title><body><pre id="out">running</pre><script type="module" src="/page.js"></script>`;
  const missing: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, body: Uint8Array | string, type = "application/octet-stream") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (url.pathname === "/") return send(200, html, TYPES[".html"]);
    if (url.pathname === "/page.js") return send(200, js, TYPES[".js"]);
    if (url.pathname === "/favicon.ico") return send(204, "");
    if (url.pathname.startsWith("/ort/")) {
      const file = path.join(ORT_DIST, path.basename(url.pathname));
      if (fs.existsSync(file)) return send(200, fs.readFileSync(file), TYPES[path.extname(file)]);
    }
    if (Object.hasOwn(files, url.pathname)) return send(200, files[url.pathname], TYPES[path.extname(url.pathname)]);
    missing.push(url.pathname);
    send(404, "not found", "text/plain");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await chromium.launch({ executablePath: exe, args: ["--no-sandbox", "--disable-gpu"] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}${opts.page ?? "/"}`);
    let value: T;
    await opts.actions?.(page);
    if (opts.page) value = await page.evaluate(expression) as T;
    else {
      await page.waitForFunction("typeof globalThis.edgeqVerify === 'function'", undefined, { timeout: 60_000 }).catch((e) => {
        throw new Error(`The page did not load: ${errors.join("; ") || (e as Error).message}`);
      });
      value = await page.evaluate(`(async () => { const r = await ${expression}; document.getElementById("out").textContent = JSON.stringify(r, null, 2); return r; })()`) as T;
    }
    const screenshot = new Uint8Array(await page.screenshot({ fullPage: opts.fullPage ?? false }));
    // A 404's console line does not say which URL: name it.
    return { value, screenshot, errors: errors.map((e) => (/status of 404/.test(e) && missing.length ? `${e}: ${missing.join(", ")}` : e)) };
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
