// The fusions pass: each pattern fuses where it should and nowhere else, the
// opset is raised only when a fusion needs it, and the float function holds.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Model } from "../ir/model.ts";
import { randomInput } from "../quantize/_testing.ts";
import { Builder, float, int, ints } from "../quantize/_testing_graphs.ts";
import { recordShapes } from "../normalize/shapes.ts";
import { loadTarget } from "../targets/load.ts";
import { contextFor, opCounts, outputDrift, snapshot } from "./_testing.ts";
import { fusions } from "./fusions.ts";
import type { PassContext, PassReport } from "./types.ts";

const Fusions = suite("fusions pass");

const noStats = () => {
  throw new Error("fusions read no statistics");
};

async function fuse(model: Model, ctx: PassContext = contextFor("cpu-mixed"), dims = [1, 8, 6, 6]): Promise<{ report: PassReport; drift: number }> {
  const before = snapshot(model);
  const report = await fusions.apply(model, noStats, ctx);
  const feeds = [1, 2].map((s) => ({ x: randomInput(dims, s, -6, 6) }));
  return { report, drift: await outputDrift(before, model, feeds) };
}

/** x → Conv(8→8, 1×1) → y, then `tail` builds the rest from y. */
function afterConv(tail: (b: Builder, y: string) => string): Model {
  const b = new Builder();
  b.input("x", [1, 8, 6, 6]);
  const y = b.node("Conv", ["x", b.weight("w", [8, 8, 1, 1]), b.weight("bias", [8])], "y", { kernel_shape: ints([1, 1]) });
  return b.model([tail(b, y)]);
}

Fusions("x·Clip(x+3, 0, 6)/6 (PaddlePaddle) becomes HardSwish at opset 14, exactly", async () => {
  const m = afterConv((b, y) => {
    const a = b.node("Add", [y, b.scalar("three", 3)], "a");
    const c = b.node("Clip", [a, b.scalar("zero", 0), b.scalar("six", 6)], "c");
    const p = b.node("Mul", [y, c], "p");
    return b.node("Div", [p, b.scalar("six2", 6)], "out");
  });
  const { report, drift } = await fuse(m);
  assert.equal(opCounts(m), { Conv: 1, HardSwish: 1 });
  assert.is(m.opset(), 14);
  assert.is(report.details?.counts && (report.details.counts as Record<string, number>).hardswish, 1);
  assert.ok(drift < 1e-6, `drift ${drift}`);
});

Fusions("x·HardSigmoid(x; 1/6, 0.5) and x·(Clip(x+3,0,6)·(1/6)) become HardSwish; Paddle's HardSigmoid(0.2) stays", async () => {
  const m = afterConv((b, y) => {
    const h = b.node("HardSigmoid", [y], "h", { alpha: float(1 / 6), beta: float(0.5) });
    const s = b.node("Mul", [y, h], "s");
    const a = b.node("Add", [s, b.scalar("three", 3)], "a");
    const c = b.node("Clip", [a, b.scalar("zero", 0), b.scalar("six", 6)], "c");
    const g = b.node("Mul", [c, b.scalar("sixth", 1 / 6)], "g");
    const t = b.node("Mul", [s, g], "t");
    const keep = b.node("HardSigmoid", [t], "k", { alpha: float(0.2), beta: float(0.5) });
    return b.node("Mul", [t, keep], "out");
  });
  const { drift } = await fuse(m);
  assert.equal(opCounts(m), { Conv: 1, HardSwish: 2, HardSigmoid: 1, Mul: 1 });
  assert.ok(drift < 1e-6, `drift ${drift}`);
});

Fusions("a Clip(x+3, 0, 5) or a gate read twice is not HardSwish", async () => {
  const m = afterConv((b, y) => {
    const a = b.node("Add", [y, b.scalar("three", 3)], "a");
    const c = b.node("Clip", [a, b.scalar("zero", 0), b.scalar("five", 5)], "c");
    const p = b.node("Mul", [y, c], "p");
    return b.node("Div", [p, b.scalar("six", 6)], "out");
  });
  await fuse(m);
  assert.is(opCounts(m).HardSwish, undefined);
  assert.is(m.opset(), 13, "no fusion, no opset change");
});

