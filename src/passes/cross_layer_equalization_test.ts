// Cross-layer equalization: pairs are equalized (equal ranges after), triples
// converge, Clip with a finite bound is refused, and with per-tensor weights
// a layer before a nonlinearity is rescaled with an exact Mul after it.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Model } from "../ir/model.ts";
import { randomInput } from "../quantize/_testing.ts";
import { Builder, float, int, ints } from "../quantize/_testing_graphs.ts";
import { inputRanges, linearOf, outputRanges } from "./_linear.ts";
import { contextFor, opCounts, outputDrift, snapshot } from "./_testing.ts";
import { crossLayerEqualization } from "./cross_layer_equalization.ts";
import type { PassContext, PassReport } from "./types.ts";

const Cle = suite("cross-layer equalization");

const noStats = () => {
  throw new Error("CLE reads no statistics");
};

async function equalize(model: Model, ctx: PassContext = contextFor("cpu-mixed")): Promise<{ report: PassReport; drift: number }> {
  const before = snapshot(model);
  const report = await crossLayerEqualization.apply(model, noStats, ctx);
  const feeds = [1, 2].map((s) => ({ x: randomInput([1, 4, 6, 6], s, -2, 2) }));
  return { report, drift: await outputDrift(before, model, feeds) };
}

/** x[1,4,6,6] → Conv(4→8) → act → Conv(8→4 or depthwise) → … with channels of very different ranges. */
function chain(acts: (string | [string, number, number])[], depthwiseMiddle = false): Model {
  const b = new Builder();
  b.input("x", [1, 4, 6, 6]);
  const skewed = (name: string, dims: number[]) => {
    const w = b.g.constant(b.weight(name, dims))!.toFloat32();
    const per = w.length / dims[0];
    // Output channel o scaled by 4^(o mod 4): ranges spread 64×.
    for (let i = 0; i < w.length; i++) w[i] *= 4 ** (Math.floor(i / per) % 4);
    b.g.constant(name)!.bytes.set(new Uint8Array(w.buffer));
    return name;
  };
  let v = b.node("Conv", ["x", skewed("w1", [8, 4, 1, 1]), b.weight("b1", [8])], "c1", { kernel_shape: ints([1, 1]) });
  const layers = depthwiseMiddle
    ? [{ w: [8, 1, 3, 3], group: 8, k: 3 }, { w: [4, 8, 1, 1], group: 1, k: 1 }]
    : [{ w: [4, 8, 1, 1], group: 1, k: 1 }];
  layers.forEach((l, i) => {
    const act = acts[i];
    if (act) {
      const [op, lo, hi] = typeof act === "string" ? [act] : act;
      if (op === "Clip") v = b.node("Clip", [v, b.scalar(`lo${i}`, lo!), b.scalar(`hi${i}`, hi!)], `a${i}`);
      else if (op === "PRelu") v = b.node("PRelu", [v, b.weight(`slope${i}`, [8, 1, 1], 0.3)], `a${i}`);
      else if (op === "LeakyRelu") v = b.node("LeakyRelu", [v], `a${i}`, { alpha: float(0.1) });
      else v = b.node(op, [v], `a${i}`);
    }
    const pad = (l.k - 1) / 2;
    v = b.node("Conv", [v, skewed(`w${i + 2}`, l.w), b.weight(`b${i + 2}`, [l.w[0]])], `c${i + 2}`, {
      kernel_shape: ints([l.k, l.k]),
      pads: ints([pad, pad, pad, pad]),
      group: int(l.group),
    });
  });
  return b.model([v]);
}

for (const act of ["Relu", "LeakyRelu", "PRelu", ["Clip", 0, Infinity] as [string, number, number], ""]) {
  const label = Array.isArray(act) ? "Clip(0, ∞)" : act || "nothing";
  Cle(`Conv → ${label} → Conv: both sides of every channel end with the same range, function kept`, async () => {
    const m = chain([act]);
    const { report, drift } = await equalize(m);
    assert.is((report.details!.pairs as unknown[]).length, 1);
    const g = m.graph;
    const r1 = outputRanges(g, linearOf(g, g.nodes.find((n) => n.name.endsWith("c1"))!)!);
    const r2 = inputRanges(g, linearOf(g, g.nodes.find((n) => n.name.endsWith("c2"))!)!);
    for (let i = 0; i < r1.length; i++) assert.ok(Math.abs(r1[i] / r2[i] - 1) < 1e-5, `channel ${i}: ${r1[i]} vs ${r2[i]}`);
    assert.ok(drift < 1e-5, `drift ${drift}`);
  });
}

