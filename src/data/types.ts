/**
 * What calibration and evaluation read: a {@linkcode Dataset} of samples,
 * each one float32 tensor per model input, loaded on demand.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import type { Dim } from "../ir/graph.ts";
import type { TensorValue } from "../runtime/types.ts";
import type { PreprocessSpec } from "./preprocess_spec.ts";

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
  /**
   * The dims each input of sample `index` is fed with, when the dataset knows
   * them without reading the data (`.npy` headers, a fixed image size);
   * `undefined` otherwise.
   */
  shapeOf?(index: number): Record<string, number[]> | undefined;
}

/**
 * What a dataset needs to know about one model input. Both the IR's
 * `ValueInfo` (`model.graph.inputs`) and a session's `ValueMetadata` fit.
 * A dimension that is a string, `null` or a negative number is dynamic and
 * accepts any size ≥ 1; a missing shape accepts any shape.
 */
export interface InputSpec {
  readonly name: string;
  /** Datasets provide float32 only; `undefined`/`null` is taken as float32. */
  readonly dtype?: DType | null;
  readonly shape?: readonly Dim[] | null;
}

/** Options shared by the dataset openers; omitted fields take their defaults. */
export interface DatasetOptions {
  /** Use only the first `samples` samples (in name order). Default: all. */
  samples?: number;
  /**
   * Image preprocessing; its fields override the folder's `preprocess.json`
   * field by field. Ignored by `.npy`/`.npz` folders. Default: none.
   */
  preprocess?: Partial<PreprocessSpec>;
}