Fusions("a target that does not list HardSwish, or stops below opset 14, keeps the decomposition", async () => {
  const build = () =>
    afterConv((b, y) => {
      const a = b.node("Add", [y, b.scalar("three", 3)], "a");
      const c = b.node("Clip", [a, b.scalar("zero", 0), b.scalar("six", 6)], "c");
      return b.node("Div", [b.node("Mul", [y, c], "p"), b.scalar("six2", 6)], "out");
    });
  const base = loadTarget("cpu-mixed");
  const { HardSwish: _, ...ops } = base.ops;
  for (const profile of [{ ...base, ops }, { ...base, opset: { min: 13, max: 13 } }]) {
    const m = build();
    const { report } = await fuse(m, contextFor(profile));
    assert.is(opCounts(m).HardSwish, undefined);
    assert.is(m.opset(), 13);
    assert.match(String((report.params.skipped as string[]).join(" ")), /hardswish/);
  }
});

/** The decomposed LayerNorm over the last axis of x [1, 4, 8], as PaddlePaddle exports it. */
function layerNorm(square: "Pow" | "Mul", affine: boolean): Model {
  const b = new Builder();
  b.input("x", [1, 4, 8]);
  const mean = b.node("ReduceMean", ["x"], "mean", { axes: ints([-1]), keepdims: int(1) });
  const d = b.node("Sub", ["x", mean], "d");
  const sq = square === "Pow" ? b.node("Pow", [d, b.scalar("two", 2)], "sq") : b.node("Mul", [d, d], "sq");
  const v = b.node("ReduceMean", [sq], "var", { axes: ints([-1]), keepdims: int(1) });
  const e = b.node("Add", [v, b.scalar("eps", 1e-5)], "e");
  const s = b.node("Sqrt", [e], "s");
  let y = b.node("Div", [d, s], "n");
  if (affine) {
    y = b.node("Mul", [y, b.weight("gamma", [8])], "g");
    y = b.node("Add", [y, b.weight("beta", [8])], "out");
  }
  return b.model([y]);
}

for (const [square, affine] of [["Pow", true], ["Mul", false]] as const) {
  Fusions(`LayerNorm with ${square === "Pow" ? "Pow(d, 2)" : "d·d"}${affine ? " and γ, β" : ", no affine"} becomes LayerNormalization at opset 17`, async () => {
    const m = layerNorm(square, affine);
    const { drift } = await fuse(m, contextFor("cpu-mixed"), [1, 4, 8]);
    assert.equal(opCounts(m), { LayerNormalization: 1 });
    assert.is(m.opset(), 17);
    assert.ok(drift < 1e-5, `drift ${drift}`);
  });
}

Fusions("npu-int8-only: a Gemm's output minus its own mean (a LayerNorm's first step) becomes one Gemm with centered weights, exactly", async () => {
  // PyTorch's wake-word heads: Flatten → Gemm (outputs ≈ 2700 ± 1000) → x − mean(x) → …
  const build = () => {
    const b = new Builder();
    b.input("x", [1, 16]);
    const w = b.weight("w", [32, 16], 1);
    const bias = b.init("bias", [32], Float32Array.from({ length: 32 }, (_, i) => 2700 + 40 * Math.sin(i)));
    const y = b.node("Gemm", ["x", w, bias], "y", { transB: int(1) });
    const mean = b.node("ReduceMean", [y], "mean", { axes: ints([-1]), keepdims: int(1) });
    const d = b.node("Sub", [y, mean], "d");
    return b.model([b.node("Relu", [d], "out")]);
  };
  const m = build();
  const { report, drift } = await fuse(m, contextFor("npu-int8-only"), [1, 16]);
  assert.is((report.details as { counts: Record<string, number> }).counts.centering, 1);
  assert.equal(opCounts(m), { Gemm: 1, Relu: 1 });
  assert.is(m.graph.nodes[0].outputs[0], "d", "the Gemm computes d itself");
  const bias = m.graph.constant(m.graph.nodes[0].inputs[2])!.toNumbers();
  assert.ok(Math.abs(bias.reduce((a, x) => a + x, 0)) < 1e-2, "centered bias");
  assert.ok(drift < 1e-3, `drift ${drift}`);
  // A Gemm whose output is read elsewhere too keeps its form.
  const other = build();
  other.graph.outputs.push({ name: "y", dtype: "float32" });
  await fuse(other, contextFor("npu-int8-only"), [1, 16]);
  assert.equal(opCounts(other), { Gemm: 1, ReduceMean: 1, Sub: 1, Relu: 1 });
});

