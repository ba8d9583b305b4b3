/**
 * Constant tensors to integers: int8 weights (per tensor or per channel),
 * int32 biases (saturated, never wrapped) and activation-typed constants.
 * Pure functions on typed arrays; all arithmetic in float64.
 *
 * @module
 */
import { clamp, MIN_SCALE, powerOfTwoAtLeast, type QRange, roundHalfEven, type ScaleZeroPoint } from "./params.ts";

/** Result of {@linkcode quantizeWeight}. */
export interface QuantizedWeight {
  values: Int8Array;
  /** One scale (per tensor) or one per channel along the axis (float32 values). */
  scale: Float32Array;
  /** Channels whose weights are all zero (scale 1). */
  zeroChannels: number[];
  /** Channels with 0 < max |w| but a scale below {@linkcode MIN_SCALE} (denormal weights): scale 1, all quantized to 0. */
  tinyChannels: number[];
  /** Channels whose scale was raised to `minScale` (the bias-overflow guard). */
  raisedChannels: number[];
}

/** Where a weight's channels are and how it is quantized. */
export interface WeightLayout {
  /** Per-channel axis; `undefined` for one scale for the whole tensor. */
  axis?: number;
  q: QRange;
  /** Round each scale up to a power of two. Default `false`. */
  powerOfTwo?: boolean;
  /**
   * Smallest scale allowed per channel (one value, or one per channel), e.g.
   * so that a bias fits int32. Applied before power-of-two rounding. Default none.
   */
  minScale?: Float64Array;
}

/**
 * Symmetric int8 quantization of a weight: scale = max |w| / qmax per
 * channel (or for the tensor; rounded up to a power of two when asked),
 * zero point 0, q = round(w / scale) clamped to `q`. Channels without a usable scale get scale 1 and are reported.
 *
 * @example
 * ```ts
 * // Channel 0: max |w| = 127/64, so scale = 1/64 exactly.
 * const w = quantizeWeight(new Float32Array([127 / 64, 0.5, 0, 0]), [2, 2], { axis: 0, q: { qmin: -127, qmax: 127 } });
 * w.values; // Int8Array [127, 32, 0, 0]
 * w.scale; // Float32Array [0.015625, 1]
 * w.zeroChannels; // [1]
 * ```
 */
export function quantizeWeight(data: Float32Array, dims: readonly number[], layout: WeightLayout): QuantizedWeight {
  const { axis, q } = layout;
  const channels = axis === undefined ? 1 : dims[axis];
  const inner = axis === undefined ? data.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  // Elements come in blocks of `inner`, one channel per block, channels cycling.
  const blocks = channels * inner === 0 ? 0 : data.length / inner;
  const maxAbs = new Float64Array(channels);
  // A wrapping channel counter, not `blk % channels`: MatMul weights have
  // blocks of one element, where an integer division per element dominated.
  for (let blk = 0, i = 0, c = 0; blk < blocks; blk++, c = c + 1 === channels ? 0 : c + 1) {
    let m = maxAbs[c];
    for (const end = i + inner; i < end; i++) {
      const a = Math.abs(data[i]);
      if (!(a <= Infinity)) throw new RangeError(`weight element ${i} is ${data[i]}`);
      if (a > m) m = a;
    }
    if (m === Infinity) throw new RangeError(`weight channel ${c} has an infinite element`);
    maxAbs[c] = m;
  }
  const scale = new Float32Array(channels);
  const zeroChannels: number[] = [];
  const tinyChannels: number[] = [];
  const raisedChannels: number[] = [];
  const floor = layout.minScale;
  maxAbs.forEach((m, c) => {
    if (m === 0) zeroChannels.push(c);
    else if (m / q.qmax < MIN_SCALE) tinyChannels.push(c);
    const f = floor ? floor[floor.length === 1 ? 0 : c] : 0;
    if (f > m / q.qmax && f >= MIN_SCALE) raisedChannels.push(c);
    let s = Math.max(m / q.qmax, f);
    if (s < MIN_SCALE) s = 1;
    scale[c] = layout.powerOfTwo ? powerOfTwoAtLeast(s) : s;
  });
  const values = new Int8Array(data.length);
  const { qmin, qmax } = q;
  for (let blk = 0, i = 0, c = 0; blk < blocks; blk++, c = c + 1 === channels ? 0 : c + 1) {
    const s = scale[c];
    for (const end = i + inner; i < end; i++) {
      // Adding and subtracting 1.5·2^52 rounds half to even in float64 for
      // |x| < 2^51 — here |x| ≤ qmax, since s ≥ max|w| / qmax — and runs ~3×
      // faster than Math.round with a parity fix; this loop sees every weight.
      const r = data[i] / s + ROUND - ROUND;
      values[i] = r < qmin ? qmin : r > qmax ? qmax : r;
    }
  }
  return { values, scale, zeroChannels, tinyChannels, raisedChannels };
}

