/**
 * Blended ranges: the MSE range pulled toward the percentile range, side by
 * side, to their geometric mean.
 *
 * MSE's clipping point is the best for the histogram it sees, and it moves
 * with whatever tail the calibration samples happened to hold; the
 * percentile bound (99.999 %) keeps nearly every value and moves less. On
 * the PaddleOCR recognizer, calibrated on six disjoint draws of 64 lines and
 * measured on two held-out splits (other fonts and corpus, two seeds), MSE
 * had one draw that lost 6–7 points on both and the blend's worst lost 4;
 * but the blend's typical draw is worse, so MSE stays the default
 * (bench/range_stability.ts).
 *
 * @module
 */
import type { Histogram } from "./histogram.ts";
import { mseRange, type MseOptions } from "./mse.ts";
import { percentileRange } from "./percentile.ts";
import type { Range } from "./types.ts";

/**
 * The geometric mean of `mseRange` and `percentileRange` per side: each
 * bound's magnitude is √(|a|·|b|), its sign the one they share (a side
 * where either is 0 stays 0, as both ranges contain 0).
 *
 * @example
 * ```ts
 * const h = new Histogram({ symmetric: false });
 * h.observe(activations);
 * blendRange(h, 99.999); // between mseRange(h) and percentileRange(h, 99.999)
 * ```
 */
export function blendRange(h: Histogram, percentile: number, opts: Partial<MseOptions> = {}): Range {
  const m = mseRange(h, opts);
  const p = percentileRange(h, percentile);
  const mean = (a: number, b: number) => (a * b > 0 ? Math.sign(a) * Math.sqrt(a * b) : 0);
  return { min: mean(m.min, p.min), max: mean(m.max, p.max) };
}