Fusions("cpu-mixed: a Gemm read only by the LayerNormalization fused after it is centered in place, exactly", async () => {
  // Where the target runs LayerNormalization, its input is what is quantized: y − mean(y) instead of y ≈ 2700 ± 40.
  const b = new Builder();
  b.input("x", [1, 16]);
  const bias = b.init("bias", [8], Float32Array.from({ length: 8 }, (_, i) => 2700 + 40 * Math.sin(i)));
  const y = b.node("Gemm", ["x", b.weight("w", [8, 16], 1), bias], "y", { transB: int(1) });
  const mean = b.node("ReduceMean", [y], "mean", { axes: ints([-1]), keepdims: int(1) });
  const d = b.node("Sub", [y, mean], "d");
  const v = b.node("ReduceMean", [b.node("Pow", [d, b.scalar("two", 2)], "sq")], "var", { axes: ints([-1]), keepdims: int(1) });
  const s = b.node("Sqrt", [b.node("Add", [v, b.scalar("eps", 1e-5)], "e")], "s");
  const n = b.node("Div", [d, s], "n");
  const m = b.model([b.node("Add", [b.node("Mul", [n, b.weight("gamma", [8])], "g"), b.weight("beta", [8])], "out")]);
  const { report, drift } = await fuse(m, contextFor("cpu-mixed"), [1, 16]);
  const counts = (report.details as { counts: Record<string, number> }).counts;
  assert.is(counts.layernorm, 1);
  assert.is(counts.centering, 1);
  assert.equal(opCounts(m), { Gemm: 1, LayerNormalization: 1 });
  const gemm = m.graph.nodes.find((x) => x.opType === "Gemm")!;
  const cb = m.graph.constant(gemm.inputs[2])!.toNumbers();
  assert.ok(Math.abs(cb.reduce((a, x) => a + x, 0)) < 1e-2, "centered bias");
  const w = m.graph.constant(gemm.inputs[1])!.toNumbers();
  for (let i = 0; i < 16; i++) {
    let col = 0;
    for (let o = 0; o < 8; o++) col += w[o * 16 + i];
    assert.ok(Math.abs(col) < 1e-5, `weights of input ${i} sum to ${col}`);
  }
  assert.ok(drift < 1e-4, `drift ${drift}`);
  // Fusing again finds the Gemm centered already: nothing to do.
  const again = await fuse(m, contextFor("cpu-mixed"), [1, 16]);
  assert.is((again.report.details as { counts: Record<string, number> }).counts.centering, 0);
});

