// GPTQ: the Gram matrices ONNX Runtime sums are the im2col ones; the
// factorization and the rounding are right; in the pipeline, QDQ insertion
// writes exactly the integers GPTQ chose and the model's output error falls.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { collectGrams, type GramRequest } from "../calibrate/gram.ts";
import { memoryDataset } from "../calibrate/_testing.ts";
import type { Model } from "../ir/model.ts";
import { cloneModel } from "../ir/clone.ts";
import { randomInput, runModel } from "../quantize/_testing.ts";
import { Builder, int, ints } from "../quantize/_testing_graphs.ts";
import { quantizeModel } from "../quantize/pipeline.ts";
import { quantizeOptionsFor } from "../quantize/target_options.ts";
import type { TensorValue } from "../runtime/types.ts";
import { loadTarget } from "../targets/load.ts";
import { inverseCholeskyUpper, outputError, roundOptimally } from "./gptq.ts";

const G = suite("gptq");

let seed = 7;
const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;

/** H = Σ x·xᵀ of `n` correlated random vectors of length k. */
function gram(k: number, n: number): Float64Array {
  const h = new Float64Array(k * k);
  for (let s = 0; s < n; s++) {
    const x = Array.from({ length: k }, rnd);
    for (let i = 1; i < k; i++) x[i] += 0.9 * x[i - 1];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) h[i * k + j] += x[i] * x[j];
  }
  return h;
}

G("inverseCholeskyUpper: Uᵀ·U is H⁻¹ and U is upper triangular", () => {
  const k = 24, h = gram(k, 100);
  const u = inverseCholeskyUpper(h, k)!;
  let worst = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) assert.is(u[i * k + j], 0);
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let a = 0; a < k; a++) {
        let hinv = 0;
        for (let b = 0; b < k; b++) hinv += u[b * k + a] * u[b * k + j];
        s += h[i * k + a] * hinv;
      }
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  assert.ok(worst < 1e-9, `|H·Uᵀ·U − I| = ${worst}`);
  assert.is(inverseCholeskyUpper(new Float64Array([1, 2, 2, 1]), 2), undefined, "indefinite H has no factor");
});

G("roundOptimally: on the grid, in range, and less output error than rounding to nearest", () => {
  const k = 32, r = 6, h = gram(k, 400);
  const w = Float64Array.from({ length: r * k }, rnd);
  const scales = Float64Array.from({ length: r }, (_, i) => 0.01 * (i + 1));
  const range = { qmin: -127, qmax: 127 };
  const q = roundOptimally(w, h, r, k, scales, range)!;
  for (let i = 0; i < q.length; i++) {
    const n = q[i] / scales[Math.floor(i / k)];
    assert.ok(Math.abs(n - Math.round(n)) < 1e-9 && n >= -127 && n <= 127, `element ${i}: ${n} is not an int8 step`);
  }
  const rtn = w.map((x, i) => Math.round(x / scales[Math.floor(i / k)]) * scales[Math.floor(i / k)]);
  const ratio = outputError(w, q, h, r, k) / outputError(w, rtn, h, r, k);
  assert.ok(ratio < 0.8, `GPTQ / nearest output error ${ratio}`);
});

/** x → 3×3 Conv (stride 2, pads 1, 2 groups) → y, and x's rows → MatMul. */
function gramModel(): Model {
  const b = new Builder();
  b.input("x", [1, 4, 5, 6]);
  const y = b.node("Conv", ["x", b.weight("w", [6, 2, 3, 3], 0.5)], "y", {
    kernel_shape: ints([3, 3]),
    strides: ints([2, 2]),
    pads: ints([1, 1, 1, 1]),
    group: int(2),
  });
  const z = b.node("MatMul", ["x", b.weight("m", [6, 3], 0.5)], "z");
  return b.model([y, z]);
}

