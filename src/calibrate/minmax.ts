/**
 * The min/max observer: the running extremes of a value over all samples,
 * or their moving average.
 *
 * @module
 */
import type { Range } from "./types.ts";
import { scanFinite } from "./_scan.ts";

/**
 * Tracks the min and max of one value. With `movingAverage` c > 0 each
 * sample's extremes move the estimate by c of the way
 * (`min += c · (sampleMin − min)`, the first sample sets it), as ONNX
 * Runtime's MinMax calibrator does; with 0 it keeps the running extremes.
 * Non-finite values are skipped and counted.
 *
 * @example
 * ```ts
 * const mm = new MinMaxObserver();
 * mm.observe(new Float32Array([-1, 3]));
 * mm.observe(new Float32Array([2, 5]));
 * mm.range(); // { min: -1, max: 5 }
 * ```
 */
export class MinMaxObserver {
  /** Smallest value seen (or its moving average); `Infinity` before any finite value. */
  min = Infinity;
  /** Largest value seen (or its moving average); `-Infinity` before any finite value. */
  max = -Infinity;
  /** Samples that contributed a finite value. */
  samples = 0;
  /** NaN and ±Infinity values skipped (when ONNX Runtime reduced the tensor, only those it reported). */
  nonFinite = 0;
  readonly movingAverage: number;

  /** @param movingAverage c in [0, 1]; 0 (the default) keeps running extremes. */
  constructor(movingAverage = 0) {
    if (!(movingAverage >= 0 && movingAverage <= 1)) {
      throw new RangeError(`Invalid moving average ${movingAverage}: expected a number in [0, 1]`);
    }
    this.movingAverage = movingAverage;
  }

  /** Folds in one sample's tensor. */
  observe(data: Float32Array | Float64Array): void {
    const s = scanFinite(data);
    this.nonFinite += s.nonFinite;
    if (s.min <= s.max) this.observeExtremes(s.min, s.max);
  }

  /** Folds in one sample's extremes, computed elsewhere (e.g. by ONNX Runtime). */
  observeExtremes(min: number, max: number): void {
    const c = this.movingAverage;
    if (this.samples === 0 || c === 0) {
      if (min < this.min) this.min = min;
      if (max > this.max) this.max = max;
    } else {
      this.min += c * (min - this.min);
      this.max += c * (max - this.max);
    }
    this.samples++;
  }

  /**
   * The observed range; `[-m, m]` with m = max(|min|, |max|) when
   * `symmetric`. `{ min: 0, max: 0 }` when nothing finite was seen.
   */
  range(symmetric = false): Range {
    if (this.samples === 0) return { min: 0, max: 0 };
    if (!symmetric) return { min: this.min, max: this.max };
    const m = Math.max(Math.abs(this.min), Math.abs(this.max));
    return { min: -m, max: m };
  }
}
