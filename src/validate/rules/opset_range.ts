/**
 * `opset-range`: the model's default-domain opset outside the range the
 * target's toolchain reads.
 *
 * @module
 */
import type { Rule } from "../rule.ts";

/** The ONNX opset lies in the profile's range. */
export const opsetRange: Rule = {
  id: "opset-range",
  severity: "error",
  title: "Opset outside the target's range",
  hint: "convert the model to an opset {target} reads (`edgeq normalize --opset N` upgrades; re-export to go lower)",
  check(ctx) {
    const v = ctx.model.opset();
    const { min, max } = ctx.profile.opset;
    if (v >= min && v <= max) return [];
    return [{ value: "ai.onnx", message: `The model imports ONNX opset ${v}: ${ctx.profile.name} reads opsets ${min} to ${max}` }];
  },
};
