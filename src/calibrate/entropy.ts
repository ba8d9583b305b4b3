/**
 * Entropy ranges (TensorRT's calibrator): the clipping thresholds whose
 * quantized distribution loses the least information, measured as the
 * divergence of the clipped histogram's quantized version from it.
 *
 * @module
 */
import type { Histogram } from "./histogram.ts";
import type { Range } from "./types.ts";

/** Options of {@linkcode entropyRange}. */
export interface EntropyOptions {
  /** Integer levels of the target type. @default 256 (8 bits) */
  levels: number;
}

/**
 * The range [a, b] (bin edges) minimizing the divergence of Q from P, where
 * P is the histogram cut to [a, b] with the cut-off counts added to its first
 * and last bins, and Q merges the bins inside [a, b] (without the cut-off
 * counts) into as many groups as quantized levels cover it, spread evenly
 * over the bins that P holds values in.
 *
 * - Symmetric (|x|) histograms: a = 0 and `levels / 2` groups (128 for 8
 *   bits), TensorRT's search; the range is [−b, b].
 * - Signed histograms (asymmetric uint8/int8): the range must contain 0 and
 *   is covered by all `levels` groups. A search over both thresholds is
 *   quadratic, so the candidates are one path: from the full range, drop
 *   the end bin holding fewer values, one bin at a time (sparse tails go
 *   first, as in PyTorch's HistogramObserver), until `levels` bins remain;
 *   the path's minimum wins. Data of one sign (ReLU, sigmoid outputs) make
 *   this TensorRT's one-sided search with 256 levels, the uint8 analogue of
 *   its int8 one.
 *
 * Two departures from TensorRT's KL(P‖Q), for two ways it fails on real
 * activations (ONNX Runtime's version of it takes the PaddleOCR recognizer
 * to 0% exact match):
 *
 * - The bin at 0 is first lowered to the mean of its neighbours (as NVIDIA's
 *   pytorch-quantization sets `bins[0] = bins[1]`). Exact zeros (ReLU,
 *   HardSwish below −3, zero padding) are one point that quantizes exactly,
 *   but Q spreads them over their group, a cost that only falls as the range
 *   shrinks: the search then clipped SE-block ReLU outputs to a quarter of
 *   their range.
 * - Q keeps the scale of the counts it is built from rather than being
 *   renormalized to the kept values: the divergence is the generalized KL
 *   (I-divergence) Σ p ln(p/q) − Σ p + Σ q over p, q = counts / all values,
 *   which is KL(P‖Q) − ln(1 − c) − c for a clipped fraction c. That adds
 *   c²/2 + O(c³), nothing for the usual c ≪ 1%, but it rules out thresholds
 *   that clip most values into one bin, where P and a renormalized Q
 *   coincide and KL(P‖Q) ≈ 0 (a LayerNorm's standard deviation, all in
 *   [0.45, 1.75], was "calibrated" to [0, 0.448]).
 *
 * The divergence is computed in O(groups) per candidate from prefix sums,
 * and candidates are scanned coarse to fine (~128, then the neighbours of
 * the best), so a 2048-bin search costs a millisecond or two.
 *
 * @example
 * ```ts
 * const h = new Histogram({ symmetric: true });
 * h.observe(activations);
 * entropyRange(h); // { min: -t, max: t }, t below max |x| when outliers are rare
 * ```
 */
export function entropyRange(h: Histogram, opts: Partial<EntropyOptions> = {}): Range {
  const levels = opts.levels ?? 256;
  if (!Number.isInteger(levels) || levels < 4) throw new RangeError(`Invalid levels ${levels}: expected an integer ≥ 4`);
  const occ = h.occupied();
  if (h.width === 0 || !occ) return { min: 0, max: 0 };
  const counts = withoutZeroSpike(h.counts, h.zero);
  const kl = new KL(counts);
  if (h.symmetric) {
    const groups = levels / 2 | 0;
    const b = argmin((j) => kl.divergence(0, j, groups), groups, occ.last + 1);
    return { min: -h.edge(b), max: h.edge(b) };
  }
  const path = peelPath(counts, Math.min(occ.first, h.zero), Math.max(occ.last + 1, h.zero), h.zero, levels);
  const best = path[argmin((k) => kl.divergence(path[k][0], path[k][1], levels), 0, path.length - 1)];
  return { min: h.edge(best[0]), max: h.edge(best[1]) };
}

/**
 * `counts` with the bin that starts at 0 (index `z`) lowered to the mean of
 * its neighbours when it holds more; never raised, so data without a spike
 * at 0 (sigmoid outputs) keep their counts.
 */