G("collectGrams: sums of im2col (Conv) and row (MatMul) outer products, per group, block and fold", async () => {
  const m = gramModel();
  const samples = Array.from({ length: 3 }, (_, i) => randomInput([1, 4, 5, 6], 90 + i) as TensorValue<"float32">);
  const requests: GramRequest[] = [
    { kind: "conv", value: "x", channels: 4, group: 2, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] },
    { kind: "rows", value: "x", columns: 6, blocks: 2 },
  ];
  const [conv, rows] = await collectGrams(m, memoryDataset("x", samples), requests, 3, { folds: 2 });
  // Expected, in JavaScript: fold 0 holds samples 0 and 2, fold 1 sample 1.
  const convExpected = [new Float64Array(2 * 18 * 18), new Float64Array(2 * 18 * 18)];
  const rowsExpected = [new Float64Array(2 * 3 * 3), new Float64Array(2 * 3 * 3)];
  samples.forEach((s, n) => {
    const x = (c: number, i: number, j: number) => (i < 0 || j < 0 || i >= 5 || j >= 6 ? 0 : s.data[(c * 5 + i) * 6 + j]);
    const f = n % 2;
    for (let oi = 0; oi < 3; oi++) {
      for (let oj = 0; oj < 3; oj++) {
        for (let g = 0; g < 2; g++) {
          const col = Array.from({ length: 18 }, (_, k) => x(g * 2 + Math.floor(k / 9), oi * 2 - 1 + Math.floor((k % 9) / 3), oj * 2 - 1 + (k % 3)));
          for (let a = 0; a < 18; a++) for (let b = 0; b < 18; b++) convExpected[f][g * 324 + a * 18 + b] += col[a] * col[b];
        }
      }
    }
    for (let row = 0; row < 20; row++) {
      const v = Array.from({ length: 6 }, (_, k) => s.data[row * 6 + k]);
      for (let blk = 0; blk < 2; blk++) {
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) rowsExpected[f][blk * 9 + a * 3 + b] += v[blk * 3 + a] * v[blk * 3 + b];
      }
    }
  });
  const close = (got: Float64Array, want: Float64Array, what: string) => {
    assert.is(got.length, want.length, what);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])), `${what}[${i}]: ${got[i]} ≠ ${want[i]}`);
  };
  close(conv.folds[0], convExpected[0], "conv fold 0");
  close(conv.folds[1], convExpected[1], "conv fold 1");
  close(rows.folds[0], rowsExpected[0], "rows fold 0");
  close(rows.folds[1], rowsExpected[1], "rows fold 1");
  assert.equal(conv.counts, [18, 9]);
  assert.equal(rows.counts, [40, 20]);
});

/** x → 3×3 Conv(8→8) with one weight 30× the others (its per-tensor scale rounds the rest coarsely) → Relu → Conv 1×1. */
function convModel(): Model {
  const b = new Builder();
  b.input("x", [1, 8, 8, 8]);
  const w = b.weight("w1", [8, 8, 3, 3], 0.2);
  const t = b.g.constant(w)!.toFloat32();
  t[0] = 6;
  b.g.constant(w)!.bytes.set(new Uint8Array(t.buffer));
  const y = b.node("Conv", ["x", w, b.weight("b1", [8], 0.1)], "y", { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) });
  const r = b.node("Relu", [y], "r");
  const z = b.node("Conv", [r, b.weight("w2", [4, 8, 1, 1], 0.5), b.weight("b2", [4], 0.1)], "z", { kernel_shape: ints([1, 1]) });
  return b.model([z, y]);
}

/** Smooth inputs (neighbouring pixels correlate, as in images), so H is far from diagonal. */
function smoothInput(s: number): TensorValue<"float32"> {
  const x = randomInput([1, 8, 8, 8], s) as TensorValue<"float32">;
  const d = x.data;
  for (let c = 0; c < 8; c++) for (let i = 0; i < 8; i++) for (let j = 1; j < 8; j++) d[(c * 8 + i) * 8 + j] = 0.3 * d[(c * 8 + i) * 8 + j] + 0.7 * d[(c * 8 + i) * 8 + j - 1];
  return x;
}

/** SQNR of the first Conv's output channels 1…7 (channel 0 holds the large weight). */
async function sqnr(fp32: Model, q: Model, feeds: TensorValue<"float32">[]): Promise<number> {
  const a = await runModel(fp32, feeds.map((x) => ({ x })));
  const b = await runModel(q, feeds.map((x) => ({ x })));
  let s = 0, e = 0;
  a.forEach((o, i) => {
    const u = o.y.data as Float32Array, v = b[i].y.data as Float32Array;
    for (let k = 64; k < u.length; k++) {
      s += u[k] * u[k];
      e += (u[k] - v[k]) ** 2;
    }
  });
  return 10 * Math.log10(s / e);
}

