// Channel statistics reduced inside ONNX Runtime (a channel request that
// gives its channel count) against the same statistics of whole tensors:
// NCHW and last-axis values, inputs of changing size, other requests on the
// same value, the real classifier, and a sample with non-finite values.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Model } from "../ir/model.ts";
import { normalize } from "../normalize/mod.ts";
import { readModel } from "../onnx/mod.ts";
import { Builder, ints } from "../quantize/_testing_graphs.ts";
import type { TensorValue } from "../runtime/types.ts";
import { REAL_MODELS } from "../../tests/fixtures/onnx_models.ts";
import type { ChannelObserver } from "./channel.ts";
import { collect } from "./collect.ts";
import type { StatRequest } from "./types.ts";
import { route } from "./_route.ts";
import { memoryDataset, uniformArray } from "./_testing.ts";

const feed = (dims: number[], seed: number, lo = -1, hi = 2): TensorValue<"float32"> => ({
  dtype: "float32",
  dims,
  data: uniformArray(dims.reduce((a, b) => a * b, 1), seed, lo, hi),
});

/** Reduced (with `channels`) and whole (without) channel statistics of the same values agree. */
function assertSame(reduced: ChannelObserver, whole: ChannelObserver, what: string): void {
  assert.is(reduced.maxAbs.length, whole.maxAbs.length, what);
  const rm = reduced.mean(), wm = whole.mean(), rs = reduced.std(), ws = whole.std();
  for (let c = 0; c < whole.maxAbs.length; c++) {
    assert.ok(Math.abs(reduced.maxAbs[c] - whole.maxAbs[c]) <= 1e-6 * Math.max(1, whole.maxAbs[c]), `${what} max|x| channel ${c}`);
    assert.is(reduced.min[c], whole.min[c], `${what} min channel ${c}`);
    assert.is(reduced.max[c], whole.max[c], `${what} max channel ${c}`);
    assert.ok(Math.abs(rm[c] - wm[c]) <= 1e-5 * Math.max(1, Math.abs(wm[c])), `${what} mean channel ${c}: ${rm[c]} vs ${wm[c]}`);
    // ORT sums x² in float32: the variance is good to float32 precision of E[x²], not of itself.
    const meanSq = ws[c] ** 2 + wm[c] ** 2;
    assert.ok(Math.abs(rs[c] ** 2 - ws[c] ** 2) <= 1e-5 * Math.max(1e-6, meanSq), `${what} std channel ${c}: ${rs[c]} vs ${ws[c]}`);
    assert.is(reduced.count[c], whole.count[c], `${what} count channel ${c}`);
  }
  assert.is(reduced.nonFinite, whole.nonFinite, `${what} non-finite`);
}

/** x[1,4,H,W] → Conv(4→6) → y; y → Transpose → [1, H·W… , 6] as a last-axis value t. */
function model(): Model {
  const b = new Builder();
  b.input("x", [1, 4, "H" as unknown as number, "W" as unknown as number]);
  const y = b.node("Conv", ["x", b.weight("w", [6, 4, 1, 1]), b.weight("bias", [6])], "y", { kernel_shape: ints([1, 1]) });
  const t = b.node("Transpose", [y], "t", { perm: ints([0, 2, 3, 1]) });
  return b.model([b.node("Relu", [t], "out")]);
}

test("NCHW (axis 1) and last-axis (−1) statistics reduced in the graph equal the whole-tensor ones, over inputs of changing size, beside other requests", async () => {
  const m = model();
  const data = memoryDataset("x", [feed([1, 4, 5, 7], 1), feed([1, 4, 3, 11], 2), feed([1, 4, 6, 2], 3)]);
  const others: StatRequest[] = [{ kind: "minmax", value: "y" }, { kind: "histogram", value: "t" }];
  const reduced = await collect(m, data, [{ kind: "channel", value: "y", axis: 1, channels: 6, spread: true }, { kind: "channel", value: "t", axis: -1, channels: 6, spread: true }, ...others]);
  const whole = await collect(m, data, [{ kind: "channel", value: "y", axis: 1 }, { kind: "channel", value: "t", axis: -1 }, ...others]);
  assertSame(reduced[0] as ChannelObserver, whole[0] as ChannelObserver, "y");
  assertSame(reduced[1] as ChannelObserver, whole[1] as ChannelObserver, "t");
  assert.equal(reduced[2], whole[2], "the min/max beside it is the same");
  // And the first pass did reduce them in the graph (the second fetched them whole).
  const byValue = (rs: StatRequest[]) => new Map(["y", "t"].map((v) => [v, rs.filter((r) => r.value === v)]));
  const withCount = route(m.graph, byValue([{ kind: "channel", value: "y", axis: 1, channels: 6 }, { kind: "channel", value: "t", axis: -1, channels: 6 }, ...others]), ["x"], 2048, true);
  assert.equal([...withCount.channelStats.keys()].sort(), ["t", "y"]);
  assert.equal(withCount.whole, []);
  const without = route(m.graph, byValue([{ kind: "channel", value: "y", axis: 1 }, { kind: "channel", value: "t", axis: -1 }, ...others]), ["x"], 2048, true);
  assert.equal(without.channelStats.size, 0);
  assert.equal([...without.whole].sort(), ["t", "y"]);
});

