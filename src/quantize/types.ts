/**
 * Quantization settings and results shared by the planner, the QDQ inserter
 * and the pipeline.
 *
 * @module
 */

/** Integer type of quantized activations. */
export type ActivationType = "int8" | "uint8";

/** Integer type a quantized activation is stored in: the 8-bit type, or its 16-bit sibling for values kept wide. */
export type ActivationStorage = ActivationType | "int16" | "uint16";

/** Options for QDQ quantization; each field's default is applied in one place. */
export interface QuantizeOptions {
  /** Per-output-channel weight scales (Conv, ConvTranspose, Gemm, MatMul). Default `true`. */
  perChannel: boolean;
  /** Activation integer type. Default `"uint8"` (the fast path of ORT's x86 kernels). */
  activations: ActivationType;
  /** Symmetric activations (zero point 0 for int8, 128 for uint8). Default `false`. */
  symmetricActivations: boolean;
  /**
   * 7-bit weights ([-64, 64], as ORT's `reduce_range`) to avoid u8s8
   * pair-add saturation on x86 without VNNI. Default `false`.
   */
  reduceRange: boolean;
  /**
   * Node names kept in float. Their inputs and outputs are still rounded
   * where quantized neighbours read or write them (as ONNX Runtime's
   * `nodes_to_exclude`). Default none.
   */
  exclude: readonly string[];
  /**
   * Excluded nodes whose outputs their readers take unrounded: a reader with
   * no other activation input then stays float too. Mixed precision keeps
   * nodes float this way, since the rounding of a node's output is part of
   * the error it was ranked by. Default none.
   */
  floatOutputs?: readonly string[];
  /**
   * Sqrt runs in float and reads a float input, as Log and Reciprocal do,
   * with what computes that input (back through element-wise ops, Conv,
   * Gemm, MatMul and data movement) while only such ops read it: √ is
   * steepest at 0, where an int8 grid puts every small value (a power
   * spectrum before its magnitude: silero_vad's STFT, 7.7 → 20 dB). For
   * targets with float fallback; `quantizeOptionsFor` sets it from the
   * profile. Default `false`.
   */
  floatSqrt?: boolean;
  /**
   * Activation values quantized to the 16-bit sibling of `activations`
   * (int16 for int8, uint16 for uint8), where a target runs them (W8A16):
   * the model is raised to opset 21, whose QuantizeLinear takes 16-bit
   * types. A value that shares its parameters with another (data movement)
   * follows that one. Default none.
   */
  wideActivations?: readonly string[];
  /**
   * Every scale an exact power of two (shift-only requantization): each
   * scale is rounded up to the next power of two so its range still fits;
   * bias scales follow as products. Default `false`.
   */
  powerOfTwoScales: boolean;
  /** Bias of Conv/ConvTranspose/Gemm: `"int32"` (scale input × weight scale) or left `"float"`. Default `"int32"`. */
  bias: "int32" | "float";
  /**
   * Bias-overflow guard: raise a weight channel's scale until its int32
   * bias fits (bias scale = input scale × weight scale), instead of clamping
   * the bias. Matters where folded BatchNorm left near-zero weight channels
   * (weight scale ~1e-17 → bias scale far below 1e-9): the tiny weights then
   * round to 0, which is what they are worth. Default `true`.
   */
  biasOverflowGuard: boolean;
  /**
   * Scales fixed for named weight initializers, per channel (or one): a
   * floor under the scale computed from the weight, which a pass that chose
   * the integers itself (optimal rounding) sets to the scale it rounded
   * against, so QDQ insertion finds the same integers. Default none.
   */
  weightScales?: ReadonlyMap<string, Float32Array>;
}

/** Per-tensor quantization parameters. */
export interface QuantParams {
  /** One scale per tensor, or per channel along `axis`. */
  scale: Float32Array;
  zeroPoint: Int32Array;
  dtype: "int8" | "uint8" | "int32";
  axis?: number;
}
