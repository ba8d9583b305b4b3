import { suite } from "uvu";
import * as assert from "uvu/assert";
import { minMax, quantizeBias, quantizeValues, quantizeWeight } from "./quantize_tensor.ts";
import { weightQRange } from "./params.ts";

const T = suite("quantize tensors");
const Q = weightQRange(false);

// Channel maxima of 127/64 and 127/32 make the scales 1/64 and 1/32 exactly.
const W = new Float32Array([
  127 / 64, 0.5, -1 / 128, 3 / 128, // ch0: 127, 32, -0.5→0 (tie to even), 1.5→2
  0, 0, 0, 0, // ch1: all zero
  1e-40, -1e-40, 0, 0, // ch2: denormal
  -127 / 32, 1 / 64, 2, 0.75, // ch3: -127, 0.5→0, 64, 24
]);

T("per-channel int8 weights: hand-computed values, zero and denormal channels get scale 1", () => {
  const q = quantizeWeight(W, [4, 4], { axis: 0, q: Q });
  assert.equal(Array.from(q.scale), [1 / 64, 1, 1, 1 / 32]);
  assert.equal(Array.from(q.values), [127, 32, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, -127, 0, 64, 24]);
  assert.equal(q.zeroChannels, [1]);
  assert.equal(q.tinyChannels, [2]);
  assert.ok(q.scale.every((s) => Number.isFinite(s) && s > 0));
});

T("per-channel along axis 1 (ConvTranspose, Gemm without transB)", () => {
  // [2, 2]: column 0 = [1, -2], column 1 = [0.5, 0.25]
  const q = quantizeWeight(new Float32Array([1, 0.5, -2, 0.25]), [2, 2], { axis: 1, q: Q });
  assert.equal(Array.from(q.scale), [Math.fround(2 / 127), Math.fround(0.5 / 127)]);
  // 1 / fround(2/127) = 63.5000002 → 64 (the float32 scale is a hair below 2/127)
  assert.equal(Array.from(q.values), [64, 127, -127, 64]);
});

T("per-tensor and reduce-range weights use one scale: max |w| / 127 or / 64", () => {
  const t = quantizeWeight(W, [4, 4], { q: Q });
  assert.equal(Array.from(t.scale), [1 / 32]);
  assert.equal(t.values[0], 64); // (127/64) / (1/32) = 63.5 → 64
  const r = quantizeWeight(new Float32Array([2, -1, 0.5]), [3], { q: weightQRange(true) });
  assert.equal(Array.from(r.scale), [1 / 32]);
  assert.equal(Array.from(r.values), [64, -32, 16]);
});

T("non-finite weights are refused", () => {
  assert.throws(() => quantizeWeight(new Float32Array([1, NaN]), [2], { q: Q }), /NaN/);
});

T("int32 bias: scale = input × weight scale, saturated (never wrapped) and counted", () => {
  const b = quantizeBias(new Float32Array([1, -1]), 0.5, new Float32Array([0.25, 0.5]));
  assert.equal(Array.from(b.scale), [0.125, 0.25]);
  assert.equal(Array.from(b.values), [8, -4]);
  assert.is(b.saturated, 0);
  const s = quantizeBias(new Float32Array([1e10, -1e10, 1]), 2 ** -10, new Float32Array([2 ** -20]));
  assert.equal(Array.from(s.values), [2 ** 31 - 1, -(2 ** 31), 2 ** 30]);
  assert.is(s.saturated, 2);
  assert.is(s.scale.length, 1, "per-tensor weight: one bias scale");
});

T("int32 bias of a grouped ConvTranspose repeats the M/g weight scales per group; multiplier is Gemm's alpha", () => {
  const b = quantizeBias(new Float32Array([1, 1, 1, 1]), 1, new Float32Array([0.5, 0.25]), 2);
  assert.equal(Array.from(b.scale), [1, 0.5, 1, 0.5]);
  assert.equal(Array.from(b.values), [1, 2, 1, 2]);
});

T("bias scale that underflows float32 is flagged", () => {
  assert.ok(quantizeBias(new Float32Array([1]), 1e-30, new Float32Array([1e-30])).underflow);
  assert.not.ok(quantizeBias(new Float32Array([1]), 1e-3, new Float32Array([1e-3])).underflow);
});

T("activation-typed constants: q = round(x / s) + zp, clamped", () => {
  const u = quantizeValues(new Float32Array([-5, 0, 1.25, 200]), { scale: 0.5, zeroPoint: 10 }, { qmin: 0, qmax: 255 });
  assert.instance(u, Uint8Array);
  assert.equal(Array.from(u), [0, 10, 12, 255]);
  const i = quantizeValues(new Float32Array([-100, 0.75]), { scale: 0.5, zeroPoint: -128 }, { qmin: -128, qmax: 127 });
  assert.instance(i, Int8Array);
  assert.equal(Array.from(i), [-128, -126]);
  assert.equal(minMax(new Float32Array([3, -2, 5])), { min: -2, max: 5 });
  assert.throws(() => minMax(new Float32Array([1, Infinity])), /Infinity/);
});

T.run();
