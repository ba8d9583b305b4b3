/**
 * MSE ranges: the clipping range that minimizes the expected squared
 * quantization error over the observed histogram.
 *
 * @module
 */
import { argmin } from "./entropy.ts";
import type { Histogram } from "./histogram.ts";
import type { Range } from "./types.ts";

/** Options of {@linkcode mseRange}. */
export interface MseOptions {
  /** Integer levels of the target type (the range holds levels − 1 steps). @default 256 (8 bits) */
  levels: number;
  /**
   * Symmetric histograms only: search the ranges a power-of-two scale gives,
   * t = 2^k · (levels − 1) / 2, since the quantizer rounds any other scale
   * up to one. @default false
   */
  powerOfTwo: boolean;
}

/**
 * The range [a, b] (bin edges) minimizing the expected squared error of
 * quantizing the observed values to `levels` evenly spaced levels over it:
 *
 * - values inside round to the nearest level: Δ²/12 each, Δ = (b − a) /
 *   (levels − 1), the uniform approximation; except the bin that starts at
 *   0, where values sit within one bin width of the exactly representable
 *   zero (ReLU zeros), which costs min(Δ²/12, w²/3);
 * - values outside clip to a or b: (c − b)² + w²/12 for a bin of width w
 *   centred at c.
 *
 * Symmetric (|x|) histograms give [−t, t] (so Δ = 2t / (levels − 1)) and
 * search t exhaustively; signed ones keep 0 inside and search the two
 * thresholds in turn until neither moves. Each candidate costs O(1) from
 * prefix sums.
 *
 * @example
 * ```ts
 * const h = new Histogram({ symmetric: false });
 * h.observe(activations);
 * mseRange(h); // { min: a, max: b } with a ≤ 0 ≤ b
 * ```
 */
export function mseRange(h: Histogram, opts: Partial<MseOptions> = {}): Range {
  const levels = opts.levels ?? 256;
  if (!Number.isInteger(levels) || levels < 2) throw new RangeError(`Invalid levels ${levels}: expected an integer ≥ 2`);
  const occ = h.occupied();
  if (h.width === 0 || !occ) return { min: 0, max: 0 };
  const err = new ClipError(h, levels);
  if (h.symmetric && opts.powerOfTwo) {
    const t = powerOfTwoThreshold(err, h, levels, occ.last + 1);
    return { min: -t, max: t };
  }
  if (h.symmetric) {
    const t = err.best(0, 1, occ.last + 1, true);
    return { min: -h.edge(t), max: h.edge(t) };
  }
  const z = h.zero, lowest = Math.min(occ.first, z), highest = Math.max(occ.last + 1, z);
  let i = lowest, j = highest;
  for (let round = 0; round < 16; round++) {
    const j2 = err.best(i, Math.max(z, i + 1), highest, true);
    const i2 = err.best(j2, lowest, Math.min(z, j2 - 1), false);
    // With i unchanged, another round would find j2 and then i2 again.
    const settled = i2 === i;
    i = i2;
    j = j2;
    if (settled) break;
  }
  return { min: h.edge(i), max: h.edge(j) };
}

/**
 * The symmetric threshold t = 2^k · (levels − 1) / 2 of least error, from
 * the one that covers every value down to the one whose step is a bin
 * width (finer steps only cost less rounding error the histogram cannot
 * resolve).
 */
function powerOfTwoThreshold(err: ClipError, h: Histogram, levels: number, top: number): number {
  const half = (levels - 1) / 2, cover = h.edge(top);
  let k = Math.ceil(Math.log2(cover / half));
  // log2 may be off by an ulp: the first candidate must cover the data.
  if (2 ** k * half < cover) k++;
  let best = 2 ** k * half, bestCost = err.costAt(best);
  for (let e = k - 1; 2 ** e * 2 >= h.width && 2 ** e * half > h.width; e--) {
    const t = 2 ** e * half, c = err.costAt(t);
    if (c < bestCost) [best, bestCost] = [t, c];
  }
  return best;
}