Fusions("a positive per-channel scale before a Relu moves into the Gemm after it; one Add of β/γ stays (LayerNorm → Relu → Gemm)", async () => {
  // The wake-word heads: Gemm → (x − mean)/σ → ·γ + β → Relu → Gemm, with every γ > 0.
  const build = (negative: boolean) => {
    const b = new Builder();
    b.input("x", [1, 16]);
    const y = b.node("Gemm", ["x", b.weight("w1", [8, 16], 1), b.weight("b1", [8], 1)], "y", { transB: int(1) });
    const n = b.node("Div", [y, b.node("Sqrt", [b.node("ReduceMean", [b.node("Mul", [y, y], "sq")], "var", { axes: ints([-1]), keepdims: int(1) })], "s")], "n");
    const gamma = b.init("gamma", [8], Float32Array.from({ length: 8 }, (_, i) => (negative && i === 3 ? -0.5 : 0.6 + 0.1 * i)));
    const g = b.node("Mul", [n, gamma], "g");
    const r = b.node("Relu", [b.node("Add", [g, b.weight("beta", [8], 0.3)], "t")], "r");
    return b.model([b.node("Gemm", [r, b.weight("w2", [4, 8], 1), b.weight("b2", [4], 1)], "out", { transB: int(1) })]);
  };
  const m = build(false);
  const { report, drift } = await fuse(m, contextFor("npu-int8-only"), [1, 16]);
  assert.is((report.details as { counts: Record<string, number> }).counts["scale-through-relu"], 1);
  const ops = opCounts(m);
  assert.is(ops.Mul, 1, "only the square is left: γ moved into the second Gemm");
  assert.is(ops.Add, 1, "β/γ before the Relu");
  assert.ok(drift < 1e-5, `drift ${drift}`);
  // A negative γ does not pass a Relu: nothing moves.
  const neg = build(true);
  const r2 = await fuse(neg, contextFor("npu-int8-only"), [1, 16]);
  assert.is((r2.report.details as { counts: Record<string, number> }).counts["scale-through-relu"], 0);
  assert.is(opCounts(neg).Mul, 2);
});

Fusions("npu-int8-only does not list LayerNormalization: γ and β fold into the next MatMul instead", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 8]);
  const ln = layerNorm("Pow", true).graph;
  for (const [k, t] of ln.initializers) b.g.addInitializer(t.name === k ? t : t);
  b.g.nodes.push(...ln.nodes);
  const mm = b.node("MatMul", ["out", b.weight("w", [8, 6])], "mm");
  const m = b.model([b.node("Add", [mm, b.weight("bias", [6])], "y")]);
  // γ may fold only where the data's channel count is known (static-shape targets record every shape).
  await recordShapes(m);
  const { drift } = await fuse(m, contextFor("npu-int8-only"), [1, 4, 8]);
  const ops = opCounts(m);
  assert.is(ops.LayerNormalization, undefined);
  assert.is(ops.Mul, undefined, "γ folded");
  assert.is(ops.Add, 2, "the variance's ε and the MatMul's bias, which took β·W");
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

