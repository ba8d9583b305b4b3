// The collector's cheap paths against brute force: values derived through
// monotone ops, subsampled histograms anchored by exact extremes, and the
// whole-tensor fallback when extremes are not finite.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { Graph, Model, Node, Tensor } from "../ir/mod.ts";
import type { TensorValue } from "../runtime/types.ts";
import { collect } from "./collect.ts";
import { route } from "./_route.ts";
import { percentileRange } from "./percentile.ts";
import { laplace, memoryDataset, uniformArray, wholeTensors } from "./_testing.ts";

const DIMS = [1, 4, 16, 16];
const SIZE = DIMS.reduce((a, b) => a * b, 1);
const scalar = (name: string, v: number) => Tensor.fromArray(name, [1], new Float32Array([v]));

/**
 * x → Conv → c, then monotone chains from c: m = c·2, a = m − 1,
 * k = Clip(Add(c, 3), 0, 6) (through the unrequested Add), s = 3 − c
 * (decreasing), h = HardSigmoid(c); p = c + per-channel bias (not monotone
 * in one variable); l = Log(x) (NaN and −Infinity) and d = l·0.5.
 */
function chainModel(): Model {
  const g = new Graph("chains");
  g.addInitializer(Tensor.fromArray("w", [4, 4, 3, 3], uniformArray(144, 21, -0.5, 0.5)));
  g.addInitializer(Tensor.fromArray("bias", [1, 4, 1, 1], uniformArray(4, 22, -1, 1)));
  for (const [n, v] of [["two", 2], ["one", 1], ["three", 3], ["zero", 0], ["six", 6], ["half", 0.5]] as const) g.addInitializer(scalar(n, v));
  const node = (opType: string, inputs: string[], out: string, attrs = {}) => new Node({ opType, name: out, inputs, outputs: [out], attrs });
  g.nodes = [
    node("Conv", ["x", "w"], "c", { pads: { type: "ints", value: [1, 1, 1, 1] } }),
    node("Mul", ["c", "two"], "m"),
    node("Sub", ["m", "one"], "a"),
    node("Add", ["three", "c"], "c3"),
    node("Clip", ["c3", "zero", "six"], "k"),
    node("Sub", ["three", "c"], "s"),
    node("HardSigmoid", ["c"], "h", { alpha: { type: "float", value: 0.2 }, beta: { type: "float", value: 0.5 } }),
    node("Add", ["c", "bias"], "p"),
    node("Log", ["x"], "l"),
    node("Mul", ["l", "half"], "d"),
  ];
  g.inputs = [{ name: "x", dtype: "float32", shape: [...DIMS] }];
  g.outputs = ["a", "k", "s", "h", "p", "d"].map((name) => ({ name, dtype: "float32" as const }));
  return new Model(g, { irVersion: 8, opsets: new Map([["", 13]]), producerName: "edgeq-test" });
}

function feeds(n: number, withNonFinite = false): TensorValue<"float32">[] {
  return Array.from({ length: n }, (_, i) => {
    const data = laplace(SIZE, 40 + i, 0.7 + 0.1 * i, 0.2);
    if (!withNonFinite) for (let k = 0; k < SIZE; k++) data[k] = Math.abs(data[k]) + 0.01; // Log stays finite
    if (withNonFinite) data[3 + i] = 0;
    return { dtype: "float32", dims: DIMS, data };
  });
}

function extremes(arrays: Float32Array[]): { min: number; max: number; nonFinite: number } {
  let min = Infinity, max = -Infinity, nonFinite = 0;
  for (const a of arrays) {
    for (const x of a) {
      if (!Number.isFinite(x)) nonFinite++;
      else [min, max] = [Math.min(min, x), Math.max(max, x)];
    }
  }
  return { min, max, nonFinite };
}

