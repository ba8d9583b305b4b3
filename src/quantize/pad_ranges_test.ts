import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Range } from "../calibrate/types.ts";
import { Builder, int, ints, str } from "./_testing_graphs.ts";
import { sharePadRanges } from "./pad_ranges.ts";
import { memoryDataset } from "../calibrate/_testing.ts";
import { compareModels } from "../eval/compare.ts";
import { cloneModel } from "../ir/clone.ts";
import { loadTarget } from "../targets/load.ts";
import type { TensorValue } from "../runtime/types.ts";
import { quantizeModel } from "./pipeline.ts";
import { randomInput } from "./_testing.ts";

/** x → Relu → h → Pad(fill) → p → Conv; `alsoRead` adds a second reader of h. */
function padGraph(fill: number, alsoRead = false, mode = "constant") {
  const b = new Builder();
  b.input("x", [1, 4, 6, 6]);
  const h = b.node("Relu", ["x"], "h");
  const p = b.node("Pad", [h, b.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), b.scalar("fill", fill)], "p", { mode: str(mode) });
  const y = b.node("Conv", [p, b.weight("w", [4, 4, 3, 3]), b.weight("bias", [4])], "y");
  return b.model(alsoRead ? [y, b.node("Sigmoid", [h], "s")] : [y]).graph;
}

const ranges = (h: Range, p: Range) => new Map<string, Range>([["h", h], ["p", p]]);

test("a Pad whose fill lies in its output's range: its input, read by it alone, takes that range", () => {
  const r = ranges({ min: 0, max: 120 }, { min: 0, max: 100 });
  assert.equal(sharePadRanges(padGraph(0.8), r), ["p"]);
  assert.equal(r.get("h"), { min: 0, max: 100 });
  assert.equal(r.get("p"), { min: 0, max: 100 });
});

test("an input read elsewhere keeps its range and the Pad's output takes it, when the fill lies in it", () => {
  const r = ranges({ min: 0, max: 120 }, { min: 0, max: 100 });
  assert.equal(sharePadRanges(padGraph(0.8, true), r), ["p"]);
  assert.equal(r.get("h"), { min: 0, max: 120 });
  assert.equal(r.get("p"), { min: 0, max: 120 });
});

test("a fill outside both ranges, or a reflect Pad, keeps two grids", () => {
  for (const [g, what] of [[padGraph(-5), "fill −5"], [padGraph(0.8, false, "reflect"), "reflect"]] as const) {
    const r = ranges({ min: 0, max: 120 }, { min: -5, max: 100 });
    if (what === "fill −5") r.set("p", { min: 0, max: 100 });
    assert.equal(sharePadRanges(g, r), [], what);
    assert.equal(r.get("h"), { min: 0, max: 120 }, what);
  }
});

test("quantizeModel for npu-int8-only: a shift before a padding Conv becomes a Pad on one grid, close to FP32", async () => {
  // x → HardSwish → ·0.4 → +0.3 → depthwise 3×3 Conv (pads 1): the fusions make the shift a Pad of −0.75.
  const b = new Builder();
  b.input("x", [1, 8, 6, 6]);
  const h = b.node("HardSwish", ["x"], "h");
  const s = b.node("Mul", [b.scalar("c", 0.4), h], "s");
  const t = b.node("Add", [s, b.scalar("d", 0.3)], "t");
  const y = b.node("Conv", [t, b.weight("w", [8, 1, 3, 3]), b.weight("bias", [8])], "y", { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(8) });
  const fp32 = b.model([y], 14);
  const samples = (n: number, seed: number) => Array.from({ length: n }, (_, i) => randomInput([1, 8, 6, 6], seed + i, -4, 4) as TensorValue<"float32">);
  const m = cloneModel(fp32);
  const report = await quantizeModel(m, memoryDataset("x", samples(16, 1)), { profile: loadTarget("npu-int8-only") });
  const g = m.graph;
  const pad = g.nodes.find((n) => n.opType === "Pad")!;
  assert.ok(pad, "a Pad");
  assert.equal(report.sharedPads, [pad.outputs[0]]);
  assert.is(g.nodes.filter((n) => n.opType === "Add").length, 0, "no shift Add");
  const qOf = (v: string) => g.nodes.find((n) => n.opType === "QuantizeLinear" && n.inputs[0] === v)!;
  const dqIn = g.producer(pad.inputs[0])!;
  assert.is(dqIn.opType, "DequantizeLinear");
  const [qa, qb] = [g.producer(dqIn.inputs[0])!, qOf(pad.outputs[0])];
  for (const k of [1, 2]) assert.equal(Array.from(g.constant(qa.inputs[k])!.toFloat64()), Array.from(g.constant(qb.inputs[k])!.toFloat64()), `input ${k}`);
  const c = await compareModels(fp32, m, memoryDataset("x", samples(16, 100)), { samples: 16 });
  assert.ok(c.outputs[0].sqnrDb > 30, `${c.outputs[0].sqnrDb} dB`);
});

test.run();