Fusions("scale and shift after a Conv fold into its weight and bias (scalar and per channel)", async () => {
  const m = afterConv((b, y) => {
    const s = b.node("Mul", [b.scalar("a", 0.7), y], "s");
    const t = b.node("Add", [s, b.weight("c", [1, 8, 1, 1])], "t");
    const u = b.node("Div", [t, b.weight("d", [8, 1, 1], 2)], "u");
    return b.node("Sub", [u, b.scalar("e", 0.25)], "out");
  });
  const { drift } = await fuse(m);
  assert.equal(opCounts(m), { Conv: 1 });
  assert.is(m.graph.nodes[0].outputs[0], "out", "the Conv takes the last output's name");
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

/** x → HardSigmoid → ·c → +d (`shift` per channel when given) → depthwise k×k Conv padding `pads`. */
function shiftedConv(k: number, pads: number, shift?: number[]): Model {
  const b = new Builder();
  b.input("x", [1, 8, 6, 6]);
  const h = b.node("HardSigmoid", ["x"], "h", { alpha: float(0.2), beta: float(0.5) });
  const s = b.node("Mul", [b.scalar("c", 0.4), h], "s");
  const d = shift ? b.init("d", [1, 8, 1, 1], Float32Array.from(shift)) : b.scalar("d", 0.3);
  const t = b.node("Add", [s, d], "t");
  const y = b.node("Conv", [t, b.weight("w", [8, 1, k, k]), b.weight("bias", [8])], "y", {
    kernel_shape: ints([k, k]),
    pads: ints([pads, pads, pads, pads]),
    group: int(8),
  });
  return b.model([y]);
}

Fusions("a scale and shift before a 1×1 Conv fold exactly; before a padding Conv a shared shift becomes a Pad of −shift, exactly", async () => {
  const plain = shiftedConv(1, 0);
  const a = await fuse(plain);
  assert.equal(opCounts(plain), { HardSigmoid: 1, Conv: 1 });
  assert.ok(a.drift < 1e-5, `1×1: drift ${a.drift}`);

  const padded = shiftedConv(3, 1);
  const b = await fuse(padded);
  assert.equal(opCounts(padded), { HardSigmoid: 1, Pad: 1, Conv: 1 });
  assert.is(b.report.details?.shiftPads, 1);
  assert.match(b.report.summary, "affine-before 1 (1 shift as Pad)");
  const g = padded.graph, pad = g.nodes.find((n) => n.opType === "Pad")!, conv = g.nodes.find((n) => n.opType === "Conv")!;
  assert.equal(Array.from(g.constant(pad.inputs[1])!.toFloat64()), [0, 0, 1, 1, 0, 0, 1, 1]);
  assert.ok(Math.abs(g.constant(pad.inputs[2])!.toFloat64()[0] + 0.3 / 0.4) < 1e-6, "fill −d/c");
  assert.equal(conv.attrInts("pads", []), [0, 0, 0, 0]);
  assert.is(conv.inputs[0], pad.outputs[0]);
  assert.ok(b.drift < 1e-5, `3×3: drift ${b.drift}`);
});

Fusions("before a padding Conv the shift stays one Add when channels shift differently or the target runs no Pad", async () => {
  const perChannel = shiftedConv(3, 1, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  const a = await fuse(perChannel);
  assert.equal(opCounts(perChannel), { HardSigmoid: 1, Add: 1, Conv: 1 });
  assert.ok(a.drift < 1e-5, `per channel: drift ${a.drift}`);

  const base = loadTarget("cpu-mixed");
  const noPad = { ...base, ops: Object.fromEntries(Object.entries(base.ops).filter(([op]) => op !== "Pad")) };
  const m = shiftedConv(3, 1);
  const b = await fuse(m, contextFor(noPad));
  assert.equal(opCounts(m), { HardSigmoid: 1, Add: 1, Conv: 1 });
  assert.ok(b.drift < 1e-5, `no Pad: drift ${b.drift}`);
});

Fusions("a Conv output another node also reads is not scaled; a chain stops where its value fans out", async () => {
  const b = new Builder();
  b.input("x", [1, 8, 6, 6]);
  const y = b.node("Conv", ["x", b.weight("w", [8, 8, 1, 1]), b.weight("bias", [8])], "y", { kernel_shape: ints([1, 1]) });
  const s = b.node("Mul", [y, b.scalar("a", 0.5)], "s");
  const r = b.node("Relu", [y], "r");
  const z = b.node("Conv", [r, b.weight("w2", [8, 8, 1, 1]), b.weight("bias2", [8])], "z", { kernel_shape: ints([1, 1]) });
  const t = b.node("Mul", [z, b.scalar("c", 2)], "t");
  const u = b.node("Add", [t, b.scalar("d", 1)], "u");
  const m = b.model([s, u, b.node("Relu", [t], "v")]);
  const { drift } = await fuse(m);
  assert.equal(opCounts(m), { Conv: 2, Mul: 1, Relu: 2, Add: 1 }, "y's Mul stays; z's Mul folds, the Add after the fan-out stays");
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

Fusions("Mul by 1 and Add of 0 go; x·1.5 stays", async () => {
  const b = new Builder();
  b.input("x", [1, 8, 6, 6]);
  const s = b.node("Sigmoid", ["x"], "s");
  const one = b.node("Mul", [s, b.scalar("one", 1)], "one_out");
  const zero = b.node("Add", [b.scalar("z", 0), one], "zero_out");
  const m = b.model([b.node("Mul", [zero, b.scalar("k", 1.5)], "out")]);
  const { drift } = await fuse(m);
  assert.equal(opCounts(m), { Sigmoid: 1, Mul: 1 });
  assert.ok(drift === 0, `drift ${drift}`);
});

Fusions.run();
