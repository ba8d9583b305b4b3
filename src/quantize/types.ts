/**
 * Quantization settings and results shared by the planner, the QDQ inserter
 * and the pipeline.
 *
 * @module
 */

/** Integer type of quantized activations. */
export type ActivationType = "int8" | "uint8";

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
  /** Node names kept in float. Default none. */
  exclude: readonly string[];
}

/** Per-tensor quantization parameters. */
export interface QuantParams {
  /** One scale per tensor, or per channel along `axis`. */
  scale: Float32Array;
  zeroPoint: Int32Array;
  dtype: "int8" | "uint8" | "int32";
  axis?: number;
}