G("pipeline: QDQ writes GPTQ's integers on its scales, and held-out output SQNR rises (per-tensor weights)", async () => {
  const profile = loadTarget("npu-int8-only");
  const { options, passes } = quantizeOptionsFor(profile, { perChannel: false });
  const calib = memoryDataset("x", Array.from({ length: 16 }, (_, i) => smoothInput(200 + i)));
  const held = Array.from({ length: 16 }, (_, i) => smoothInput(500 + i));
  const fp32 = convModel();
  const plain = cloneModel(fp32), rounded = cloneModel(fp32);
  const base = passes.filter((p) => p !== "cross-layer-equalization" && p !== "bias-correction");
  await quantizeModel(plain, calib, { ...options, profile, passes: base });
  const r = await quantizeModel(rounded, calib, { ...options, profile, passes: [...base, "gptq"] });
  const report = r.passes.find((p) => p.pass === "gptq")!;
  assert.equal(r.passes.find((p) => p.pass === "bias-overflow-guard")!.nodes, [], "a pinned scale is not a guard raise");
  assert.ok(report.nodes.includes("Conv_y"), `rounded: ${report.nodes.join(", ")}`);
  assert.ok((report.details!.errorRatio as number) < 1, report.summary);
  // The weights QDQ stores differ from plain rounding's, on the same scale.
  const weightOf = (m: Model, name: string) => {
    const g = m.graph;
    const dq = g.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0].startsWith(name))!;
    return { q: g.constant(dq.inputs[0])!, scale: g.constant(dq.inputs[1])!.toFloat32() };
  };
  const a = weightOf(plain, "w1"), b = weightOf(rounded, "w1");
  assert.equal([...b.scale], [...a.scale], "same per-tensor scale");
  assert.not.equal([...b.q.bytes], [...a.q.bytes], "GPTQ changed some integers");
  const gain = (await sqnr(fp32, rounded, held)) - (await sqnr(fp32, plain, held));
  assert.ok(gain > 1, `SQNR gain ${gain.toFixed(2)} dB`);
});

G("a layer that sees fewer calibration vectors than it has inputs keeps round-to-nearest (its H is singular: GPTQ would fit the samples)", async () => {
  // A wake-word head's shape: one 64-input vector per sample, 8 samples (4 per fold).
  const b = new Builder();
  b.input("x", [1, 64]);
  const y = b.node("Gemm", ["x", b.weight("w", [16, 64], 1), b.weight("b", [16], 0.1)], "y", { transB: int(1) });
  const fp32 = b.model([b.node("Relu", [y], "out")]);
  const profile = loadTarget("npu-int8-only");
  const { options, passes } = quantizeOptionsFor(profile);
  const calib = memoryDataset("x", Array.from({ length: 8 }, (_, i) => randomInput([1, 64], 700 + i) as TensorValue<"float32">));
  const plain = cloneModel(fp32), rounded = cloneModel(fp32);
  await quantizeModel(plain, calib, { ...options, profile, passes });
  const r = await quantizeModel(rounded, calib, { ...options, profile, passes: [...passes, "gptq"] });
  const report = r.passes.find((p) => p.pass === "gptq")!;
  assert.equal(report.nodes, []);
  assert.equal((report.details as { thin: string[] }).thin, [fp32.graph.nodes[0].label]);
  assert.match(report.summary, /1 kept round-to-nearest \(fewer calibration vectors than inputs\)/);
  const w = (m: Model) => m.graph.constant(m.graph.nodes.find((n) => n.opType === "DequantizeLinear" && n.inputs[0].startsWith("w"))!.inputs[0])!.bytes;
  assert.equal([...w(rounded)], [...w(plain)], "the integers are round-to-nearest's");
});

G("a target can forbid gptq, and built-in profiles allow it, off by default", () => {
  const npu = loadTarget("npu-int8-only");
  assert.equal(npu.passes.gptq, { allowed: true, default: false });
  assert.not.ok(quantizeOptionsFor(npu).passes.includes("gptq"));
  assert.ok(quantizeOptionsFor(npu, { passes: { gptq: true } }).passes.includes("gptq"));
  const forbidding = { ...npu, name: "no-gptq", passes: { ...npu.passes, gptq: { allowed: false, default: false } } };
  assert.throws(() => quantizeOptionsFor(forbidding, { passes: { gptq: true } }), /Target "no-gptq" forbids the gptq pass \(passes.gptq.allowed is false\)/);
});

G.run();
