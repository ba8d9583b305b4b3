/**
 * Recovery passes: what a pass is, what it may read, and what it reports.
 * A pass first says which statistics it needs (`needs`), the pipeline
 * gathers the statistics of every pass of a stage in one pass over the
 * calibration data, then each pass applies what it asked for (`apply`), as
 * NNCF's algorithms do.
 *
 * @module
 */
import type { StatRequest } from "../calibrate/types.ts";
import type { Gram, GramRequest } from "../calibrate/gram.ts";
import type { ChannelObserver } from "../calibrate/channel.ts";
import type { Histogram } from "../calibrate/histogram.ts";
import type { MinMaxObserver } from "../calibrate/minmax.ts";
import type { Model } from "../ir/model.ts";
import type { Node } from "../ir/node.ts";
import type { PassName, TargetProfile } from "../targets/types.ts";

/**
 * When a pass runs, in pipeline order:
 * - `graph`: rewrites the float graph from its weights alone (fusions, CLE);
 * - `statistics`: rewrites the float graph from statistics of the float
 *   model (SmoothQuant), gathered in a pass over the data of its own;
 * - `plan`: decides what is quantized (float fallback);
 * - `calibrated`: changes float weights or biases once activation ranges are
 *   known, from statistics gathered in the calibration pass itself (bias
 *   correction);
 * - `quantize`: an option of QDQ insertion (the bias-overflow guard);
 * - `lower`: rewrites the QDQ graph for a runtime's kernels, same function
 *   (ONNX Runtime's CPU provider).
 */
export type PassStage = "graph" | "statistics" | "plan" | "calibrated" | "quantize" | "lower";

/** How a pass finds the statistics it asked for: one observer per request. */
export type StatLookup = (request: StatRequest) => MinMaxObserver | Histogram | ChannelObserver;

/** Quantizes a weight exactly as QDQ insertion will, for passes that correct its error. */
export interface WeightQuantizer {
  /**
   * The weight of `node` after int8 quantization and dequantization, or
   * `undefined` when the node's weight is not quantized.
   */
  dequantized(node: Node): Float32Array | undefined;
  /**
   * The weight of `node` as int8 integers with their scales, `axis` the
   * per-channel axis (`undefined`: one scale) and `range` the integer range;
   * `undefined` when the node's weight is not quantized.
   */
  quantized(node: Node): {
    values: Int8Array;
    scale: Float32Array;
    axis: number | undefined;
    dims: readonly number[];
    range: { qmin: number; qmax: number };
  } | undefined;
  /**
   * Fixes the scales QDQ insertion will use for the weight of `node` (at
   * least `scale`; the bias-overflow guard may still raise them), for a pass
   * that rounded the weight against them and wrote the result back.
   */
  pin(node: Node, scale: Float32Array): void;
}

/** Settings of the passes; every field's default is in its doc and applied in one place. */
export interface PassSettings {
  /**
   * SmoothQuant migration strength α in [0, 1], or `"auto"`: per layer, the α
   * of 0, 0.1, …, 1 whose smoothed layer quantizes with the least output
   * error on the calibration statistics. Default 0.5.
   */
  smoothquantAlpha: number | "auto";
  /**
   * SmoothQuant inserts a Mul by 1/s where no producer can absorb it (after
   * HardSwish, say). Exact in float, but the producer's output is quantized
   * per tensor before the Mul: an ablation setting. Default `false`.
   */
  smoothquantInsertMul: boolean;
  /** Cross-layer equalization: sweeps over all pairs at most. Default 20. */
  cleIterations: number;
  /**
   * Cross-layer equalization with per-tensor weights: the most a layer's
   * channel may be scaled up where a Mul after it undoes the scale. Default
   * 16 (see `cross_layer_equalization.ts` for the measurements).
   */
  cleRescaleLimit: number;
  /**
   * Bias correction skips a layer whose largest |shift / bias| exceeds this
   * (NNCF's rule: a shift that large means the statistics, not the weights,
   * are off). Default 2.
   */
  biasCorrectionThreshold: number;
  /** Nodes to keep in float (targets with float fallback only). Default: none. */
  exclude: ExcludeSpec;
  /** How many layers the `sensitive` exclusion preset keeps float. Default 3. */
  sensitiveLayers: number;
  /** GPTQ: damping of the inputs' second moments, as a fraction of their mean diagonal. Default 0.01. */
  gptqDamp: number;
  /** GPTQ: calibration samples its second moments are summed over (at most the calibration set). Default 32. */
  gptqSamples: number;
}

/** Which nodes stay float: by name, op type, name pattern or preset. */
export interface ExcludeSpec {
  names: readonly string[];
  opTypes: readonly string[];
  /** Regular expressions matched against node names. */
  patterns: readonly string[];
  presets: readonly ExcludePreset[];
}

/**
 * Exclusion presets: `depthwise` every depthwise Conv; `first-last` the
 * first and last weighted layers; `sensitive` the weighted layers whose
 * quantization costs the most output SQNR on the calibration data.
 */
export type ExcludePreset = "depthwise" | "first-last" | "sensitive";

/** What a pass may use besides the model and its statistics. */
export interface PassContext {
  /** The target the model is quantized for (op set, opset range, weight rules). */
  profile: TargetProfile;
  settings: PassSettings;
  /** Per-tensor or per-channel weights, as QDQ insertion will write them. */
  perChannel: boolean;
  /** For `calibrated` passes: the weights as QDQ insertion will quantize them. */
  weights?: WeightQuantizer;
  /**
   * A constant input of a quantized op (a Mul's factors, say) as its
   * quantization will store it: activation-typed, from its own min and max.
   */
  constants?: (values: Float32Array) => Float32Array;
  /**
   * For the `sensitive` exclusion preset: the layers of the model quantized
   * whole (without float fallback), most error added first.
   */
  sensitivity?: () => Promise<{ node: string; dropDb: number }[]>;
  /**
   * For `calibrated` passes that need them (GPTQ): the summed Gram matrices
   * of layer inputs over the calibration samples, one pass over the data.
   */
  grams?: (requests: readonly GramRequest[]) => Promise<Gram[]>;
  /** For `lower` passes: how QDQ insertion quantized activations. */
  activations?: { dtype: "uint8" | "int8"; symmetric: boolean; powerOfTwo: boolean };
}

/** What a pass did. */
export interface PassReport {
  pass: PassName;
  /** The parameters it ran with. */
  params: Record<string, unknown>;
  /** Nodes it changed (names or labels). */
  nodes: string[];
  /** One line for people. */
  summary: string;
  /** Pass-specific findings, JSON-able. */
  details?: Record<string, unknown>;
  /** Wall time in milliseconds (statistics gathering is the pipeline's, not counted here). */
  ms: number;
}

/** One recovery pass. */
export interface Pass {
  readonly name: PassName;
  readonly stage: PassStage;
  /** One line: what the pass does. */
  readonly summary: string;
  /** Statistics of the float model the pass reads (none when absent). */
  needs?(model: Model, ctx: PassContext): StatRequest[];
  /** Applies the pass to `model` in place. */
  apply(model: Model, stats: StatLookup, ctx: PassContext): PassReport | Promise<PassReport>;
}
