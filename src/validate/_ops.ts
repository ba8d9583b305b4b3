/**
 * Op facts the rules share: where weighted ops keep their weight and bias,
 * and which ops only read shapes.
 *
 * @module
 */

/** Input indices of the weight and bias of ops with integer kernels. */
export const WEIGHTED: Readonly<Record<string, { weight: number; bias?: number }>> = {
  Conv: { weight: 1, bias: 2 },
  ConvTranspose: { weight: 1, bias: 2 },
  Gemm: { weight: 1, bias: 2 },
  MatMul: { weight: 1 },
};

/** Quantization boundaries: what the rules check, never "ops" themselves. */
export const QDQ_OPS: ReadonlySet<string> = new Set(["QuantizeLinear", "DequantizeLinear"]);

/** Ops that read only the shape of their input, never its data. */
export const METADATA_OPS: ReadonlySet<string> = new Set(["Shape", "Size"]);

/** Whether a node is in the default ONNX domain. */
export function isDefaultDomain(domain: string): boolean {
  return domain === "" || domain === "ai.onnx";
}
