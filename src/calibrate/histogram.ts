/**
 * A fixed-memory histogram filled in one pass over the samples: the range
 * starts at the first sample's and, when a later value falls outside, widens
 * by an integer factor whose adjacent bins merge exactly (the scheme of ONNX
 * Runtime's HistogramCollector and TensorRT, but without growing the bin
 * count). Percentile, entropy and MSE ranges are read from it.
 *
 * @module
 */
import { scanFinite } from "./_scan.ts";

/**
 * How much each element of a value counts in its histogram, by channel: the
 * element at flat position i belongs to channel ⌊i / inner⌋ mod C, C =
 * `weights.length` (inner = 1 when the channel is the last axis, H·W for
 * NCHW). Used for ranges that minimize the error a value's consumers see
 * rather than its own (`consumerWeights` in src/quantize).
 */
export interface ChannelWeights {
  /**
   * Elements of one channel's contiguous run in the flattened tensor.
   * Absent: the channel is axis 1 and the run is whatever the dims after it
   * hold on each sample (the collector reads the value's shape as it runs;
   * for models whose spatial dims are dynamic).
   */
  inner?: number;
  /** One non-negative weight per channel. */
  weights: readonly number[];
}

/**
 * Counts of |x| (`symmetric`) or x over `bins` equal bins. Zero is always a
 * bin edge, `zero` its index: bin j covers [(j − zero)·width,
 * (j − zero + 1)·width). The range always contains 0, so a widening keeps 0
 * on an edge, and exact zeros (ReLU outputs) fall in the bin that starts at 0.
 * Non-finite values are skipped and counted.
 *
 * @example
 * ```ts
 * const h = new Histogram({ symmetric: true, bins: 8 });
 * h.observe(new Float32Array([0, 1, -2, 7]));
 * h.total; // 4
 * h.edge(h.bins) >= 7; // true
 * ```
 */
export class Histogram {
  readonly bins: number;
  readonly symmetric: boolean;
  #counts: Float64Array;
  /** Bin width; 0 until a non-zero finite value has been seen. */
  width = 0;
  /** Index of the edge at 0; always 0 when `symmetric`. */
  zero = 0;
  /** Finite values observed (weighted), including zeros seen before the range opened. */
  total = 0;
  /** NaN and ±Infinity values skipped. */
  nonFinite = 0;
  /** Times the range was widened, for tests and reports. */
  widenings = 0;
  // Zeros seen while every value so far was 0: they join the bin at 0 once
  // the first non-zero value opens the range.
  #pendingZeros = 0;
  // Subsamples' unit counts not yet in #counts, all of weight #unitWeight, in
  // bins #unitLo..#unitHi (see #binSample).
  #units?: Int32Array;
  #unitWeight = 0;
  #unitLo = Infinity;
  #unitHi = -1;
  #unitCount = 0;

  /** Per-channel weights of the values observed (see {@linkcode ChannelWeights}), when the histogram counts by them. */
  readonly channelWeights?: ChannelWeights;

  constructor(opts: { symmetric?: boolean; bins?: number; channelWeights?: ChannelWeights } = {}) {
    const bins = opts.bins ?? 2048;
    if (!Number.isInteger(bins) || bins < 2 || bins > 1 << 20) {
      throw new RangeError(`Invalid histogram bins ${bins}: expected an integer from 2 to 1048576`);
    }
    this.bins = bins;
    this.symmetric = opts.symmetric ?? false;
    this.#counts = new Float64Array(bins);
    if (opts.channelWeights) this.channelWeights = opts.channelWeights;
  }

  /**
   * Finite values counted per bin (float64: exact to 2^53). A subsample's
   * values count with their weight, so counts may be fractional.
   */
  get counts(): Float64Array {
    this.#settle();
    return this.#counts;
  }

  /** The value at edge `j` (0 ≤ j ≤ bins). */
  edge(j: number): number {
    return (j - this.zero) * this.width;
  }

  /** First and last bins with a count, or `undefined` when all are empty. */
  occupied(): { first: number; last: number } | undefined {
    const c = this.counts;
    let first = 0, last = c.length - 1;
    while (first <= last && c[first] === 0) first++;
    if (first > last) return undefined;
    while (c[last] === 0) last--;
    return { first, last };
  }

