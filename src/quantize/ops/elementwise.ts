/**
 * Element-wise arithmetic and Concat: every float input and the output get
 * QDQ with their own ranges (ORT: QLinearAdd/QLinearMul/QLinearConcat);
 * constant float inputs become activation-typed initializers quantized from
 * their own min/max.
 *
 * @module
 */
import type { OpRule } from "../registry.ts";

const binary = (note: string): OpRule => ({ kind: "compute", inputs: [0, 1], note });

/** Element-wise rules. */
export const ELEMENTWISE_RULES: Record<string, OpRule> = {
  Add: binary("both operands and the sum quantized (QLinearAdd)"),
  Mul: binary("both operands and the product quantized (QLinearMul)"),
  Sub: binary("both operands and the difference quantized (float kernel between DQ and Q on CPU)"),
  Div: binary("both operands and the quotient quantized (float kernel between DQ and Q on CPU)"),
  Max: { kind: "compute", inputs: "all", note: "every operand and the result quantized" },
  Min: { kind: "compute", inputs: "all", note: "every operand and the result quantized" },
  Sum: { kind: "compute", inputs: "all", note: "every operand and the result quantized" },
  Mean: { kind: "compute", inputs: "all", note: "every operand and the result quantized" },
  // The exponent stays float: 2.0 must stay exactly 2.
  Pow: { kind: "compute", inputs: [0], note: "base and result quantized, exponent kept float" },
  Sqrt: { kind: "compute", note: "input and output quantized" },
  Concat: {
    kind: "compute",
    inputs: "all",
    note: "each input and the output with its own range (QLinearConcat requantizes)",
  },
};
