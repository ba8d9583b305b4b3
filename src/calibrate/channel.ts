/**
 * Per-channel statistics of an activation: max |x| (SmoothQuant's activation
 * maxima), the mean (bias correction), the minimum and the standard
 * deviation (high-bias absorption), along one axis.
 *
 * @module
 */

/**
 * Per-channel min, max, max |x|, mean and standard deviation of a value along `axis` (default 1, the
 * channel axis of NCHW tensors; −1 for the last axis, as MatMul inputs
 * need). Non-finite values are skipped and counted.
 *
 * @example
 * ```ts
 * const ch = new ChannelObserver(1);
 * ch.observe(new Float32Array([1, -4, 2, 6]), [1, 2, 2]); // channel 0: 1, -4; channel 1: 2, 6
 * ch.maxAbs; // Float64Array [4, 6]
 * ch.mean(); // Float64Array [-1.5, 4]
 * ch.std(); // Float64Array [2.5, 2]
 * ```
 */
export class ChannelObserver {
  readonly axis: number;
  /**
   * Smallest and largest value per channel (+∞ and −∞ where nothing finite
   * was seen); empty until the first sample fixes the channel count.
   */
  min = new Float64Array(0);
  max = new Float64Array(0);
  /** Σ x and Σ x² per channel. */
  sum = new Float64Array(0);
  sumSq = new Float64Array(0);
  /** Finite values counted per channel. */
  count = new Float64Array(0);
  /** NaN and ±Infinity values skipped. */
  nonFinite = 0;
  // False once a sample came without Σx² (its request did not ask for the spread).
  #spread = true;

  constructor(axis = 1) {
    if (!Number.isInteger(axis)) throw new RangeError(`Invalid channel axis ${axis}: expected an integer`);
    this.axis = axis;
  }

  /** Max |x| per channel (0 where nothing finite was seen). */
  get maxAbs(): Float64Array {
    return this.min.map((lo, c) => (lo <= this.max[c] ? Math.max(-lo, this.max[c]) : 0));
  }

  /** Mean per channel (0 where nothing finite was seen). */
  mean(): Float64Array {
    return this.sum.map((s, c) => (this.count[c] > 0 ? s / this.count[c] : 0));
  }

  /**
   * Standard deviation per channel (population; 0 where nothing finite was
   * seen), from Σx and Σx². Reduced inside ONNX Runtime these are float32
   * sums, so a deviation far below |mean| (under ~1e-3 of it) keeps only a
   * few digits.
   */
  std(): Float64Array {
    if (!this.#spread) throw new Error("internal: channel spread asked of statistics gathered without it (request spread: true)");
    return this.sumSq.map((q, c) => {
      const n = this.count[c];
      if (!(n > 0)) return 0;
      const m = this.sum[c] / n;
      return Math.sqrt(Math.max(0, q / n - m * m));
    });
  }

  /** Folds in one sample's tensor of shape `dims`. */
  observe(data: Float32Array, dims: readonly number[]): void {
    const axis = this.axis < 0 ? dims.length + this.axis : this.axis;
    if (axis < 0 || axis >= dims.length) {
      throw new RangeError(`Cannot take channel axis ${this.axis} of a tensor of shape [${dims.join(",")}]`);
    }
    const channels = dims[axis];
    this.#size(channels);
    let inner = 1;
    for (let d = axis + 1; d < dims.length; d++) inner *= dims[d];
    const outer = channels * inner === 0 ? 0 : data.length / (channels * inner);
    for (let o = 0, k = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++, k += inner) this.#run(data, k, k + inner, c);
    }
  }

  /**
   * Folds in one sample reduced elsewhere (inside ONNX Runtime): per-channel
   * sums, sums of squares, minima and maxima of a tensor with `perChannel` elements in each channel,
   * all finite (a tensor with non-finite elements must go through
   * {@linkcode observe}, which skips and counts them). Gives what observing
   * the tensor would, up to the order of summation.
   *
   * @example
   * ```ts
   * const ch = new ChannelObserver(1);
   * ch.observeReduced({ sum: [-3, 8], sumSq: [17, 40], min: [-4, 2], max: [1, 6] }, 2); // the tensor of observe's example
   * ch.mean(); // Float64Array [-1.5, 4]
   * ch.maxAbs; // Float64Array [4, 6]
   * ```
   */
  observeReduced(
    { sum, sumSq, min, max }: { sum: ArrayLike<number>; sumSq?: ArrayLike<number>; min: ArrayLike<number>; max: ArrayLike<number> },
    perChannel: number,
  ): void {
    if ((sumSq && sum.length !== sumSq.length) || sum.length !== min.length || sum.length !== max.length) {
      throw new RangeError(`Got ${sum.length} channel sums, ${sumSq?.length ?? 0} sums of squares, ${min.length} minima and ${max.length} maxima`);
    }
    if (!sumSq) this.#spread = false;
    if (!Number.isInteger(perChannel) || perChannel < 0) throw new RangeError(`Invalid element count per channel ${perChannel}`);
    this.#size(sum.length);
    if (perChannel === 0) return;
    for (let c = 0; c < sum.length; c++) {
      if (min[c] < this.min[c]) this.min[c] = min[c];
      if (max[c] > this.max[c]) this.max[c] = max[c];
      this.sum[c] += sum[c];
      if (sumSq) this.sumSq[c] += sumSq[c];
      this.count[c] += perChannel;
    }
  }

  /** Allocates the statistics on the first sample; refuses a changed channel count after. */
  #size(channels: number): void {
    if (this.min.length === 0) {
      this.min = new Float64Array(channels).fill(Infinity);
      this.max = new Float64Array(channels).fill(-Infinity);
      this.sum = new Float64Array(channels);
      this.sumSq = new Float64Array(channels);
      this.count = new Float64Array(channels);
    } else if (this.min.length !== channels) {
      throw new RangeError(`Channel count changed from ${this.min.length} to ${channels} on axis ${this.axis}`);
    }
  }

  #run(data: Float32Array, from: number, to: number, c: number): void {
    let lo = this.min[c], hi = this.max[c], s = 0, q = 0, bad = 0;
    for (let k = from; k < to; k++) {
      const x = data[k];
      if (x - x !== 0) {
        bad++;
        continue;
      }
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      s += x;
      q += x * x;
    }
    this.min[c] = lo;
    this.max[c] = hi;
    this.sum[c] += s;
    this.sumSq[c] += q;
    this.count[c] += to - from - bad;
    this.nonFinite += bad;
  }
}