const ROUND = 6755399441055744; // 1.5 × 2^52

/** Result of {@linkcode quantizeBias}. */
export interface QuantizedBias {
  values: Int32Array;
  /** One scale per bias element, or a single one when every element shares it. */
  scale: Float32Array;
  /** Elements whose quotient did not fit int32 and were clamped. */
  saturated: number;
  /** Whether some scale underflows float32 (the bias should stay float). */
  underflow: boolean;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const FLOAT32_MIN_NORMAL = 2 ** -126;

/**
 * int32 bias: scale_c = fround(multiplier × inputScale × weightScale_c),
 * zero point 0, q = round(b / scale_c) saturated to int32. Bias element c
 * uses weight scale `c % weightScale.length`, which covers per-tensor (one
 * scale), per-channel, and grouped ConvTranspose (scales repeat per group).
 *
 * @example
 * ```ts
 * quantizeBias(new Float32Array([1, -1]), 0.5, new Float32Array([0.25, 0.5])).values; // Int32Array [8, -4]
 * ```
 */
export function quantizeBias(
  data: Float32Array,
  inputScale: number,
  weightScale: Float32Array,
  multiplier = 1,
): QuantizedBias {
  const perElement = weightScale.length > 1;
  const scale = new Float32Array(perElement ? data.length : 1);
  let underflow = false;
  for (let c = 0; c < scale.length; c++) {
    scale[c] = multiplier * inputScale * weightScale[c % weightScale.length];
    if (!(scale[c] >= FLOAT32_MIN_NORMAL) || !Number.isFinite(scale[c])) underflow = true;
  }
  const values = new Int32Array(data.length);
  let saturated = 0;
  for (let i = 0; i < data.length; i++) {
    const s = scale[perElement ? i : 0];
    const v = s > 0 ? roundHalfEven(data[i] / s) : 0;
    if (v < INT32_MIN || v > INT32_MAX || Number.isNaN(v)) saturated++;
    values[i] = Number.isNaN(v) ? 0 : clamp(v, INT32_MIN, INT32_MAX);
  }
  return { values, scale, saturated, underflow };
}

/**
 * `data` quantized with one scale and zero point, clamped to `q`, as int8 or uint8.
 *
 * @example
 * ```ts
 * quantizeValues(new Float32Array([0, 0.5, 1]), { scale: 1 / 255, zeroPoint: 0 }, { qmin: 0, qmax: 255 }); // Uint8Array [0, 128, 255]
 * ```
 */
export function quantizeValues(data: Float32Array, p: ScaleZeroPoint, q: QRange): Int8Array | Uint8Array {
  const out = q.qmin < 0 ? new Int8Array(data.length) : new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = clamp(roundHalfEven(data[i] / p.scale) + p.zeroPoint, q.qmin, q.qmax);
  return out;
}

/**
 * Smallest and largest element (0 and 0 for an empty array); throws on NaN/Inf.
 *
 * @example
 * ```ts
 * minMax(new Float32Array([3, -1, 2])); // { min: -1, max: 3 }
 * ```
 */
export function minMax(data: Float32Array): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (!Number.isFinite(x)) throw new RangeError(`element ${i} is ${x}`);
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return data.length ? { min, max } : { min: 0, max: 0 };
}