  /** Folds in one sample's tensor. */
  observe(data: Float32Array): void {
    if (data.length >= TABLES * this.bins) return this.#fold(data);
    // Small tensors bin straight into the counts: the scratch tables' flush
    // would cost more than the binning.
    if (this.width === 0 && !this.#open(data)) return;
    this.#binDirect(data, 1);
  }

  /**
   * Folds in a subsample of one sample's tensor whose exact extremes are
   * known (computed over the whole tensor, e.g. inside ONNX Runtime): each
   * element of `data` stands for `weight` elements of the tensor, and `min`
   * and `max` are counted once each, so the grid and the occupied range
   * cover the tensor's even where the subsample missed its extremes.
   */
  observeSubsample(data: Float32Array, weight: number, min: number, max: number): void {
    ENDS[0] = min;
    ENDS[1] = max;
    if (this.width === 0 && !this.#open(ENDS)) {
      // The extremes are 0 (or not finite): so is every finite value.
      this.#pendingZeros += data.length * weight;
      this.total += data.length * weight;
      return;
    }
    // Widen first, so the subsample bins straight into the counts: a few
    // thousand values do not pay for the scratch tables' flush.
    const inv = 1 / this.width;
    const tmin = this.symmetric ? 0 : Math.min(min * inv + this.zero, 0);
    const tmax = this.symmetric ? Math.max(-min, max) * inv : max * inv + this.zero;
    if (tmin < 0 || tmax >= this.bins) this.#widen(tmin, tmax);
    this.#binDirect(ENDS, 1);
    this.#binSample(data, weight, min, max);
  }

  /**
   * Folds in values of one sample's tensor, each counting `weights[k]`,
   * whose exact extremes over the whole tensor are `min` and `max` (counted
   * once each, as {@linkcode observeSubsample} counts them).
   */
  observeWeighted(data: Float32Array, weights: Float64Array, min: number, max: number): void {
    this.observeSubsample(EMPTY, 1, min, max);
    if (this.width === 0) {
      // Every value is 0 (the extremes are): pending at 0 with its weight.
      let w = 0;
      for (let k = 0; k < data.length; k++) w += weights[k];
      this.#pendingZeros += w;
      this.total += w;
      return;
    }
    const B = this.bins, counts = this.#counts, inv = 1 / this.width, z = this.zero;
    for (let k = 0; k < data.length; k++) {
      const x = data[k];
      if (x - x !== 0) {
        this.nonFinite += weights[k];
        continue;
      }
      // Inside [min, max], so on the grid but for rounding at its ends.
      const a = this.symmetric ? Math.abs(x) * inv : x * inv + z;
      counts[a < 0 ? 0 : a >= B ? B - 1 : a | 0] += weights[k];
      this.total += weights[k];
    }
  }

  /**
   * Counts a subsample whose values lie in [min, max] (inside the grid) as
   * unit counts in an int32 table of this histogram, which moves into the
   * counts only when the weight changes, the grid widens or the counts are
   * read. A value of fixed shape gets subsamples of one length and so one
   * weight on every sample: the table then fills over all samples with one
   * integer increment per value, where weighted float64 adds straight into
   * the counts (or a shared scratch table flushed per sample) cost about
   * twice as much on the PaddleOCR models' hundreds of histograms.
   */
  #binSample(data: Float32Array, weight: number, min: number, max: number): void {
    const B = this.bins, inv = 1 / this.width, z = this.zero;
    // Bins a value in [min, max] can fall in; anything else (rounding, a
    // caller's mistake) goes to slot B and is binned the slow way.
    const lo = this.symmetric ? (min > 0 ? Math.floor(min * inv) : max < 0 ? Math.floor(-max * inv) : 0) : Math.floor(min * inv + z);
    const hi = Math.min(B - 1, Math.floor(this.symmetric ? Math.max(-min, max) * inv : max * inv + z));
    if (!(lo >= 0 && lo <= hi)) return this.#binDirect(data, weight);
    if (weight !== this.#unitWeight || this.#unitCount > 2 ** 30) this.#settle();
    const t = this.#units ??= new Int32Array(2 * (B + 1));
    this.#unitWeight = weight;
    if (this.symmetric) binAbsIn(data, t, inv, lo, hi + 1, B);
    else binSignedIn(data, t, inv, z, lo, hi + 1, B);
    if (lo < this.#unitLo) this.#unitLo = lo;
    if (hi > this.#unitHi) this.#unitHi = hi;
    const outside = t[B] + t[2 * B + 1];
    t[B] = t[2 * B + 1] = 0;
    this.#unitCount += data.length - outside;
    this.total += (data.length - outside) * weight;
    if (outside > 0) this.#binDirect(data.filter((x) => !(this.#position(x) >= lo && this.#position(x) < hi + 1)), weight);
  }

  /** Moves the pending unit counts into the counts, with their weight. */
  #settle(): void {
    const t = this.#units;
    if (!t || this.#unitHi < 0) return;
    const counts = this.#counts, w = this.#unitWeight;
    const S = this.bins + 1;
    for (let j = this.#unitLo; j <= this.#unitHi; j++) {
      const c = t[j] + t[j + S];
      if (c !== 0) {
        counts[j] += c * w;
        t[j] = t[j + S] = 0;
      }
    }
    this.#unitLo = Infinity;
    this.#unitHi = -1;
    this.#unitCount = 0;
  }

  /** Counts `data` straight into the counts (the grid is open), widening for values outside it. */
  #binDirect(data: Float32Array, weight: number): void {
    const outside = this.#binWeighted(data, weight);
    this.total += (data.length - outside) * weight;
    if (outside === 0) return;
    // Rare: values beyond the grid (or NaN). The counts so far merge on widening.
    const rest = data.filter((x) => !(this.#position(x) >= 0 && this.#position(x) < this.bins));
    const s = scanFinite(rest);
    this.nonFinite += s.nonFinite * weight;
    if (!(s.min <= s.max)) return;
    const inv = 1 / this.width;
    const tmin = this.symmetric ? 0 : Math.min(s.min * inv + this.zero, 0);
    const tmax = this.symmetric ? Math.max(-s.min, s.max) * inv : Math.max(s.max * inv + this.zero, 0);
    this.#widen(tmin, tmax);
    this.total += (rest.length - this.#binWeighted(rest, weight)) * weight;
  }

  /** A value's position on the grid, in bins (NaN for NaN). */
  #position(x: number): number {
    return this.symmetric ? Math.abs(x) / this.width : x / this.width + this.zero;
  }

  /** Adds `weight` to the bins of the values of `data` inside the grid; returns how many were not. */
  #binWeighted(data: Float32Array, weight: number): number {
    const B = this.bins, counts = this.#counts, inv = 1 / this.width, z = this.zero;
    let outside = 0;
    if (this.symmetric) {
      for (let k = 0; k < data.length; k++) {
        const a = Math.abs(data[k]) * inv;
        if (a < B) counts[a | 0] += weight;
        else outside++;
      }
    } else {
      for (let k = 0; k < data.length; k++) {
        const a = data[k] * inv + z;
        if (a >= 0 && a < B) counts[a | 0] += weight;
        else outside++;
      }
    }
    return outside;
  }

  /** Counts a large `data` through the scratch tables, widening the grid as needed. */
  #fold(data: Float32Array): void {
    if (this.width === 0 && !this.#open(data)) return;
    let over = this.#bin(data);
    if (over === 0) return this.#flush(data.length);
    // Rare after the first samples: find what fell outside, widen, and bin
    // the whole tensor again (its counts are still in the scratch tables).
    const s = scanFinite(data);
    for (;;) {
      const inv = 1 / this.width;
      const tmin = this.symmetric ? 0 : s.min * inv + this.zero;
      const tmax = this.symmetric ? Math.max(-s.min, s.max) * inv : s.max * inv + this.zero;
      if (over === s.nonFinite || !(tmin <= tmax)) break;
      scratch(this.bins).fill(0);
      this.#widen(tmin, tmax);
      over = this.#bin(data);
    }
    this.nonFinite += s.nonFinite;
    this.#flush(data.length - s.nonFinite);
  }

  /** Counts `data` into the scratch tables; returns how many fell outside (or were not finite). */
  #bin(data: Float32Array): number {
    const B = this.bins, S = B + 1, table = scratch(B);
    if (this.symmetric) binAbs(data, table, 1 / this.width, B);
    else binSigned(data, table, 1 / this.width, this.zero, B);
    return table[B] + table[B + S] + table[B + 2 * S] + table[B + 3 * S];
  }

  /** Adds the scratch tables to the counts, with `n` values binned, and clears them. */
  #flush(n: number): void {
    const B = this.bins, S = B + 1, table = scratch(B), counts = this.#counts;
    for (let j = 0; j < B; j++) counts[j] += table[j] + table[j + S] + table[j + 2 * S] + table[j + 3 * S];
    table.fill(0, 0, TABLES * S);
    this.total += n;
  }

  /** Sets the first grid from `data`; false when `data` held no non-zero finite value. */
  #open(data: Float32Array): boolean {
    const s = scanFinite(data);
    const lo = this.symmetric ? 0 : Math.min(s.min, 0);
    const hi = this.symmetric ? Math.max(-s.min, s.max) : Math.max(s.max, 0);
    if (!(hi - lo > 0)) {
      // All finite values were zero (or there were none).
      this.#pendingZeros += data.length - s.nonFinite;
      this.total += data.length - s.nonFinite;
      this.nonFinite += s.nonFinite;
      return false;
    }
    // B − 1 bins (and a hair) span the data, so the max falls strictly
    // inside the last bin even after rounding 0 onto an edge.
    const B = this.bins;
    this.width = ((hi - lo) / (B - 1)) * (1 + 2 ** -20);
    this.zero = this.symmetric ? 0 : Math.min(B - 1, Math.ceil(-lo / this.width));
    this.#counts[this.zero] += this.#pendingZeros;
    this.#pendingZeros = 0;
    return true;
  }

