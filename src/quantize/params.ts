/**
 * Scale and zero-point math, in float64, following ONNX Runtime's
 * conventions (`get_qmin_qmax_for_qType`, `compute_scale_zp`): the range
 * always contains 0, scales are stored as float32, ties round to even.
 *
 * @module
 */
import type { Range } from "../calibrate/types.ts";
import type { ActivationStorage, ActivationType } from "./types.ts";

/** The integer interval a quantized tensor uses. */
export interface QRange {
  qmin: number;
  qmax: number;
}

/** Scale and zero point of one tensor or channel. */
export interface ScaleZeroPoint {
  /** Already rounded to float32, so it is exactly what the model stores. */
  scale: number;
  zeroPoint: number;
}

/**
 * Scales below this are treated as "no range" (scale 1): a zero channel, a
 * constant tensor, or weights so small (denormal float32, ~1e-40) that the
 * scale, or the bias scale built from it, would underflow float32.
 */
export const MIN_SCALE = 1e-30;

/**
 * Integer interval of activations: uint8 [0, 255]; int8 [-128, 127], or
 * [-127, 127] when symmetric (so the zero point is exactly 0); the 16-bit
 * types likewise.
 *
 * @example
 * ```ts
 * activationQRange("uint8", false); // { qmin: 0, qmax: 255 }
 * activationQRange("int8", true); // { qmin: -127, qmax: 127 }
 * ```
 */
export function activationQRange(type: ActivationStorage, symmetric: boolean): QRange {
  if (type === "uint8") return { qmin: 0, qmax: 255 };
  if (type === "uint16") return { qmin: 0, qmax: 65535 };
  if (type === "int16") return symmetric ? { qmin: -32767, qmax: 32767 } : { qmin: -32768, qmax: 32767 };
  return symmetric ? { qmin: -127, qmax: 127 } : { qmin: -128, qmax: 127 };
}

/**
 * The 16-bit sibling of an 8-bit activation type.
 *
 * @example
 * ```ts
 * wideType("uint8"); // "uint16"
 * ```
 */
export function wideType(type: ActivationType): "int16" | "uint16" {
  return type === "int8" ? "int16" : "uint16";
}

/**
 * Integer interval of int8 weights: symmetric narrow range [-127, 127], or
 * [-64, 64] with `reduceRange` (ORT's 7-bit weights).
 *
 * @example
 * ```ts
 * weightQRange(false); // { qmin: -127, qmax: 127 }
 * ```
 */
export function weightQRange(reduceRange: boolean): QRange {
  return reduceRange ? { qmin: -64, qmax: 64 } : { qmin: -127, qmax: 127 };
}

/**
 * Rounds to the nearest integer, ties to even (as numpy and QuantizeLinear do).
 *
 * @example
 * ```ts
 * roundHalfEven(2.5); // 2
 * roundHalfEven(3.5); // 4
 * ```
 */
export function roundHalfEven(x: number): number {
  // Math.round sends ties up (toward +inf); an odd result of a tie steps back.
  const r = Math.round(x);
  // `+ 0` turns -0 into 0.
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

/**
 * The smallest power of two at or above `scale` (exact in float32 for the
 * scales edgeq uses, 1e-30 and up): the range a scale covers only grows.
 *
 * @example
 * ```ts
 * powerOfTwoAtLeast(0.3); // 0.5
 * powerOfTwoAtLeast(0.25); // 0.25
 * ```
 */
export function powerOfTwoAtLeast(scale: number): number {
  let e = Math.ceil(Math.log2(scale));
  // log2 may be off by one ulp around exact powers.
  if (2 ** (e - 1) >= scale) e--;
  else if (2 ** e < scale) e++;
  return 2 ** e;
}

/**
 * Scale and zero point mapping `range` (widened to contain 0) onto `q`.
 * Symmetric ranges become [-m, m] with the zero point at the middle of `q`
 * (0 for [-127, 127], 128 for [0, 255]). A range too small for a scale of
 * at least {@linkcode MIN_SCALE} (e.g. [0, 0]) gets scale 1 and the zero point
 * that represents 0. With `powerOfTwo` the scale is rounded up to a power
 * of two before the zero point is chosen.
 *
 * @example
 * ```ts
 * scaleZeroPoint({ min: -1, max: 3 }, { qmin: 0, qmax: 255 }, false);
 * // { scale: Math.fround(4 / 255), zeroPoint: 64 }
 * ```
 */
export function scaleZeroPoint(range: Range, q: QRange, symmetric: boolean, powerOfTwo = false): ScaleZeroPoint {
  let rmin = Math.min(range.min, 0);
  let rmax = Math.max(range.max, 0);
  if (symmetric) {
    const m = Math.max(-rmin, rmax);
    rmin = -m;
    rmax = m;
  }
  let scale = (rmax - rmin) / (q.qmax - q.qmin);
  if (!(scale >= MIN_SCALE) || !Number.isFinite(scale)) {
    return { scale: 1, zeroPoint: clamp(0, q.qmin, q.qmax) };
  }
  if (powerOfTwo) scale = powerOfTwoAtLeast(scale);
  const zp = symmetric ? roundHalfEven((q.qmin + q.qmax) / 2) : roundHalfEven(q.qmin - rmin / scale);
  return { scale: Math.fround(scale), zeroPoint: clamp(zp, q.qmin, q.qmax) };
}

/**
 * Activation scale and zero point for a calibrated range.
 *
 * @example
 * ```ts
 * activationParams({ min: 0, max: 6 }, "uint8", false); // { scale: fround(6/255), zeroPoint: 0 }
 * ```
 */
export function activationParams(range: Range, type: ActivationStorage, symmetric: boolean, powerOfTwo = false): ScaleZeroPoint {
  return scaleZeroPoint(range, activationQRange(type, symmetric), symmetric, powerOfTwo);
}

/**
 * Fixed output parameters of Softmax (its output is in [0, 1]), as ORT's
 * QDQ quantizer sets them: uint8 1/256 at 0; int8 1/256 at -128, or 1/127
 * at 0 when symmetric. Power-of-two symmetric int8 takes 1/128 (fixed-point
 * Q0.7, as shift-only hardware does: 1.0 saturates to 127/128).
 *
 * @example
 * ```ts
 * softmaxParams("uint8", false); // { scale: 0.00390625, zeroPoint: 0 }
 * ```
 */
export function softmaxParams(type: ActivationStorage, symmetric: boolean, powerOfTwo = false): ScaleZeroPoint {
  if (type === "uint8") return { scale: 1 / 256, zeroPoint: 0 };
  if (type === "uint16") return { scale: 1 / 65536, zeroPoint: 0 };
  if (type === "int16") return symmetric ? { scale: powerOfTwo ? 1 / 32768 : Math.fround(1 / 32767), zeroPoint: 0 } : { scale: 1 / 65536, zeroPoint: -32768 };
  if (!symmetric) return { scale: 1 / 256, zeroPoint: -128 };
  return { scale: powerOfTwo ? 1 / 128 : Math.fround(1 / 127), zeroPoint: 0 };
}

/**
 * `x` limited to [lo, hi].
 *
 * @example
 * ```ts
 * clamp(5, 0, 3); // 3
 * ```
 */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
