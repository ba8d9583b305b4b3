/**
 * `per-channel-not-allowed`: a Q/DQ with one scale per channel on a target
 * that takes one scale per tensor. Biases are not reported: their scales
 * follow the weight's, which is reported.
 *
 * @module
 */
import type { Rule } from "../rule.ts";
import { anchor, describeTensor } from "./_describe.ts";

/** Per-tensor scales only, where the profile says so. */
export const perChannelNotAllowed: Rule = {
  id: "per-channel-not-allowed",
  severity: "error",
  title: "Per-channel scales on a per-tensor target",
  hint: "quantize with --target {target} (one scale per tensor); cross-layer equalization recovers most of the accuracy",
  applies: (p) => !p.weights.perChannel,
  check(ctx) {
    return ctx.quantized.filter((t) => t.perChannel && t.role !== "bias").map((t) => ({
      node: anchor(t).label,
      value: t.value,
      message: `${capitalize(describeTensor(t))} has ${t.scale!.length} scales along axis ${t.axis}: ` +
        `${ctx.profile.name} takes one scale per tensor`,
    }));
  },
};

function capitalize(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