  /**
   * Widens the grid so that positions [tmin, tmax] (in current bin units)
   * fit: the new width is k times the old, the grid moves by m old bins (up
   * when m > 0), and every run of k old bins merges into one new bin. k is
   * the smallest integer ≥ 1 for which an m keeps 0 on an edge ((zero + m)
   * divisible by k) and the new grid holds the occupied bins, the zero edge
   * and [tmin, tmax]; k = 1 is an exact shift. Empty bins at either end are
   * not kept: a grid that kept them and at least doubled on every widening
   * grew on the empty side each time the other side grew (two-sided
   * activations whose minimum grew a little per sample ended up in 1–10% of
   * the bins, too coarse for a range search).
   */
  #widen(tmin: number, tmax: number): void {
    const B = this.bins, z = this.zero, occ = this.occupied();
    const low = Math.floor(Math.min(tmin, z, occ?.first ?? z));
    // One old bin of headroom above tmax absorbs rounding in the new grid.
    const top = Math.max(tmax + 1, z, (occ?.last ?? z) + 1);
    let k = Math.max(1, Math.ceil((top - low) / B));
    if (k > MAX_FACTOR) return this.#regrid(tmin, tmax);
    let m = 0;
    for (;; k++) {
      m = -low + ((k - ((z - low) % k)) % k);
      if (m + top <= k * B) break;
    }
    this.#settle();
    const old = this.#counts, merged = new Float64Array(B);
    for (let j = 0; j < B; j++) {
      if (old[j] === 0) continue;
      const n = Math.floor((j + m) / k);
      merged[n < B ? n : B - 1] += old[j];
    }
    this.#counts = merged;
    this.width *= k;
    this.zero = (z + m) / k;
    this.widenings++;
  }

  /**
   * A widening so large that the old range shrinks to a sliver of one new
   * bin (and integer offsets lose precision): a fresh grid over the old range
   * and [tmin, tmax], each old bin's count moving to the new bin of its centre.
   */
  #regrid(tmin: number, tmax: number): void {
    const B = this.bins, z = this.zero, w = this.width;
    const lo = this.symmetric ? 0 : Math.min(-z, tmin - z) * w;
    const hi = Math.max(B - z, tmax - z) * w;
    const w2 = ((hi - lo) / (B - 1)) * (1 + 2 ** -20);
    const z2 = this.symmetric ? 0 : Math.min(B - 1, Math.ceil(-lo / w2));
    this.#settle();
    const old = this.#counts, moved = new Float64Array(B);
    for (let j = 0; j < B; j++) {
      if (old[j] === 0) continue;
      const t = ((j + 0.5 - z) * w) / w2 + z2;
      moved[Math.min(B - 1, Math.max(0, Math.floor(t)))] += old[j];
    }
    this.#counts = moved;
    this.width = w2;
    this.zero = z2;
    this.widenings++;
  }
}

