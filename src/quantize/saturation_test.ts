// Input ranges of saturating activations: narrowed to where the quantized
// output still moves, only where the activation is the input's one reader,
// and the quantized model gets closer to the float one for it.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { Range } from "../calibrate/types.ts";
import type { TensorValue } from "../runtime/types.ts";
import { compareModels } from "../eval/compare.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { quantizeModel } from "./pipeline.ts";
import { limitSaturatingInputs } from "./saturation.ts";
import { randomInput } from "./_testing.ts";
import { Builder, float, int } from "./_testing_graphs.ts";

const S = suite("saturating activations");

/** x[1,16] → Gemm (wide logits: weights ×`gain`) → op → y. */
function head(op: string, gain: number, attrs = {}): Model {
  const b = new Builder();
  b.input("x", [1, 16]);
  const w = b.weight("w", [8, 16], gain);
  const logit = b.node("Gemm", ["x", w, b.weight("b", [8], 1)], "logit", { transB: int(1) });
  return b.model([b.node(op, [logit], "y", attrs)]);
}

/** A grid from the calibrated range itself, `levels` levels (uint8 when 256, zero point on the range's minimum). */
const exact = (levels = 256) => (_: string, r: Range) => ({ lo: r.min, hi: r.max, step: (r.max - r.min) / (levels - 1) });
const ranges = (entries: Record<string, [number, number]>) =>
  new Map<string, Range>(Object.entries(entries).map(([k, [min, max]]) => [k, { min, max }]));

S("Sigmoid: the input range ends where σ rounds to the ends of a uint8 [0, 1] grid", () => {
  const m = head("Sigmoid", 1);
  const r = ranges({ logit: [-40, 30], y: [0, 1] });
  const out = limitSaturatingInputs(m.graph, r, exact(), new Set());
  assert.is(out.length, 1);
  const q = 1 / 255 / 4; // a quarter of the output step
  assert.ok(Math.abs(r.get("logit")!.min - Math.log(q / (1 - q))) < 1e-9);
  assert.ok(Math.abs(r.get("logit")!.max - Math.log((1 - q) / q)) < 1e-9);
  // Every input past the new ends gives an output that rounds to the grid's end.
  const sigma = (x: number) => 1 / (1 + Math.exp(-x));
  assert.is(Math.round(sigma(r.get("logit")!.max) * 255), 255);
  assert.is(Math.round(sigma(r.get("logit")!.min) * 255), 0);
  // An output grid that ends below 1 (calibration clipped it) ends the input range there too.
  const r2 = ranges({ logit: [-40, 30], y: [0, 0.5] });
  limitSaturatingInputs(m.graph, r2, exact(), new Set());
  assert.ok(Math.abs(r2.get("logit")!.max - Math.log((0.5 - 0.5 / 255 / 4) / (0.5 + 0.5 / 255 / 4))) < 1e-9);
});

S("HardSigmoid: its input range ends at the points where it clips (α, β of the node)", () => {
  const m = head("HardSigmoid", 1, { alpha: float(1 / 6), beta: float(0.5) });
  const r = ranges({ logit: [-70, 20], y: [0, 1] });
  limitSaturatingInputs(m.graph, r, exact(), new Set());
  const q = 1 / 255 / 4;
  assert.ok(Math.abs(r.get("logit")!.min - (q - 0.5) * 6) < 1e-9);
  assert.ok(Math.abs(r.get("logit")!.max - (1 - q - 0.5) * 6) < 1e-9);
  // 16-bit outputs: a finer grid, limits closer to ±3.
  const r16 = ranges({ logit: [-70, 20], y: [0, 1] });
  limitSaturatingInputs(m.graph, r16, exact(65536), new Set());
  assert.ok(r16.get("logit")!.max > r.get("logit")!.max && r16.get("logit")!.max < 3);
});

S("HardSwish and Relu: the lower end stops where the output is 0 for every input below (−3, 0); the upper end stays", () => {
  for (const [op, floor] of [["HardSwish", -3], ["Relu", 0]] as const) {
    const m = head(op, 1);
    const r = ranges({ logit: [-17, 12], y: [-0.4, 12] });
    const out = limitSaturatingInputs(m.graph, r, exact(), new Set());
    assert.equal(r.get("logit"), { min: floor, max: 12 }, op);
    assert.equal(out.map((l) => [l.op, l.from, l.to]), [[op, { min: -17, max: 12 }, { min: floor, max: 12 }]]);
    // Already above the floor, or wholly below it (the output is constant): left alone.
    for (const [lo, hi] of [[floor + 1, 5], [floor - 9, floor - 1]]) {
      const kept = ranges({ logit: [lo, hi], y: [0, 1] });
      assert.equal(limitSaturatingInputs(m.graph, kept, exact(), new Set()), [], `${op} [${lo}, ${hi}]`);
      assert.equal(kept.get("logit"), { min: lo, max: hi });
    }
  }
});

