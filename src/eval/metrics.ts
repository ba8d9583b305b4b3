/**
 * One-shot tensor comparisons, for code that holds both tensors anyway.
 * Over many samples use {@linkcode ErrorStats}, which gives the same numbers
 * without keeping the samples.
 *
 * @module
 */
import { ErrorStats } from "./error_stats.ts";

/**
 * SQNR of `test` against `ref` in dB: 10·log10(Σref² / Σ(ref − test)²).
 * `+Infinity` when identical, `-Infinity` when `ref` is all zeros and `test` is not.
 *
 * @example
 * ```ts
 * sqnrDb(new Float32Array([3, 4]), new Float32Array([3, 3])); // 10·log10(25) ≈ 13.98
 * ```
 */
export function sqnrDb(ref: Float32Array, test: Float32Array): number {
  return new ErrorStats().add(ref, test).summary().sqnrDb;
}

/**
 * Cosine similarity of two tensors seen as vectors; 1 when both are zero,
 * 0 when only one is.
 *
 * @example
 * ```ts
 * cosineSimilarity(new Float32Array([1, 0]), new Float32Array([1, 1])); // ≈ 0.7071
 * ```
 */
export function cosineSimilarity(ref: Float32Array, test: Float32Array): number {
  return new ErrorStats().add(ref, test).summary().cosine;
}

/**
 * Largest element-wise |ref − test|.
 *
 * @example
 * ```ts
 * maxAbsDiff(new Float32Array([1, 2]), new Float32Array([1.5, 1])); // 1
 * ```
 */
export function maxAbsDiff(ref: Float32Array, test: Float32Array): number {
  return new ErrorStats().add(ref, test).summary().maxAbsDiff;
}

/**
 * Fraction of rows of `classes` elements (the last axis) whose argmax agrees;
 * the first maximum wins ties, as in ONNX ArgMax.
 *
 * @example
 * ```ts
 * const ref = new Float32Array([0.9, 0.1, 0.2, 0.8]); // rows [0.9, 0.1], [0.2, 0.8]
 * const test = new Float32Array([0.6, 0.4, 0.5, 0.5]); // the tie picks index 0
 * top1Agreement(ref, test, 2); // 0.5
 * ```
 */
export function top1Agreement(ref: Float32Array, test: Float32Array, classes: number): number {
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`Top-1 agreement needs at least 2 classes, got ${classes}`);
  return new ErrorStats().add(ref, test, classes).summary().top1Agreement ?? NaN;
}

/**
 * Index of the first maximum of `a[off .. off + len)`, relative to `off`
 * (NaN never wins; 0 for a row of NaN), as ONNX ArgMax picks ties.
 *
 * @example
 * ```ts
 * argmax(new Float32Array([5, 1, 3, 3]), 1, 3); // 1: the first 3
 * ```
 */
export function argmax(a: Float32Array, off = 0, len = a.length - off): number {
  let best = 0;
  let v = -Infinity;
  for (let j = 0; j < len; j++) {
    const x = a[off + j];
    if (x > v) {
      v = x;
      best = j;
    }
  }
  return best;
}