function withoutZeroSpike(counts: Float64Array, z: number): Float64Array {
  if (z >= counts.length) return counts;
  const left = z > 0 ? counts[z - 1] : undefined, right = z + 1 < counts.length ? counts[z + 1] : undefined;
  const around = left === undefined ? right : right === undefined ? left : (left + right) / 2;
  if (around === undefined || !(counts[z] > around)) return counts;
  const out = counts.slice();
  out[z] = around;
  return out;
}

/**
 * Candidate slices [i, j) for a signed histogram, from [lo, hi) inwards:
 * each step drops the end bin holding fewer values (the sparser tail goes
 * first, as in PyTorch's HistogramObserver search), never moving past the
 * zero edge `z`, until `levels` bins are left. Ties drop the end farther
 * from zero.
 */
function peelPath(h: Float64Array, lo: number, hi: number, z: number, levels: number): [number, number][] {
  const path: [number, number][] = [[lo, hi]];
  let i = lo, j = hi;
  while (j - i > levels) {
    const left = i < z, right = j > z;
    if (left && (!right || h[i] < h[j - 1] || (h[i] === h[j - 1] && z - i >= j - z))) i++;
    else j--;
    path.push([i, j]);
  }
  return path;
}

/**
 * The integer in [lo, hi] minimizing `f` (hi when lo > hi), scanning every
 * `step`-th candidate and then the neighbours of the best one.
 */
export function argmin(f: (x: number) => number, lo: number, hi: number): number {
  if (lo >= hi) return hi;
  const step = Math.max(1, Math.ceil((hi - lo) / 128));
  let best = hi, bestCost = f(hi);
  for (let x = lo; x < hi; x += step) {
    const c = f(x);
    if (c < bestCost) [best, bestCost] = [x, c];
  }
  if (step > 1) {
    const from = Math.max(lo, best - step + 1), to = Math.min(hi, best + step - 1);
    for (let x = from; x <= to; x++) {
      const c = f(x);
      if (c < bestCost) [best, bestCost] = [x, c];
    }
  }
  return best;
}

// Smoothing of an empty Q bin where P has values, in counts (TensorRT's eps).
const EPS = 1e-4;

/** Divergences of clipped histograms (see {@linkcode entropyRange}), from prefix sums of the counts. */
class KL {
  readonly #h: Float64Array;
  readonly #count: Float64Array; // Σ h over bins < k
  readonly #hlogh: Float64Array; // Σ h ln h over bins < k
  readonly #nonzero: Float64Array; // bins < k with h > 0

  constructor(h: Float64Array) {
    const B = h.length;
    this.#h = h;
    this.#count = new Float64Array(B + 1);
    this.#hlogh = new Float64Array(B + 1);
    this.#nonzero = new Float64Array(B + 1);
    for (let k = 0; k < B; k++) {
      const v = h[k];
      this.#count[k + 1] = this.#count[k] + v;
      this.#hlogh[k + 1] = this.#hlogh[k] + xlogx(v);
      this.#nonzero[k + 1] = this.#nonzero[k] + (v > 0 ? 1 : 0);
    }
  }

  /**
   * I-divergence of Q from P for the slice [i, j) of bins quantized into
   * `groups` groups, both over all values; Infinity if the slice is empty.
   */
  divergence(i: number, j: number, groups: number): number {
    const h = this.#h, C = this.#count, L = this.#hlogh, Z = this.#nonzero;
    const B = h.length, n = j - i;
    const total = C[B], inside = C[j] - C[i];
    if (inside === 0 || n < groups) return Infinity;
    const left = C[i], right = total - C[j];
    let plogp = 0, plogq = 0;
    for (let g = 0; g < groups; g++) {
      const s = i + ((g * n) / groups | 0), e = i + (((g + 1) * n) / groups | 0);
      const slice = C[e] - C[s];
      let mass = slice, nz = Z[e] - Z[s], pl = L[e] - L[s];
      // P's first and last bins also hold the values cut off below and above.
      if (s === i && left > 0) {
        const v = h[i];
        mass += left;
        nz += v > 0 ? 0 : 1;
        pl += xlogx(v + left) - xlogx(v);
      }
      if (e === j && right > 0) {
        const v = s === i && j - 1 === i ? h[i] + left : h[j - 1];
        mass += right;
        nz += v > 0 ? 0 : 1;
        pl += xlogx(v + right) - xlogx(v);
      }
      if (mass === 0) continue;
      const q = slice > 0 ? slice / nz : EPS;
      plogp += pl;
      plogq += mass * Math.log(q);
    }
    // KL(P‖Q/inside) − ln(inside/total) − clipped fraction; the logs cancel.
    return (plogp - plogq) / total - left / total - right / total;
  }
}

function xlogx(v: number): number {
  return v > 0 ? v * Math.log(v) : 0;
}
