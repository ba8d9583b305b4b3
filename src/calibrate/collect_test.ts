// The collector against brute force: the same samples run through a copy of
// the model that outputs every value, statistics computed by plain loops.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { Graph, Model, Node, Tensor } from "../ir/mod.ts";
import { encodeModel, readModel, writeModel } from "../onnx/mod.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REAL_MODELS, seededFloats, tempDir, twoConvModel } from "../../tests/fixtures/onnx_models.ts";
import { collect } from "./collect.ts";
import { calibrate } from "./calibrate.ts";
import { memoryDataset, uniformArray, wholeTensors } from "./_testing.ts";
import { subsamplePlan, subsampleTake } from "./_augment.ts";
import type { CollectTimings } from "./types.ts";

const DIMS = [1, 4, 6, 6];
const SIZE = DIMS.reduce((a, b) => a * b, 1);

/**
 * x → Conv → c → Relu → r → Add(bias) → y, and x → Log → l (NaN below 0,
 * −Infinity at 0, for the non-finite path). Outputs: y, l.
 */
function smallModel(): Model {
  const g = new Graph("small");
  g.addInitializer(Tensor.fromArray("w", [4, 4, 3, 3], uniformArray(144, 11, -0.5, 0.5)));
  g.addInitializer(Tensor.fromArray("b", [1, 4, 1, 1], uniformArray(4, 12, -1, 1)));
  const pads = { pads: { type: "ints" as const, value: [1, 1, 1, 1] } };
  g.nodes = [
    new Node({ opType: "Conv", name: "conv", inputs: ["x", "w"], outputs: ["c"], attrs: pads }),
    new Node({ opType: "Relu", name: "relu", inputs: ["c"], outputs: ["r"] }),
    new Node({ opType: "Add", name: "add", inputs: ["r", "b"], outputs: ["y"] }),
    new Node({ opType: "Log", name: "log", inputs: ["x"], outputs: ["l"] }),
  ];
  g.inputs = [{ name: "x", dtype: "float32", shape: [...DIMS] }];
  g.outputs = [{ name: "y", dtype: "float32", shape: [...DIMS] }, { name: "l", dtype: "float32", shape: [...DIMS] }];
  return new Model(g, { irVersion: 8, opsets: new Map([["", 13]]), producerName: "edgeq-test" });
}

function samples(n: number): TensorValue<"float32">[] {
  return Array.from({ length: n }, (_, i) => {
    const data = uniformArray(SIZE, 100 + i, -1 - i, 2 + i);
    data[i] = 0; // Log gives −Infinity here
    return { dtype: "float32", dims: DIMS, data };
  });
}

function finiteExtremes(arrays: Float32Array[]): { min: number; max: number; nonFinite: number } {
  let min = Infinity, max = -Infinity, nonFinite = 0;
  for (const a of arrays) {
    for (const x of a) {
      if (!Number.isFinite(x)) nonFinite++;
      else [min, max] = [Math.min(min, x), Math.max(max, x)];
    }
  }
  return { min, max, nonFinite };
}

test("min/max of every requested value (graph input, intermediates, outputs) is exact", async () => {
  const model = smallModel();
  const before = encodeModel(model).bytes;
  const feeds = samples(3);
  const values = ["x", "c", "r", "y", "l"];
  const observers = await collect(model, memoryDataset("x", feeds), values.map((value) => ({ kind: "minmax" as const, value })));
  const ref = await wholeTensors(model, feeds, values);
  values.forEach((v, i) => {
    const want = finiteExtremes(ref.get(v)!);
    assert.equal(observers[i].range(), { min: want.min, max: want.max }, v);
  });
  // Log's −Infinity and NaN went through the full-tensor fallback, counted.
  assert.is(observers[4].nonFinite, finiteExtremes(ref.get("l")!).nonFinite);
  assert.equal(encodeModel(model).bytes, before, "the caller's model changed");
});

test("a model read lazily calibrates as when read whole (its session opened by path, the folder removed)", async () => {
  const file = path.join(tempDir(), "two_conv.onnx");
  writeModel(file, twoConvModel());
  const lazy = readModel(file, { lazy: true, lazyMinBytes: 8192 });
  assert.ok(lazy.graph.initializers.get("w1")!.source, "w1 is lazy");
  const feeds = [0, 1].map((k) => ({ dtype: "float32" as const, dims: [1, 128, 8, 8], data: seededFloats(8192, k + 1) }));
  const requests = ["c1", "r1", "y"].map((value) => ({ kind: "histogram" as const, value }));
  const sessions = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("edgeq-session-")).length;
  const before = sessions();
  const got = await collect(lazy, memoryDataset("x", feeds), requests);
  const want = await collect(readModel(file, { lazy: false }), memoryDataset("x", feeds), requests);
  got.forEach((h, i) => assert.equal([...h.counts], [...want[i].counts], requests[i].value));
  assert.is(sessions(), before);
});

