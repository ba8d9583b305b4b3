/**
 * Every validation rule, in the order reports list them: what the target
 * runs first (ops, float islands), then how tensors are quantized, then the
 * model as a whole (opset, shapes), then per-op limits.
 *
 * @module
 */
import { activationDtype } from "./rules/activation_dtype.ts";
import { asymmetricWeights } from "./rules/asymmetric_weights.ts";
import { badScale } from "./rules/bad_scale.ts";
import { biasNotInt32 } from "./rules/bias_not_int32.ts";
import { biasSaturated } from "./rules/bias_saturated.ts";
import { dynamicShape } from "./rules/dynamic_shape.ts";
import { floatIsland } from "./rules/float_island.ts";
import { nonPowerOfTwoScale } from "./rules/non_power_of_two_scale.ts";
import { opLimits } from "./rules/op_limits.ts";
import { opNotSupported } from "./rules/op_not_supported.ts";
import { opsetRange } from "./rules/opset_range.ts";
import { perChannelNotAllowed } from "./rules/per_channel_not_allowed.ts";
import { weightDtype } from "./rules/weight_dtype.ts";
import { zeroPointRange } from "./rules/zero_point_range.ts";
import type { Rule } from "./rule.ts";

/** The built-in rules; ids are stable. */
export const RULES: readonly Rule[] = [
  opNotSupported,
  floatIsland,
  perChannelNotAllowed,
  asymmetricWeights,
  weightDtype,
  activationDtype,
  nonPowerOfTwoScale,
  biasNotInt32,
  biasSaturated,
  badScale,
  zeroPointRange,
  opsetRange,
  dynamicShape,
  opLimits,
];

/**
 * The rule with this id, if any.
 *
 * @example
 * ```ts
 * ruleById("float-island")?.id; // "float-island"
 * ```
 */
export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}
