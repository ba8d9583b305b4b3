/**
 * What calibration and evaluation read: a {@linkcode Dataset} of samples,
 * each one float32 tensor per model input, loaded on demand.
 *
 * @module
 */
import type { TensorValue } from "../runtime/types.ts";

/** One sample: a tensor per model input name. */
export type Sample = Record<string, TensorValue<"float32">>;

/**
 * An ordered collection of samples. Samples are loaded one at a time so that
 * memory does not grow with the number of samples.
 */
export interface Dataset {
  /** Number of samples. */
  readonly size: number;
  /** Model input names every sample provides. */
  readonly inputNames: readonly string[];
  /** Sample `index` (0-based). */
  get(index: number): Promise<Sample>;
  /** A stable id of sample `index` (e.g. its file name), for reports. */
  id(index: number): string;
  /** The task label of sample `index`, when the dataset has labels. */
  label?(index: number): unknown;
}