// The two extremes of a subsampled tensor, counted like a tiny tensor.
const ENDS = new Float32Array(2);
const EMPTY = new Float32Array(0);

// Widening factors above this re-grid instead of merging runs of k bins.
const MAX_FACTOR = 2 ** 20;

// Per-call count tables shared by all histograms (calls never overlap):
// Int32 increments are cheaper than Float64 ones, and four interleaved
// tables break the store-to-load chains of runs of equal bins, which
// activation maps are full of (measured: 2.0 ns/element against 2.5 with two
// tables and 3.9 with one, on the detector's activations).
const TABLES = 4;
let tables = new Int32Array(0);

function scratch(bins: number): Int32Array {
  if (tables.length < TABLES * (bins + 1)) tables = new Int32Array(TABLES * (bins + 1));
  return tables;
}

/** Counts |x|·inv into table u at `t[u·S ..)`, S = B + 1; out-of-range and non-finite go to index B of a table. */
function binAbs(data: Float32Array, t: Int32Array, inv: number, B: number): void {
  const S = B + 1, n4 = data.length & ~3;
  let k = 0;
  for (; k < n4; k += 4) {
    const a = Math.abs(data[k]) * inv, b = Math.abs(data[k + 1]) * inv;
    const c = Math.abs(data[k + 2]) * inv, d = Math.abs(data[k + 3]) * inv;
    t[a < B ? a | 0 : B]++;
    t[(b < B ? b | 0 : B) + S]++;
    t[(c < B ? c | 0 : B) + 2 * S]++;
    t[(d < B ? d | 0 : B) + 3 * S]++;
  }
  for (; k < data.length; k++) {
    const a = Math.abs(data[k]) * inv;
    t[a < B ? a | 0 : B]++;
  }
}

