/**
 * The one pass over a tensor that every observer starts from: min and max of
 * its finite values. Private to src/calibrate/.
 */

/** Min and max of the finite values, and how many values were not finite. */
export interface Scan {
  /** `Infinity` when no value was finite. */
  min: number;
  /** `-Infinity` when no value was finite. */
  max: number;
  /** NaN and ±Infinity values, which no statistic includes. */
  nonFinite: number;
}

/**
 * Scans `data` in one tight pass. NaN fails every comparison, so it never
 * becomes the min or max and only needs counting; an infinity does become one,
 * which sends the (rare) tensor through a second, checking pass.
 */
export function scanFinite(data: Float32Array | Float64Array): Scan {
  // Two accumulators per bound halve the loop-carried dependency chains.
  let lo0 = Infinity, lo1 = Infinity, hi0 = -Infinity, hi1 = -Infinity, nan = 0;
  const even = data.length & ~1;
  let k = 0;
  for (; k < even; k += 2) {
    const x = data[k], y = data[k + 1];
    if (x < lo0) lo0 = x;
    if (x > hi0) hi0 = x;
    if (y < lo1) lo1 = y;
    if (y > hi1) hi1 = y;
    if (x !== x || y !== y) nan++;
  }
  if (k < data.length) {
    const x = data[k];
    if (x < lo0) lo0 = x;
    if (x > hi0) hi0 = x;
    if (x !== x) nan++;
  }
  const min = lo0 < lo1 ? lo0 : lo1;
  const max = hi0 > hi1 ? hi0 : hi1;
  if (nan === 0 && min !== -Infinity && max !== Infinity) return { min, max, nonFinite: 0 };
  return scanChecked(data);
}

function scanChecked(data: Float32Array | Float64Array): Scan {
  let min = Infinity, max = -Infinity, nonFinite = 0;
  for (let k = 0; k < data.length; k++) {
    const x = data[k];
    if (x - x !== 0) nonFinite++; // NaN and ±Infinity
    else {
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  return { min, max, nonFinite };
}
