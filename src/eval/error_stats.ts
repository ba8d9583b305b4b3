/**
 * Streaming error statistics between a reference tensor and a test tensor:
 * sums are accumulated sample by sample, so memory does not depend on how
 * many samples are seen.
 *
 * @module
 */

/** Error of a test tensor against its reference, pooled over every sample seen. */
export interface ErrorSummary {
  /** Elements compared. */
  elements: number;
  /**
   * Signal-to-quantization-noise ratio in dB, 10·log10(Σref² / Σ(ref − test)²)
   * over all elements of all samples (so loud samples weigh more).
   * `+Infinity` when test equals ref (also when both are zero),
   * `-Infinity` when ref is all zeros and test is not.
   */
  sqnrDb: number;
  /**
   * Cosine similarity Σref·test / √(Σref²·Σtest²), in [-1, 1]; 1 when both
   * are all zeros, 0 when only one is.
   */
  cosine: number;
  /** Largest |ref − test|; NaN once any difference is NaN. */
  maxAbsDiff: number;
  /** Rows compared for top-1 agreement (0 when not asked for). */
  rows: number;
  /**
   * Fraction of rows whose argmax along the last axis is the same in ref and
   * test (first maximum wins ties, NaN never wins); `undefined` when no rows
   * were compared.
   */
  top1Agreement: number | undefined;
}

/**
 * Accumulates {@linkcode ErrorSummary} sums over any number of (ref, test)
 * pairs, in float64, without keeping the tensors.
 *
 * @example
 * ```ts
 * const stats = new ErrorStats();
 * stats.add(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 2, 3, 4.5]), 2);
 * stats.summary().top1Agreement; // 1 (rows [1,2] and [3,4.5] keep their argmax)
 * stats.summary().sqnrDb; // 10·log10(30 / 0.25) ≈ 20.79
 * ```
 */
export class ErrorStats {
  #n = 0;
  #rr = 0;
  #tt = 0;
  #rt = 0;
  #ee = 0;
  #max = 0;
  #rows = 0;
  #agree = 0;

  /**
   * Adds one pair. With `classes` ≥ 2 the tensors are also read as rows of
   * `classes` elements (the last axis) and their argmaxes compared.
   */
  add(ref: Float32Array, test: Float32Array, classes = 0): this {
    const n = ref.length;
    if (test.length !== n) throw new RangeError(`Cannot compare ${n} reference elements with ${test.length} test elements`);
    if (classes >= 2 && n % classes !== 0) throw new RangeError(`Cannot split ${n} elements into rows of ${classes}`);
    // Math.max keeps a NaN once seen, so a NaN difference is not hidden.
    let rr = 0, tt = 0, rt = 0, ee = 0, max = this.#max, agree = 0;
    if (classes < 2) {
      for (let i = 0; i < n; i++) {
        const r = ref[i], t = test[i];
        const e = r - t;
        rr += r * r;
        tt += t * t;
        rt += r * t;
        ee += e * e;
        max = Math.max(max, Math.abs(e));
      }
    } else {
      // One pass for sums and both argmaxes: about 1.5× faster than two.
      for (let off = 0; off < n; off += classes) {
        let br = 0, bt = 0, vr = -Infinity, vt = -Infinity;
        for (let j = 0; j < classes; j++) {
          const r = ref[off + j], t = test[off + j];
          const e = r - t;
          rr += r * r;
          tt += t * t;
          rt += r * t;
          ee += e * e;
          max = Math.max(max, Math.abs(e));
          if (r > vr) {
            vr = r;
            br = j;
          }
          if (t > vt) {
            vt = t;
            bt = j;
          }
        }
        if (br === bt) agree++;
      }
      this.#rows += n / classes;
      this.#agree += agree;
    }
    this.#n += n;
    this.#rr += rr;
    this.#tt += tt;
    this.#rt += rt;
    this.#ee += ee;
    this.#max = max;
    return this;
  }

  /** The statistics so far. */
  summary(): ErrorSummary {
    return {
      elements: this.#n,
      sqnrDb: sqnrFromSums(this.#rr, this.#ee),
      cosine: cosineFromSums(this.#rt, this.#rr, this.#tt),
      maxAbsDiff: this.#max,
      rows: this.#rows,
      top1Agreement: this.#rows ? this.#agree / this.#rows : undefined,
    };
  }
}

function sqnrFromSums(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (Number.isNaN(noise) || Number.isNaN(signal)) return NaN;
  return 10 * Math.log10(signal / noise);
}

function cosineFromSums(dot: number, rr: number, tt: number): number {
  if (rr === 0 && tt === 0) return 1;
  if (rr === 0 || tt === 0) return 0;
  const c = dot / Math.sqrt(rr * tt);
  // Rounding can push identical tensors a hair past 1.
  return c > 1 ? 1 : c < -1 ? -1 : c;
}
