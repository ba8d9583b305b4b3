/**
 * Activations: input and output get QDQ with their own ranges. Relu and Clip
 * may fold into the quantized op before them (ORT's QDQRemovableActivation);
 * Softmax's output has fixed parameters (its range is [0, 1]).
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import type { OpRule } from "../registry.ts";

/** A scalar float constant input, or `undefined` when absent; `NaN` when not a constant scalar. */
function scalarInput(node: Node, graph: Graph, index: number): number | undefined {
  const name = node.inputs[index];
  if (!name) return undefined;
  const t = graph.constant(name);
  if (!t || t.size !== 1 || (t.dtype !== "float32" && t.dtype !== "float64")) return NaN;
  return t.toFloat64()[0];
}

/**
 * Clip folds exactly when min ≤ 0 ≤ max: the output range, which always
 * contains 0, then lies inside [min, max], so quantizing the producer's
 * output with that range clamps as Clip would.
 */
function clipFoldable(node: Node, graph: Graph): boolean {
  const lo = scalarInput(node, graph, 1), hi = scalarInput(node, graph, 2);
  return !Number.isNaN(lo) && !Number.isNaN(hi) && (lo === undefined || lo <= 0) && (hi === undefined || hi >= 0);
}

const unary = (note: string): OpRule => ({ kind: "compute", note });

/** Activation rules. */
export const ACTIVATION_RULES: Record<string, OpRule> = {
  Relu: { kind: "compute", foldable: () => true, note: "folds into the op before it when that op is quantized" },
  Clip: {
    kind: "compute",
    foldable: clipFoldable,
    note: "min/max stay float; folds into the op before it when min ≤ 0 ≤ max",
  },
  LeakyRelu: unary("input and output quantized (QLinearLeakyRelu)"),
  PRelu: unary("input and output quantized, slope kept float"),
  Sigmoid: unary("input and output quantized (QLinearSigmoid)"),
  HardSigmoid: unary("input and output quantized"),
  HardSwish: unary("input and output quantized"),
  Tanh: unary("input and output quantized"),
  Gelu: unary("input and output quantized"),
  Erf: unary("input and output quantized"),
  Elu: unary("input and output quantized"),
  Softplus: unary("input and output quantized"),
  Neg: unary("input and output quantized"),
  Abs: unary("input and output quantized"),
  Softmax: {
    kind: "compute",
    output: "softmax",
    note: "output in [0, 1] with fixed parameters (ORT's QDQSoftmax), no calibration needed",
  },
  LayerNormalization: unary("input and output quantized, scale and bias kept float"),
  InstanceNormalization: unary("input and output quantized, scale and bias kept float"),
  BatchNormalization: unary("input and output quantized, parameters kept float (normalize folds most away)"),
};