/** Counts x·inv + z like {@linkcode binAbs}; NaN fails both comparisons. */
function binSigned(data: Float32Array, t: Int32Array, inv: number, z: number, B: number): void {
  const S = B + 1, n4 = data.length & ~3;
  let k = 0;
  for (; k < n4; k += 4) {
    const a = data[k] * inv + z, b = data[k + 1] * inv + z;
    const c = data[k + 2] * inv + z, d = data[k + 3] * inv + z;
    t[a >= 0 && a < B ? a | 0 : B]++;
    t[(b >= 0 && b < B ? b | 0 : B) + S]++;
    t[(c >= 0 && c < B ? c | 0 : B) + 2 * S]++;
    t[(d >= 0 && d < B ? d | 0 : B) + 3 * S]++;
  }
  for (; k < data.length; k++) {
    const a = data[k] * inv + z;
    t[a >= 0 && a < B ? a | 0 : B]++;
  }
}

/** Counts |x|·inv in [lo, end) into two interleaved tables (t and t + B + 1); the rest goes to index B. */
function binAbsIn(data: Float32Array, t: Int32Array, inv: number, lo: number, end: number, B: number): void {
  const S = B + 1, n2 = data.length & ~1;
  let k = 0;
  for (; k < n2; k += 2) {
    const a = Math.abs(data[k]) * inv, b = Math.abs(data[k + 1]) * inv;
    t[a >= lo && a < end ? a | 0 : B]++;
    t[(b >= lo && b < end ? b | 0 : B) + S]++;
  }
  if (k < data.length) {
    const a = Math.abs(data[k]) * inv;
    t[a >= lo && a < end ? a | 0 : B]++;
  }
}

/** Counts x·inv + z in [lo, end) like {@linkcode binAbsIn}. */
function binSignedIn(data: Float32Array, t: Int32Array, inv: number, z: number, lo: number, end: number, B: number): void {
  const S = B + 1, n2 = data.length & ~1;
  let k = 0;
  for (; k < n2; k += 2) {
    const a = data[k] * inv + z, b = data[k + 1] * inv + z;
    t[a >= lo && a < end ? a | 0 : B]++;
    t[(b >= lo && b < end ? b | 0 : B) + S]++;
  }
  if (k < data.length) {
    const a = data[k] * inv + z;
    t[a >= lo && a < end ? a | 0 : B]++;
  }
}
