/**
 * Data movement: the output holds input values (or, for Resize linear, values
 * between them), so when the data input is quantized the output shares its
 * scale and zero point (ORT's QDQDirect8BitOp): DQ → op → Q with equal
 * parameters, which ORT turns into the op on int8 data. When the data input
 * is not quantized the op stays float.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import type { OpRule, OutputParams } from "../registry.ts";

const shared = (note: string): OpRule => ({ kind: "shared", note });

// Cubic interpolation overshoots the input range; nearest and linear do not.
function resizeOutput(node: Node): OutputParams {
  return node.attrString("mode", "nearest") === "cubic" ? "calibrated" : "shared";
}

/**
 * The value a Pad fills with: undefined unless its mode is constant, 0 with
 * no fill input, NaN when the fill is not a constant scalar.
 */
export function padFill(node: Node, graph: Graph): number | undefined {
  if (node.opType !== "Pad" || node.domain !== "" || node.attrString("mode", "constant") !== "constant") return undefined;
  if (!node.inputs[2]) return 0;
  const v = graph.constant(node.inputs[2]);
  return v && v.size === 1 ? v.toFloat64()[0] : NaN;
}

// A fill of 0 lies in every range that includes zero, as the input's grid does; another may not.
function padOutput(node: Node, graph: Graph): OutputParams {
  const fill = padFill(node, graph);
  return fill === undefined || fill === 0 ? "shared" : "calibrated";
}

/** Data-movement rules. */
export const MOVEMENT_RULES: Record<string, OpRule> = {
  Reshape: shared("output shares the input's parameters"),
  Transpose: shared("output shares the input's parameters"),
  Squeeze: shared("output shares the input's parameters"),
  Unsqueeze: shared("output shares the input's parameters"),
  Flatten: shared("output shares the input's parameters"),
  Slice: shared("output shares the input's parameters"),
  Split: shared("every output shares the input's parameters"),
  Gather: shared("data output shares the input's parameters, indices untouched"),
  GatherElements: shared("data output shares the input's parameters, indices untouched"),
  GatherND: shared("data output shares the input's parameters, indices untouched"),
  Expand: shared("output shares the input's parameters"),
  Tile: shared("output shares the input's parameters"),
  DepthToSpace: shared("output shares the input's parameters"),
  SpaceToDepth: shared("output shares the input's parameters"),
  Identity: shared("output shares the input's parameters"),
  Resize: {
    kind: "shared",
    output: resizeOutput,
    note: "nearest/linear: output shares the input's parameters; cubic overshoots: own range",
  },
  Pad: {
    kind: "shared",
    output: padOutput,
    note: "output shares the input's parameters unless it pads with a non-zero constant",
  },
};
