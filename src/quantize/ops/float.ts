/**
 * Ops that stay float on purpose: they compute shapes, indices or types, or
 * are already quantization ops. Listed so reports give a reason, not "no rule".
 *
 * @module
 */
import type { OpRule } from "../registry.ts";

const keep = (note: string): OpRule => ({ kind: "float", note });
const SHAPES = keep("computes shapes or indices, not float data");

/** Float rules. */
export const FLOAT_RULES: Record<string, OpRule> = {
  Shape: SHAPES,
  Size: SHAPES,
  NonZero: SHAPES,
  Range: SHAPES,
  ConstantOfShape: SHAPES,
  ArgMax: SHAPES,
  ArgMin: SHAPES,
  TopK: SHAPES,
  Cast: keep("changes the element type"),
  CastLike: keep("changes the element type"),
  Equal: keep("boolean output"),
  Less: keep("boolean output"),
  Greater: keep("boolean output"),
  Where: keep("selects between tensors by a boolean condition"),
  Constant: keep("constant"),
  QuantizeLinear: keep("already a quantization op"),
  DequantizeLinear: keep("already a quantization op"),
  If: keep("control flow"),
  Loop: keep("control flow"),
  Scan: keep("control flow"),
};
