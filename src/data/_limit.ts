/**
 * The `samples` option, checked once.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/** The first `samples` of `names` (all when `samples` is undefined). */
export function limitSamples<T>(names: readonly T[], samples: number | undefined): T[] {
  if (samples === undefined) return [...names];
  if (!Number.isInteger(samples) || samples < 1) {
    throw new InputError(`Invalid option samples: expected a positive integer, got ${samples}`);
  }
  return names.slice(0, samples);
}

/** Throws a RangeError unless `index` is a sample index of a dataset of `size`. */
export function checkIndex(index: number, size: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`Sample index ${index} is out of range [0, ${size})`);
  }
}