/** Expected squared error (times the count) of quantizing to [edge(i), edge(j)]. */
class ClipError {
  readonly #h: Histogram;
  readonly #steps: number;
  readonly #n: Float64Array; // Σ h over bins < k
  readonly #c1: Float64Array; // Σ h·c
  readonly #c2: Float64Array; // Σ h·c²
  readonly #n0: number; // the count of the bin that starts at 0

  constructor(h: Histogram, levels: number) {
    const B = h.bins, counts = h.counts;
    this.#h = h;
    this.#steps = levels - 1;
    this.#n = new Float64Array(B + 1);
    this.#c1 = new Float64Array(B + 1);
    this.#c2 = new Float64Array(B + 1);
    this.#n0 = counts[h.zero];
    for (let k = 0; k < B; k++) {
      const v = counts[k], c = h.edge(k) + h.width / 2;
      this.#n[k + 1] = this.#n[k] + v;
      this.#c1[k + 1] = this.#c1[k] + v * c;
      this.#c2[k + 1] = this.#c2[k] + v * c * c;
    }
  }

  cost(i: number, j: number): number {
    const h = this.#h, N = this.#n, C1 = this.#c1, C2 = this.#c2, B = h.bins, w = h.width;
    const a = h.symmetric ? -h.edge(j) : h.edge(i), b = h.edge(j);
    const delta = (b - a) / this.#steps, round = (delta * delta) / 12;
    let inside = (N[j] - N[i]) * round;
    const z = h.zero;
    if (z >= i && z < j) inside += this.#n0 * (Math.min(round, (w * w) / 3) - round);
    // Σ h((c − t)² + w²/12) = Σhc² − 2tΣhc + t²Σh + Σh·w²/12, below a and above b.
    const nb = N[B] - N[j], c1b = C1[B] - C1[j], c2b = C2[B] - C2[j];
    const above = c2b - 2 * b * c1b + b * b * nb + (nb * w * w) / 12;
    const na = N[i], below = C2[i] - 2 * a * C1[i] + a * a * na + (na * w * w) / 12;
    return inside + Math.max(0, above) + Math.max(0, below);
  }

  /**
   * The cost of the symmetric range [−t, t] for any t > 0 (not only a bin
   * edge), as {@linkcode cost} computes it: the bin holding t counts as
   * inside up to t, its values above t as clipped to t (by their centre).
   */
  costAt(t: number): number {
    const h = this.#h, N = this.#n, C1 = this.#c1, C2 = this.#c2, B = h.bins, w = h.width;
    const j = Math.min(B, Math.max(1, Math.ceil((t - h.edge(0)) / w)));
    const delta = (2 * t) / this.#steps, round = (delta * delta) / 12;
    let inside = N[j] * round;
    if (h.zero >= 0 && h.zero < j) inside += this.#n0 * (Math.min(round, (w * w) / 3) - round);
    const nb = N[B] - N[j], c1b = C1[B] - C1[j], c2b = C2[B] - C2[j];
    const above = c2b - 2 * t * c1b + t * t * nb + (nb * w * w) / 12;
    return inside + Math.max(0, above);
  }

  /**
   * The x in [lo, hi] with the least cost, the other end fixed: cost(fixed, x)
   * when `high` (x is the upper edge), else cost(x, fixed). Every candidate
   * when the span is at most 4096 (the first least from lo, or hi when none
   * is below hi's), else {@linkcode argmin}'s coarse-to-fine scan. The
   * exhaustive loop calls `cost` directly, which V8 inlines: through a
   * closure it took about four times as long, and it is most of a model's
   * range time.
   */
  best(fixed: number, lo: number, hi: number, high: boolean): number {
    if (hi - lo > 4096) return argmin((x) => (high ? this.cost(fixed, x) : this.cost(x, fixed)), lo, hi);
    let best = hi, bestCost = high ? this.cost(fixed, hi) : this.cost(hi, fixed);
    for (let x = lo; x < hi; x++) {
      const c = high ? this.cost(fixed, x) : this.cost(x, fixed);
      if (c < bestCost) {
        best = x;
        bestCost = c;
      }
    }
    return best;
  }
}