Cle("Conv → Clip(0, 6) → Conv is left alone, with the reason", async () => {
  const m = chain([["Clip", 0, 6]]);
  const before = snapshot(m);
  const { report } = await equalize(m);
  assert.is((report.details!.pairs as unknown[]).length, 0);
  assert.match(JSON.stringify(report.details!.refused), /finite bound/);
  for (const [name, t] of before.graph.initializers) assert.equal(m.graph.constant(name)!.bytes, t.bytes, `${name} unchanged`);
});

Cle("Conv → Relu → depthwise → Relu → Conv converges to DFQ's closed form (three equal ranges per channel)", async () => {
  const m = chain(["Relu", "Relu"], true);
  const { report, drift } = await equalize(m, contextFor("cpu-mixed", { settings: { cleIterations: 200 } }));
  assert.is((report.details!.pairs as unknown[]).length, 2);
  const g = m.graph;
  const [c1, c2, c3] = ["c1", "c2", "c3"].map((n) => linearOf(g, g.nodes.find((x) => x.outputs[0] === n)!)!);
  const r1 = outputRanges(g, c1), r2 = outputRanges(g, c2), r3 = inputRanges(g, c3);
  for (let i = 0; i < 8; i++) {
    assert.ok(Math.abs(r1[i] / r2[i] - 1) < 1e-2 && Math.abs(r2[i] / r3[i] - 1) < 1e-2, `channel ${i}: ${r1[i]} ${r2[i]} ${r3[i]}`);
  }
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

Cle("with per-tensor weights, a Conv before HardSwish gets equal channel ranges and an exactly representable Mul after it", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 6, 6]);
  const w = b.weight("w", [8, 4, 1, 1]);
  const t = b.g.constant(w)!.toFloat32();
  for (let i = 0; i < t.length; i++) t[i] *= 1 + 15 * (Math.floor(i / 4) % 2);
  b.g.constant(w)!.bytes.set(new Uint8Array(t.buffer));
  const c = b.node("Conv", ["x", w, b.weight("bias", [8])], "c", { kernel_shape: ints([1, 1]) });
  const m = b.model([b.node("HardSwish", [c], "y")], 14);
  // A limit above the spread here: every channel reaches the top range.
  const ctx = contextFor("npu-int8-only", { perChannel: false, settings: { cleRescaleLimit: 1000 } });
  const { report, drift } = await equalize(m, ctx);
  assert.equal(opCounts(m), { Conv: 1, Mul: 1, HardSwish: 1 });
  assert.is((report.details!.rescaled as unknown[]).length, 1);
  const g = m.graph;
  const ranges = outputRanges(g, linearOf(g, g.nodes[0])!);
  assert.ok(Math.max(...ranges) / Math.min(...ranges) < 1.05, `ranges ${[...ranges]}`);
  const mul = g.nodes.find((n) => n.opType === "Mul")!;
  const factors = g.constant(mul.inputs[1])!.toFloat32();
  assert.equal([...ctx.constants!(factors)], [...factors], "the Mul's factors survive their own quantization unchanged");
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

Cle("the rescale limit caps how far a channel is scaled up", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 6, 6]);
  const w = b.init("w", [2, 4, 1, 1], new Float32Array([1, -1, 0.5, 0.25, 0.01, 0.005, -0.01, 0]));
  const c = b.node("Conv", ["x", w, b.weight("bias", [2])], "c", { kernel_shape: ints([1, 1]) });
  const m = b.model([b.node("HardSwish", [c], "y")], 14);
  const { drift } = await equalize(m, contextFor("npu-int8-only", { perChannel: false, settings: { cleRescaleLimit: 16 } }));
  const g = m.graph;
  const [big, small] = outputRanges(g, linearOf(g, g.nodes[0])!);
  assert.ok(Math.abs(big / small / (100 / 16) - 1) < 0.05, `ratio ${big / small}, want ${100 / 16}`);
  assert.ok(drift < 1e-5, `drift ${drift}`);
});

Cle("with per-channel weights nothing is rescaled (a Mul would only add a rounding)", async () => {
  const b = new Builder();
  b.input("x", [1, 4, 6, 6]);
  const c = b.node("Conv", ["x", b.weight("w", [8, 4, 1, 1]), b.weight("bias", [8])], "c", { kernel_shape: ints([1, 1]) });
  const m = b.model([b.node("HardSwish", [c], "y")], 14);
  await equalize(m, contextFor("npu-int8-only"));
  assert.equal(opCounts(m), { Conv: 1, HardSwish: 1 });
});

Cle.run();
