/**
 * Target profiles: what a piece of hardware can run in integer form, as
 * data. A profile decides which quantization settings and recovery passes
 * are legal, and `validate` checks a quantized model against it.
 *
 * @module
 */

/**
 * Recovery passes a profile may allow, by the names `src/passes/` registers
 * them under (a profile naming any other is refused on load).
 */
export type PassName =
  | "fusions"
  | "cross-layer-equalization"
  | "high-bias-absorption"
  | "smoothquant"
  | "layernorm-equalization"
  | "bias-overflow-guard"
  | "bias-correction"
  | "float-fallback"
  | "gptq"
  | "ort-cpu-kernels";

/** Whether a pass may run on this target, and whether it runs by default. */
export interface PassRule {
  allowed: boolean;
  default: boolean;
}

/**
 * Per-op limits real NPUs have; absent fields mean no limit. Spatial limits
 * (`maxKernel`, `strides`, `dilations`) apply per spatial axis.
 */
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
  /**
   * Broadcasting between the inputs of an element-wise op: `none` equal
   * shapes; `scalar` also one-element operands; `per-channel` also an operand
   * that varies along axis 1 only (e.g. [1, C, 1, 1] against [N, C, H, W]);
   * `numpy` any.
   */
  broadcast?: "none" | "scalar" | "per-channel" | "numpy";
  /** Largest rank of any input or output. */
  maxRank?: number;
  /** Allowed values of the op's `mode` attribute (Resize: nearest/linear/cubic; Pad: constant/reflect/edge). */
  modes?: string[];
  /** Input indices that must be constants (initializers, or DequantizeLinear of initializers). */
  constantInputs?: number[];
}

/**
 * A resolved target profile (after `extends` is applied), as
 * `targets/schema.json` describes it; `loadTarget` returns one.
 */
export interface TargetProfile {
  /** Profile name (file name without `.json` for built-ins). */
  name: string;
  /** One-line description: what hardware this models. */
  description: string;
  weights: {
    dtype: "int8";
    /** `true`: weights must be symmetric (zero point 0); `false`: asymmetric weights are accepted too. */
    symmetric: boolean;
    /** Per-channel weight scales allowed. */
    perChannel: boolean;
    /** Narrow range [-127, 127] for int8 weights. */
    narrowRange: boolean;
  };
  activations: {
    dtype: "int8" | "uint8";
    /** `true`: activations must be symmetric (zero point 0 for int8, 128 for uint8). */
    symmetric: boolean;
    /** Wider types the target also runs (W8A16): the 16-bit sibling of `dtype`. Absent: none. */
    alsoAllowed?: ("int16" | "uint16")[];
  };
  /** Bias type of quantized Conv/Gemm/MatMul. */
  bias: "int32" | "float";
  /** Scales must be powers of two (shift-only requantization). */
  powerOfTwoScales: boolean;
  /** Nodes may stay float (exclusion, mixed precision). */
  floatFallback: boolean;
  /**
   * Op types (default domain) the target runs on quantized tensors, with
   * their limits (`{}` = no limits). QuantizeLinear/DequantizeLinear are the
   * format, never listed. Without `floatFallback`, every op between a graph
   * input and a graph output must be listed and quantized; with it, an
   * unlisted op simply runs in float.
   */
  ops: Record<string, OpLimits>;
  /** Supported default-domain opset range. */
  opset: { min: number; max: number };
  /** All tensor shapes must be static. */
  staticShapes: boolean;
  /** Recovery passes: legal or not, on by default or not. */
  passes: Record<PassName, PassRule>;
}
