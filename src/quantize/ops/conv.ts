/**
 * Conv and ConvTranspose: int8 per-channel weights (Conv axis 0,
 * ConvTranspose axis 1), int32 bias, QDQ on the input and output.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import type { OpRule, WeightSpec } from "../registry.ts";

/** The constant float32 weight at input 1, if there is one. */
export function constantWeight(node: Node, graph: Graph, axis: number): WeightSpec | undefined {
  const w = graph.constant(node.inputs[1] ?? "");
  if (!w || w.dtype !== "float32" || w.dims.length <= axis) return undefined;
  return { input: 1, axis, bias: node.inputs[2] ? 2 : undefined };
}

/** Conv family rules. */
export const CONV_RULES: Record<string, OpRule> = {
  Conv: {
    kind: "weighted",
    inputs: [0, 1],
    weight: (n, g) => constantWeight(n, g, 0),
    note: "weight [M, C/g, k…] per output channel (axis 0); ORT fuses DQ→Conv→Q into QLinearConv",
  },
  ConvTranspose: {
    kind: "weighted",
    inputs: [0, 1],
    // Weight is [C, M/g, k…]: axis 1 has M/g scales shared by every group;
    // bias element m uses scale m mod M/g.
    weight: (n, g) => constantWeight(n, g, 1),
    note: "weight [C, M/g, k…] per output channel (axis 1; grouped: M/g scales repeat per group)",
  },
};
