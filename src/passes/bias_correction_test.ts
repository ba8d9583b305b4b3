// Bias correction: after it, the layer computed with its quantized weights
// has the float layer's mean output per channel (up to the input mean's
// estimate), and a layer whose shift dwarfs its bias is left alone.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { collect } from "../calibrate/collect.ts";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { StatRequest } from "../calibrate/types.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { Tensor } from "../ir/tensor.ts";
import { minMaxRanges, randomInput, runModel } from "../quantize/_testing.ts";
import { Builder, ints } from "../quantize/_testing_graphs.ts";
import { weightQuantizer } from "../quantize/_simulate.ts";
import { resolveQuantizeOptions } from "../quantize/options.ts";
import { planQuantization } from "../quantize/plan.ts";
import type { TensorValue } from "../runtime/types.ts";
import { contextFor } from "./_testing.ts";
import { biasCorrection } from "./bias_correction.ts";
import type { PassReport, StatLookup } from "./types.ts";

const Bc = suite("bias correction");

const SIZE = 6;

/** x (mean 0.5 per channel) → k×k Conv(4→6) with one channel 40× the others: per-tensor rounding shifts the rest. */
function model(biasScale: number, k = 1): Model {
  const b = new Builder();
  b.input("x", [1, 4, SIZE, SIZE]);
  const w = b.weight("w", [6, 4, k, k], 0.05);
  const t = b.g.constant(w)!.toFloat32();
  for (let i = 0; i < 4 * k * k; i++) t[i] *= 40;
  b.g.constant(w)!.bytes.set(new Uint8Array(t.buffer));
  const p = (k - 1) / 2;
  const y = b.node("Conv", ["x", w, b.weight("bias", [6], biasScale)], "y", { kernel_shape: ints([k, k]), pads: ints([p, p, p, p]) });
  return b.model([y]);
}

const samples = Array.from({ length: 8 }, (_, i) => randomInput([1, 4, SIZE, SIZE], 40 + i, 0, 1) as TensorValue<"float32">);
const options = resolveQuantizeOptions({ perChannel: false, activations: "int8" });

/** Applies the pass as the pipeline does: input means from calibration, weights as QDQ will round them. */
async function correct(m: Model): Promise<{ report: PassReport; quantizedWeights: Float32Array }> {
  const ctx = contextFor("npu-int8-only", { perChannel: false });
  const data = memoryDataset("x", samples);
  const requests = biasCorrection.needs!(m, ctx);
  const observers = await collect(m, data, requests);
  const stats: StatLookup = (r: StatRequest) => observers[requests.findIndex((q) => JSON.stringify(q) === JSON.stringify(r))];
  const ranges = await minMaxRanges(m, planQuantization(m, options).activations, samples.map((x) => ({ x })));
  ctx.weights = weightQuantizer(m, ranges, options);
  const quantizedWeights = ctx.weights.dequantized(m.graph.nodes[0])!;
  return { report: await biasCorrection.apply(m, stats, ctx), quantizedWeights };
}

/** Mean output per channel of `m` with its weight replaced by `w`. */
async function channelMeans(m: Model, w?: Float32Array): Promise<Float64Array> {
  const copy = cloneModel(m);
  const conv = copy.graph.nodes[0];
  if (w) copy.graph.addInitializer(Tensor.fromArray(conv.inputs[1], copy.graph.constant(conv.inputs[1])!.dims, w));
  const mean = new Float64Array(6);
  for (const out of await runModel(copy, samples.map((x) => ({ x })), "node", undefined, "disabled")) {
    const d = out.y.data as Float32Array;
    for (let i = 0; i < d.length; i++) mean[Math.floor(i / (SIZE * SIZE)) % 6] += d[i] / (SIZE * SIZE * samples.length);
  }
  return mean;
}

for (const [k, gain] of [[1, 50], [3, 1.8]]) {
  Bc(`${k}×${k} Conv: the quantized layer's mean output per channel moves back to the float layer's`, async () => {
    const m = model(0.5, k);
    const float = await channelMeans(m);
    const original = cloneModel(m);
    const { report, quantizedWeights } = await correct(m);
    assert.equal(report.nodes, ["Conv_y"]);
    const uncorrected = await channelMeans(original, quantizedWeights);
    const corrected = await channelMeans(m, quantizedWeights);
    let before = 0, after = 0;
    for (let c = 0; c < 6; c++) {
      before = Math.max(before, Math.abs(uncorrected[c] - float[c]));
      after = Math.max(after, Math.abs(corrected[c] - float[c]));
    }
    assert.ok(before > 1e-3, `rounding shifted the mean by ${before}`);
    // A 1×1 Conv is corrected up to the rounding of the sums; a padding 3×3 one
    // only in the interior (the border sees fewer inputs than the correction assumes).
    assert.ok(after < before / gain, `max mean shift ${before} → ${after}`);
  });
}

Bc("a shift out of proportion to the bias (here: no bias to speak of) is left alone", async () => {
  const m = model(1e-9);
  const before = cloneModel(m);
  const { report } = await correct(m);
  assert.equal(report.nodes, []);
  assert.match(report.summary, /left alone/);
  const name = m.graph.nodes[0].inputs[2];
  assert.equal(m.graph.constant(name)!.bytes, before.graph.constant(name)!.bytes);
});

Bc.run();
