/**
 * Target profiles: what a piece of hardware can run in integer form, as
 * data. A profile decides which quantization settings and recovery passes
 * are legal, and `validate` checks a quantized model against it.
 *
 * @module
 */

/** Recovery passes a profile may allow (implemented in later steps; names are stable). */
export type PassName =
  | "cross-layer-equalization"
  | "smoothquant"
  | "bias-overflow-guard"
  | "bias-correction"
  | "float-fallback";

/** Whether a pass may run on this target, and whether it runs by default. */
export interface PassRule {
  allowed: boolean;
  default: boolean;
}

/** Per-op limits real NPUs have; absent fields mean no limit. */
export interface OpLimits {
  /** Largest kernel size per spatial axis, e.g. [7, 7]. */
  maxKernel?: number[];
  /** Allowed strides (each spatial stride must be one of these). */
  strides?: number[];
  /** Allowed dilations. */
  dilations?: number[];
  /** Grouped convolutions other than depthwise allowed. */
  grouped?: boolean;
  /** Depthwise convolutions (group = channels) allowed. */
  depthwise?: boolean;
  /** Largest number of input or output channels. */
  maxChannels?: number;
  /** Broadcasting allowed between the inputs of an elementwise op. */
  broadcast?: "none" | "scalar" | "per-channel" | "numpy";
  /** Largest input rank. */
  maxRank?: number;
}

/** A resolved target profile (after `extends` is applied). */
export interface TargetProfile {
  /** Profile name (file name without `.json` for built-ins). */
  name: string;
  /** One-line description: what hardware this models. */
  description: string;
  weights: {
    dtype: "int8";
    symmetric: boolean;
    /** Per-channel weight scales allowed. */
    perChannel: boolean;
    /** Narrow range [-127, 127] for int8 weights. */
    narrowRange: boolean;
  };
  activations: {
    dtype: "int8" | "uint8";
    symmetric: boolean;
  };
  /** Bias type of quantized Conv/Gemm/MatMul. */
  bias: "int32" | "float";
  /** Scales must be powers of two (shift-only requantization). */
  powerOfTwoScales: boolean;
  /** Nodes may stay float (exclusion, mixed precision). */
  floatFallback: boolean;
  /** Ops the target runs in integer form, with their limits (`{}` = no limits). */
  ops: Record<string, OpLimits>;
  /** Supported default-domain opset range. */
  opset: { min: number; max: number };
  /** All tensor shapes must be static. */
  staticShapes: boolean;
  /** Recovery passes: legal or not, on by default or not. */
  passes: Record<PassName, PassRule>;
}