test("histograms and channel statistics of fetched values match brute force", async () => {
  const model = smallModel();
  const feeds = samples(2);
  const [hist, channel, mm] = await collect(model, memoryDataset("x", feeds), [
    { kind: "histogram", value: "r" },
    { kind: "channel", value: "c", axis: 1 },
    { kind: "minmax", value: "r" },
  ] as const);
  const ref = await wholeTensors(model, feeds, ["r", "c"]);
  const r = ref.get("r")!.flatMap((a) => [...a]);
  assert.is(hist.total, r.length);
  assert.is(hist.counts.reduce((a, b) => a + b, 0), r.length);
  assert.is(hist.counts[hist.zero], r.filter((x) => x < hist.width).length);
  assert.equal(mm.range(), { min: Math.min(...r), max: Math.max(...r) });
  const c = ref.get("c")!;
  for (let ch = 0; ch < 4; ch++) {
    const vals = c.flatMap((a) => [...a.subarray(ch * 36, ch * 36 + 36)]);
    assert.is(channel.maxAbs[ch], Math.max(...vals.map(Math.abs)));
    assert.ok(Math.abs(channel.mean()[ch] - vals.reduce((a, b) => a + b, 0) / vals.length) < 1e-6);
  }
});

test("a weighted histogram counts each element by its channel's weight, whole and subsampled", async () => {
  const model = smallModel();
  const feeds = samples(2);
  const ref = (await wholeTensors(model, feeds, ["r"])).get("r")!;
  const channelWeights = { inner: 36, weights: [1, 0, 2, 0] };
  // Whole: every element of channel c counts w_c; each sample's extremes count once more.
  const [whole] = await collect(model, memoryDataset("x", feeds), [{ kind: "histogram", value: "r", channelWeights }], { histogramSample: 0 });
  assert.is(whole.total, 2 * (36 * 1 + 36 * 2) + 2 * 2);
  const top = Math.max(...ref.flatMap((a) => [...a.subarray(0, 36), ...a.subarray(72, 108)]));
  const above = whole.counts.slice(Math.floor(top / whole.width) + whole.zero + 1).reduce((a, b) => a + b, 0);
  // Beyond the weighted channels' largest value only the extremes of channels 1 and 3 count (once each per sample at most).
  assert.ok(above <= 2, `${above} counted above the weighted channels' maximum`);
  // Subsampled: the element at flat position p counts (n − 2) / length · w_c(p), the positions those collect reads.
  const [sub] = await collect(model, memoryDataset("x", feeds), [{ kind: "histogram", value: "r", channelWeights: { inner: 36, weights: [1, 0, 0, 0] } }], { histogramSample: 16 });
  let want = 0;
  feeds.forEach((_, i) => {
    const { start, step } = subsamplePlan(SIZE, 16, (i * 7919) % 1_000_003);
    const { length } = subsampleTake(SIZE, start, step);
    for (let k = 0; k < length; k++) if (start + k * step < 36) want += (SIZE - 2) / length;
    want += 2;
  });
  assert.ok(Math.abs(sub.total - want) < 1e-9, `${sub.total} vs ${want}`);
});

test("a weighted histogram without a run length reads it from the running shape: as with the static one, on a dynamic-shape model", async () => {
  const model = smallModel();
  model.graph.inputs[0].shape = ["N", 4, "H", "W"];
  model.graph.outputs.forEach((o) => (o.shape = undefined));
  // Batches of 1 and of 2: a run is n / (batch · C) elements.
  const batched = [0, 1].map((i) => ({ dtype: "float32" as const, dims: [2, 4, 6, 6], data: uniformArray(2 * SIZE, 300 + i, -1, 2) }));
  for (const [histogramSample, feeds] of [[0, samples(2)], [16, samples(2)], [16, batched]] as const) {
    const weights = [1, 0, 2, 0.5];
    // c's histogram makes r = Relu(c) a value derived from c's reading: c's batch serves r.
    const [dynamic, fixed] = await collect(model, memoryDataset("x", feeds), [
      { kind: "histogram", value: "r", channelWeights: { weights } },
      { kind: "histogram", value: "r", channelWeights: { inner: 36, weights } },
      { kind: "histogram", value: "c" },
    ], { histogramSample });
    assert.ok(dynamic !== fixed);
    assert.equal([...dynamic.counts], [...fixed.counts], `histogramSample ${histogramSample}, batch ${feeds[0].dims[0]}`);
    assert.is(dynamic.total, fixed.total);
  }
});