test("monotone chains are derived, through unrequested values; per-channel constants are not", () => {
  const g = chainModel().graph;
  const values = ["x", "c", "m", "a", "k", "s", "h", "p", "l", "d"];
  const routes = route(g, new Map(values.map((v) => [v, [{ kind: "minmax" as const, value: v }]])), ["x"], 4096, true);
  assert.equal([...routes.derived.keys()].sort(), ["a", "d", "h", "k", "m", "s"]);
  assert.is(routes.derived.get("k")!.root, "c");
  assert.is(routes.derived.get("k")!.maps.length, 2); // Add(3), then Clip
  assert.is(routes.derived.get("d")!.root, "l");
  // The graph input is reduced in the graph too (its data comes from the feed).
  assert.equal(routes.extremes, ["x", "c", "p", "l"]);
  assert.equal(routes.inputs, ["x"]);
});

test("derived min/max equal brute force, decreasing maps swap ends", async () => {
  const model = chainModel();
  const xs = feeds(3);
  const values = ["c", "m", "a", "k", "s", "h", "p", "d"];
  const obs = await collect(model, memoryDataset("x", xs), values.map((value) => ({ kind: "minmax" as const, value })));
  const ref = await wholeTensors(model, xs, values);
  values.forEach((v, i) => {
    const want = extremes(ref.get(v)!);
    const got = obs[i].range();
    // HardSigmoid may be fused (one rounding) inside ONNX Runtime.
    const tol = v === "h" ? 1e-6 : 0;
    assert.ok(Math.abs(got.min - want.min) <= tol && Math.abs(got.max - want.max) <= tol, `${v}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  });
});

test("large inputs: values of known channel count are reduced per channel, still exactly", async () => {
  const model = chainModel();
  const dims = [1, 4, 192, 192], n = dims.reduce((a, b) => a * b, 1); // over the per-channel threshold
  model.graph.inputs[0].shape = dims;
  const xs = [0, 1].map((i) => {
    const data = laplace(n, 70 + i, 0.9, 0.1);
    if (i === 1) data[5] = 0; // Log gives −Infinity: the whole-tensor fallback
    return { dtype: "float32" as const, dims, data: i === 0 ? data.map((x) => Math.abs(x) + 0.01) : data.map((x) => Math.abs(x)) };
  });
  const values = ["x", "c", "m", "k", "p", "l", "d"];
  const obs = await collect(model, memoryDataset("x", xs), values.map((value) => ({ kind: "minmax" as const, value })));
  const ref = await wholeTensors(model, xs, values);
  values.forEach((v, i) => {
    const want = extremes(ref.get(v)!);
    assert.equal(obs[i].range(), { min: want.min, max: want.max }, v);
  });
  assert.is(obs[5].nonFinite, extremes(ref.get("l")!).nonFinite);
});

test("non-finite roots send their derived values to the whole-tensor fallback", async () => {
  const model = chainModel();
  const xs = feeds(2, true);
  const obs = await collect(model, memoryDataset("x", xs), [{ kind: "minmax", value: "l" }, { kind: "minmax", value: "d" }]);
  const ref = await wholeTensors(model, xs, ["l", "d"]);
  for (const [i, v] of ["l", "d"].entries()) {
    const want = extremes(ref.get(v)!);
    assert.equal(obs[i].range(), { min: want.min, max: want.max }, v);
    assert.is(obs[i].nonFinite, want.nonFinite, v);
  }
});

test("subsampled histograms weigh to the element count, cover the exact extremes, and agree with whole ones", async () => {
  const model = chainModel();
  const xs = feeds(6);
  const values = ["x", "c", "k", "s", "p"];
  const req = values.map((value) => ({ kind: "histogram" as const, value, bins: 256 }));
  const sub = await collect(model, memoryDataset("x", xs), req, { histogramSample: 64 });
  const whole = await collect(model, memoryDataset("x", xs), req, { histogramSample: 0 });
  const ref = await wholeTensors(model, xs, values);
  values.forEach((v, i) => {
    const all = ref.get(v)!.flatMap((a) => [...a]);
    const { min, max } = extremes(ref.get(v)!);
    const h = sub[i], w = whole[i];
    assert.ok(Math.abs(h.total - all.length) < 1e-6 * all.length, `${v}: total ${h.total}`);
    assert.ok(Math.abs(h.counts.reduce((s, c) => s + c, 0) - all.length) < 1e-6 * all.length, v);
    assert.is(w.total, all.length, v);
    // The exact extremes fall in the first and last occupied bins.
    const occ = h.occupied()!;
    assert.ok(h.edge(occ.first) <= min && min < h.edge(occ.first + 1) + 1e-6, `${v}: min ${min} not in the first bin`);
    assert.ok(h.edge(occ.last) <= max && max < h.edge(occ.last + 1) + 1e-6, `${v}: max ${max} not in the last bin`);
    const a = percentileRange(h, 90), b = percentileRange(w, 90), span = max - min;
    assert.ok(Math.abs(a.max - b.max) < 0.1 * span && Math.abs(a.min - b.min) < 0.1 * span, `${v}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  });
});

test("samples whose shapes change still weigh to the element count (strides planned from the previous sample)", async () => {
  const model = chainModel();
  model.graph.inputs[0].shape = [1, 4, "h", "w"];
  const xs = [16, 6, 24, 24].map((side, i) => {
    const data = laplace(4 * side * side, 60 + i, 0.8, 0.1).map((x) => Math.abs(x) + 0.01);
    return { dtype: "float32" as const, dims: [1, 4, side, side], data };
  });
  const values = ["x", "c", "k", "p"];
  const hist = await collect(model, memoryDataset("x", xs), values.map((value) => ({ kind: "histogram" as const, value, bins: 128 })), { histogramSample: 100 });
  const ref = await wholeTensors(model, xs, values);
  values.forEach((v, i) => {
    const all = ref.get(v)!.reduce((n, a) => n + a.length, 0);
    assert.ok(Math.abs(hist[i].total - all) < 1e-6 * all, `${v}: total ${hist[i].total} vs ${all}`);
    const { min, max } = extremes(ref.get(v)!), occ = hist[i].occupied()!;
    assert.ok(hist[i].edge(occ.first) <= min && max < hist[i].edge(occ.last + 1) + 1e-6, v);
  });
});

test("declared static shapes plan the first strides (no probe run): right ones change nothing, wrong ones only the first sample's stride", async () => {
  const xs = feeds(3);
  const values = ["c", "k", "p"];
  const req = values.map((value) => ({ kind: "histogram" as const, value, bins: 128 }));
  const run = async (dims?: number[]) => {
    const model = chainModel();
    if (dims) for (const v of values) model.graph.valueInfo.set(v, { name: v, dtype: "float32", shape: dims });
    return await collect(model, memoryDataset("x", xs), req, { histogramSample: 100 });
  };
  const probed = await run(), declared = await run(DIMS), wrong = await run([1, 4, 5, 5]);
  values.forEach((v, i) => {
    assert.equal([...declared[i].counts], [...probed[i].counts], v);
    assert.ok(Math.abs(wrong[i].total - 3 * SIZE) < 1e-6 * SIZE, `${v}: total ${wrong[i].total}`);
  });
});

test("histogramSample larger than a value reads it whole, exactly", async () => {
  const model = chainModel();
  const xs = feeds(2);
  const [h] = await collect(model, memoryDataset("x", xs), [{ kind: "histogram", value: "k", bins: 64 }], { histogramSample: SIZE + 1 });
  const [w] = await collect(model, memoryDataset("x", xs), [{ kind: "histogram", value: "k", bins: 64 }], { histogramSample: 0 });
  assert.equal([...h.counts], [...w.counts]);
  assert.is(h.total, 2 * SIZE);
});

test.run();
