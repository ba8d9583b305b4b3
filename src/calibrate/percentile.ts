/**
 * Percentile ranges: clip the rarest values, as ONNX Runtime's percentile
 * calibrator does.
 *
 * @module
 */
import type { Histogram } from "./histogram.ts";
import type { Range } from "./types.ts";

/**
 * The range that keeps `percentile` percent of the observed values.
 * Symmetric histograms (of |x|) give [−t, t] with t the percentile of |x|;
 * signed ones cut half of the rest from each tail. Each end is rounded
 * outwards to the edge of the bin it falls in, so the range keeps at least
 * `percentile` percent and is within one bin width of the exact one (and a
 * ReLU output's lower end is exactly 0).
 *
 * @example
 * ```ts
 * const h = new Histogram({ symmetric: true });
 * h.observe(activations);
 * percentileRange(h, 99.99); // { min: -t, max: t }
 * ```
 */
export function percentileRange(h: Histogram, percentile = 99.999): Range {
  if (!(percentile > 0 && percentile <= 100)) {
    throw new RangeError(`Invalid percentile ${percentile}: expected a number in (0, 100]`);
  }
  if (h.width === 0) return { min: 0, max: 0 };
  const up = (f: number) => {
    const { bin, frac } = locate(h, f);
    return h.edge(frac > 0 ? bin + 1 : bin);
  };
  if (h.symmetric) {
    const t = up(percentile / 100);
    return { min: -t, max: t };
  }
  const tail = (1 - percentile / 100) / 2;
  return { min: h.edge(locate(h, tail).bin), max: up(1 - tail) };
}

/**
 * The value below which a fraction `f` of the counted values lie, assuming
 * values spread evenly inside each bin.
 *
 * @example
 * ```ts
 * quantile(histogram, 0.9999); // the value below which 99.99 % of the observed |x| lie
 * ```
 */
export function quantile(h: Histogram, f: number): number {
  const { bin, frac } = locate(h, f);
  return h.edge(bin) + h.width * frac;
}

/** The bin where the cumulative count reaches `f` of the total, and how far into it (0 to 1). */
function locate(h: Histogram, f: number): { bin: number; frac: number } {
  const c = h.counts;
  let total = 0;
  for (let j = 0; j < c.length; j++) total += c[j];
  if (total === 0) return { bin: h.zero, frac: 0 };
  const target = Math.min(1, Math.max(0, f)) * total;
  let cum = 0;
  for (let j = 0; j < c.length; j++) {
    const n = c[j];
    if (n > 0 && cum + n >= target) return { bin: j, frac: Math.max(0, target - cum) / n };
    cum += n;
  }
  return { bin: c.length, frac: 0 };
}