test("equal requests share one observer; samples, progress and timings are honoured", async () => {
  const model = smallModel();
  const progress: string[] = [];
  const timings: CollectTimings[] = [];
  const t0 = performance.now();
  const obs = await collect(
    model,
    memoryDataset("x", samples(4)),
    [{ kind: "minmax", value: "y" }, { kind: "minmax", value: "y" }, { kind: "minmax", value: "y", movingAverage: 0.1 }],
    { samples: 2, onProgress: (d, t) => progress.push(`${d}/${t}`), onTimings: (t) => timings.push(t) },
  );
  const elapsed = performance.now() - t0;
  assert.ok(obs[0] === obs[1] && obs[0] !== obs[2]);
  assert.is(obs[0].samples, 2);
  assert.equal(progress, ["1/2", "2/2"]);
  // Once, at the end: every part non-negative, the session opened, the parts within the whole.
  assert.is(timings.length, 1);
  const { open, read, runs, observe } = timings[0];
  assert.ok([open, read, runs, observe].every((x) => x >= 0), JSON.stringify(timings[0]));
  assert.ok(open > 0 && open + read + runs + observe <= elapsed, JSON.stringify({ ...timings[0], elapsed }));
});

/** The message `fn` rejects with. */
async function rejection(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  assert.unreachable("expected a rejection");
  return "";
}

test("unknown and non-float values, missing inputs and empty datasets are refused", async () => {
  const model = smallModel();
  const data = memoryDataset("x", samples(1));
  assert.match(await rejection(() => collect(model, data, [{ kind: "minmax", value: "nope" }])), /"nope": it is neither a graph input nor computed/);
  model.graph.valueInfo.set("c", { name: "c", dtype: "float16" });
  assert.match(await rejection(() => collect(model, data, [{ kind: "minmax", value: "c" }])), /"c": it is float16/);
  assert.match(await rejection(() => collect(smallModel(), memoryDataset("z", samples(1)), [{ kind: "minmax", value: "y" }])), /sample "sample-0" has no input "x"/);
  assert.match(await rejection(() => collect(smallModel(), memoryDataset("x", []), [{ kind: "minmax", value: "y" }])), /no samples/);
  const bad = memoryDataset("x", [{ dtype: "float32", dims: [1, 4, 5, 5], data: new Float32Array(100) }]);
  assert.match(await rejection(() => collect(smallModel(), bad, [{ kind: "minmax", value: "y" }])), /Cannot calibrate on sample "sample-0" \("x" \[1,4,5,5\]\)/);
});

test("classifier: a graph input among the values, and level all agrees with disabled", async () => {
  const model = readModel(REAL_MODELS[0].file);
  const g = model.graph;
  const input = g.inputs[0].name;
  const dims: number[] = [...REAL_MODELS[0].input];
  const n = dims.reduce((a, b) => a * b, 1);
  const feeds: TensorValue<"float32">[] = [1, 2].map((s) => ({ dtype: "float32", dims, data: uniformArray(n, s, -1, 1) }));
  const values = [input, ...g.nodes.filter((x) => ["Conv", "HardSwish", "Relu", "Add", "Mul"].includes(x.opType)).map((x) => x.outputs[0])];
  const data = memoryDataset(input, feeds);
  const runtime = await getRuntime("node");
  for (const method of ["minmax", "percentile"] as const) {
    const all = await calibrate(model, data, values, { method }, runtime);
    const disabled = await calibrate(model, data, values, { method, session: { graphOptimizationLevel: "disabled" } }, runtime);
    if (method === "minmax") {
      const min = Math.min(...feeds.map((f) => Math.min(...f.data))), max = Math.max(...feeds.map((f) => Math.max(...f.data)));
      assert.equal(all.get(input), { min, max });
    }
    for (const v of values) {
      const a = all.get(v)!, d = disabled.get(v)!;
      const tol = 1e-3 * Math.max(1, Math.abs(d.min), Math.abs(d.max));
      assert.ok(Math.abs(a.min - d.min) <= tol && Math.abs(a.max - d.max) <= tol, `${method} ${v}: ${JSON.stringify(a)} vs ${JSON.stringify(d)}`);
    }
  }
});

test.run();
