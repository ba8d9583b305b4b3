/**
 * MatMul and Gemm: a constant B is an int8 weight (MatMul: its last axis;
 * Gemm: axis 0 if transB else 1); a dynamic B is an activation like A.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import type { OpRule, WeightSpec } from "../registry.ts";

function matmulWeight(node: Node, graph: Graph): WeightSpec | undefined {
  const b = graph.constant(node.inputs[1] ?? "");
  if (!b || b.dtype !== "float32" || b.dims.length < 1) return undefined;
  // A 1-D B has no output-feature axis: one scale for the tensor.
  return { input: 1, axis: b.dims.length >= 2 ? b.dims.length - 1 : undefined };
}

function gemmWeight(node: Node, graph: Graph): WeightSpec | undefined {
  const b = graph.constant(node.inputs[1] ?? "");
  if (!b || b.dtype !== "float32" || b.dims.length !== 2) return undefined;
  return {
    input: 1,
    axis: node.attrInt("transB", 0) ? 0 : 1,
    bias: node.inputs[2] ? 2 : undefined,
    biasMultiplier: node.attrFloat("alpha", 1),
  };
}

/** MatMul family rules. */
export const MATMUL_RULES: Record<string, OpRule> = {
  MatMul: {
    kind: "weighted",
    inputs: [0, 1],
    weight: matmulWeight,
    note: "constant B per output feature (last axis); two activations: both get QDQ (QLinearMatMul)",
  },
  Gemm: {
    kind: "weighted",
    inputs: [0, 1],
    weight: gemmWeight,
    note: "B per output feature (axis 0 if transB else 1); C int32 with scale alpha × sA × sB",
  },
};