test("a sample with non-finite values is read again whole: they are skipped and counted as before", async () => {
  const b = new Builder();
  b.input("x", [1, 3, 2, 2]);
  const m = b.model([b.node("Div", [b.scalar("one", 1), "x"], "y")]);
  const zeros = feed([1, 3, 2, 2], 5);
  zeros.data[1] = 0; // 1/0 = +Infinity in channel 0
  const data = memoryDataset("x", [feed([1, 3, 2, 2], 4, 0.5, 2), zeros]);
  const [reduced] = await collect(m, data, [{ kind: "channel", value: "y", axis: 1, channels: 3, spread: true }]);
  const [whole] = await collect(m, data, [{ kind: "channel", value: "y", axis: 1 }]);
  assert.is(whole.nonFinite, 1);
  assertSame(reduced, whole, "y");
});

test("classifier: the data input of every Conv, reduced in the graph, equals the whole-tensor statistics", async () => {
  const m = readModel(REAL_MODELS[0].file);
  await normalize(m, { shapes: false });
  const g = m.graph;
  const convs = g.nodes.filter((n) => n.opType === "Conv" && g.producer(n.inputs[0]));
  const channels = (n: (typeof convs)[number]) => g.constant(n.inputs[1])!.dims[1] * n.attrInt("group", 1);
  const data = memoryDataset("x", [1, 2, 3].map((s) => feed([1, 3, 48, 192], 10 + s)));
  const values = [...new Set(convs.map((n) => n.inputs[0]))];
  const count = new Map(convs.map((n) => [n.inputs[0], channels(n)]));
  const reduced = await collect(m, data, values.map((value) => ({ kind: "channel" as const, value, channels: count.get(value), spread: true })));
  const whole = await collect(m, data, values.map((value) => ({ kind: "channel" as const, value })));
  assert.ok(values.length > 20, `${values.length} values`);
  values.forEach((v, i) => assertSame(reduced[i], whole[i], v));
});

test("without spread the graph reduces no sums of squares: means and extremes are the same, std() refuses", async () => {
  const m = model();
  const data = memoryDataset("x", [feed([1, 4, 5, 7], 1), feed([1, 4, 3, 11], 2)]);
  const [lean] = await collect(m, data, [{ kind: "channel", value: "y", axis: 1, channels: 6 }]);
  const [full] = await collect(m, data, [{ kind: "channel", value: "y", axis: 1, channels: 6, spread: true }]);
  assert.equal([lean.min, lean.max, lean.count], [full.min, full.max, full.count]);
  const lm = lean.mean(), fm = full.mean();
  for (let c = 0; c < 6; c++) assert.ok(Math.abs(lm[c] - fm[c]) <= 1e-6 * Math.max(1, Math.abs(fm[c])));
  assert.throws(() => lean.std(), /spread/);
  const byValue = (spread: boolean) => new Map([["y", [{ kind: "channel", value: "y", axis: 1, channels: 6, spread } as StatRequest]]]);
  assert.equal(route(m.graph, byValue(false), ["x"], 2048, true).channelStats.get("y"), { axis: 1, channels: 6, squares: false });
  assert.equal(route(m.graph, byValue(true), ["x"], 2048, true).channelStats.get("y"), { axis: 1, channels: 6, squares: true });
  // Two passes on one value: one asking for the spread is enough for both.
  const both = new Map([["y", [{ kind: "channel", value: "y", axis: 1, channels: 6 }, { kind: "channel", value: "y", axis: 1, channels: 6, spread: true }] as StatRequest[]]]);
  assert.is(route(m.graph, both, ["x"], 2048, true).channelStats.get("y")!.squares, true);
});

test.run();
