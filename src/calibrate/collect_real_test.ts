// The collector's optimized paths (in-graph reductions, derived values,
// planned subsamples) against a straightforward reference on a real model:
// every value fetched whole, statistics computed by plain loops.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { normalize } from "../normalize/mod.ts";
import { encodeModel, readModel } from "../onnx/mod.ts";
import { planQuantization } from "../quantize/plan.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { REAL_MODELS } from "../../tests/fixtures/onnx_models.ts";
import { calibrate } from "./calibrate.ts";
import { collect } from "./collect.ts";
import { channelCounts } from "../ir/channels.ts";
import { memoryDataset, uniformArray, wholeTensors } from "./_testing.ts";

/**
 * The classifier as the pipeline calibrates it: normalized, with the values
 * its plan asks for; `dims` of its (dynamic) input default to its own.
 */
async function classifier(dims: number[] = [...REAL_MODELS[0].input]): Promise<{ model: Model; values: string[]; feeds: TensorValue<"float32">[] }> {
  const model = readModel(REAL_MODELS[0].file);
  await normalize(model, { shapes: false });
  const values = planQuantization(model, {}).activations;
  const n = dims.reduce((a, b) => a * b, 1);
  const feeds = [1, 2, 3].map((s) => ({ dtype: "float32" as const, dims, data: uniformArray(n, s, -1, 1) }));
  return { model, values, feeds };
}

// Its own input reduces whole tensors; a 4× larger one (over the threshold) reduces per channel.
for (const dims of [[...REAL_MODELS[0].input], [1, 3, 96, 384]]) {
  test(`classifier ${dims.join("×")}: min/max of every planned value equals the whole-tensor reference exactly`, async () => {
    const { model, values, feeds } = await classifier(dims);
    const input = model.graph.inputs[0].name;
    const ranges = await calibrate(model, memoryDataset(input, feeds), values, { method: "minmax" });
    const ref = await wholeTensors(model, feeds, values);
    for (const v of values) {
      let min = Infinity, max = -Infinity;
      for (const a of ref.get(v)!) for (const x of a) [min, max] = [Math.min(min, x), Math.max(max, x)];
      assert.equal(ranges.get(v), { min, max }, v);
    }
  });
}

test("classifier: subsampled histograms weigh to the element count and give whole-tensor ranges within sampling noise", async () => {
  const { model, values, feeds } = await classifier();
  const input = model.graph.inputs[0].name;
  const data = memoryDataset(input, feeds);
  const req = values.map((value) => ({ kind: "histogram" as const, value }));
  const sub = await collect(model, data, req);
  const whole = await collect(model, data, req, { histogramSample: 0 });
  values.forEach((v, i) => {
    assert.ok(Math.abs(sub[i].total - whole[i].total) <= 1e-6 * whole[i].total, `${v}: total ${sub[i].total} vs ${whole[i].total}`);
  });
  // Ranges through calibrate, as the pipeline reads them. Two subsamples of
  // the same tensors (other offsets) differ by up to ~20% of the span on a
  // few values; most values agree closely.
  for (const [method, symmetric] of [["percentile", true], ["mse", false]] as const) {
    const a = await calibrate(model, data, values, { method, symmetric });
    const b = await calibrate(model, data, values, { method, symmetric, histogramSample: 0 });
    const rel = values.map((v) => {
      const x = a.get(v)!, y = b.get(v)!, span = Math.max(y.max - y.min, 1e-12);
      return Math.max(Math.abs(x.min - y.min), Math.abs(x.max - y.max)) / span;
    }).sort((p, q) => p - q);
    const median = rel[rel.length >> 1], worst = rel[rel.length - 1];
    assert.ok(median < 0.01 && worst < 0.25, `${method}: median ${median}, worst ${worst} of the span`);
  }
});

test("classifier: every channel count inferred from the graph is ONNX Runtime's", async () => {
  const { model, values, feeds } = await classifier();
  const input = model.graph.inputs[0].name;
  const counts = channelCounts(model.graph);
  const copy = cloneModel(model);
  const computed = values.filter((v) => v !== input);
  for (const v of computed) copy.graph.outputs.push({ name: v });
  const session = await (await getRuntime("node")).createSession(encodeModel(copy).bytes);
  try {
    const out = await session.run({ [input]: feeds[0] }, computed);
    let inferred = 0;
    for (const v of computed) {
      const c = counts.get(v);
      if (c === undefined) continue;
      inferred++;
      assert.is(out[v].dims.length, 4, v);
      assert.is(out[v].dims[1], c, v);
    }
    assert.ok(inferred > 0.9 * computed.length, `${inferred} of ${computed.length} inferred`);
  } finally {
    await session.release();
  }
});

test.run();