S("Tanh, and ranges already inside the limits, and what is left alone", () => {
  const tanh = head("Tanh", 1);
  const r = ranges({ logit: [-1, 9], y: [-0.8, 1] });
  limitSaturatingInputs(tanh.graph, r, exact(), new Set());
  assert.is(r.get("logit")!.min, -1, "the low end was inside the limit");
  assert.ok(Math.abs(r.get("logit")!.max - Math.atanh(1 - 1.8 / 255 / 4)) < 1e-9);

  const inside = ranges({ logit: [-3, 2], y: [0, 1] });
  assert.equal(limitSaturatingInputs(head("Sigmoid", 1).graph, inside, exact(), new Set()), []);
  assert.equal(inside.get("logit"), { min: -3, max: 2 });

  // Another reader of the logit would see the clipping: no change.
  const two = head("Sigmoid", 1);
  two.graph.outputs.push({ name: "logit", dtype: "float32" });
  const r3 = ranges({ logit: [-40, 30], y: [0, 1] });
  assert.equal(limitSaturatingInputs(two.graph, r3, exact(), new Set()), []);
  // A value that shares its parameters with another keeps them.
  const r4 = ranges({ logit: [-40, 30], y: [0, 1] });
  assert.equal(limitSaturatingInputs(head("Sigmoid", 1).graph, r4, exact(), new Set(["logit"])), []);
  // No output range (the activation stays float): no change.
  const r5 = ranges({ logit: [-40, 30] });
  assert.equal(limitSaturatingInputs(head("Sigmoid", 1).graph, r5, exact(), new Set()), []);
});

S("the grid QDQ stores decides: a symmetric int8 grid's 0 ends a Sigmoid's input below, a nudged grid's ends are its own", () => {
  // Symmetric int8 for [0, 1]: scale 1/127 over [−1, 1]; σ never goes below 0, so 0 is the low end that counts.
  const m = head("Sigmoid", 1);
  const r = ranges({ logit: [-40, 30], y: [0, 1] });
  limitSaturatingInputs(m.graph, r, () => ({ lo: -1, hi: 1, step: 1 / 127 }), new Set());
  const q = 1 / 127 / 4;
  assert.ok(Math.abs(r.get("logit")!.min - Math.log(q / (1 - q))) < 1e-9);
  assert.ok(Math.abs(r.get("logit")!.max - Math.log((1 - q) / q)) < 1e-9);
  // A Tanh grid whose zero point moved it up by 0.3 of a step ends there, not at the calibrated 0.9.
  const t = head("Tanh", 1);
  const step = 1.7 / 255, top = 0.9 + 0.3 * step;
  const rt = ranges({ logit: [-1, 9], y: [-0.8, 0.9] });
  limitSaturatingInputs(t.graph, rt, () => ({ lo: -0.8 + 0.3 * step, hi: top, step }), new Set());
  assert.ok(Math.abs(rt.get("logit")!.max - Math.atanh(top - step / 4)) < 1e-9);
});

S("quantizeModel: a Sigmoid head with logits far past saturation comes out closer to FP32 with the limits than without", async () => {
  const samples = (n: number, seed: number) => Array.from({ length: n }, (_, i) => randomInput([1, 16], seed + i, -2, 2) as TensorValue<"float32">);
  const calib = memoryDataset("x", samples(32, 10));
  const held = memoryDataset("x", samples(64, 500));
  const fp32 = head("Sigmoid", 3);
  const sqnr = async (limit: boolean) => {
    const m = cloneModel(fp32);
    const r = await quantizeModel(m, calib, { calibration: { method: "minmax" }, limitSaturation: limit });
    const c = await compareModels(fp32, m, held, { samples: 64 });
    return { db: c.outputs[0].sqnrDb, limited: r.limited };
  };
  const [on, off] = [await sqnr(true), await sqnr(false)];
  assert.is(on.limited.length, 1);
  assert.is(on.limited[0].value, "logit");
  assert.ok(on.limited[0].to.max - on.limited[0].to.min < on.limited[0].from.max - on.limited[0].from.min);
  assert.equal(off.limited, []);
  assert.ok(on.db > off.db + 3, `with limits ${on.db.toFixed(2)} dB, without ${off.db.toFixed(2)} dB`);
});

S.run();
