/**
 * Before calibrating: can this model meet the target at all? The
 * validator's model-level rules (ops outside the target's set, per-op
 * limits, opset, static shapes) run on the normalized float model, and on an
 * integer-only target the plan must quantize every node that computes on
 * data. Quantization cannot fix what this finds.
 *
 * @module
 */
import type { Model } from "../ir/model.ts";
import type { TargetProfile } from "../targets/types.ts";
import { ruleContext } from "../validate/context.ts";
import { ruleById } from "../validate/registry.ts";
import type { Violation } from "../validate/report.ts";
import type { Rule } from "../validate/rule.ts";
import { validateModel } from "../validate/validate.ts";
import { planQuantization } from "./plan.ts";
import type { QuantizeOptions } from "./types.ts";

/** Validation rules about the model itself, not about how it is quantized. */
const MODEL_RULES = ["op-not-supported", "op-limits", "opset-range", "dynamic-shape"];

/**
 * Every reason `model` (normalized, float) cannot meet `profile` when
 * quantized with `options`, as validation violations (errors only; empty
 * when nothing stands in the way). Rule ids are the validator's, plus
 * `float-island` for nodes the plan would leave float and `bias-not-int32`
 * for biases it would leave float on an int32-bias target.
 *
 * @example
 * ```ts
 * await normalize(model, { shapes: false });
 * const problems = targetPreflight(model, loadTarget("npu-int8-only"), quantizeOptionsFor(profile).options);
 * problems.map((p) => p.rule); // ["dynamic-shape", "dynamic-shape"]
 * ```
 */
export function targetPreflight(model: Model, profile: TargetProfile, options: QuantizeOptions): Violation[] {
  const rules = MODEL_RULES.map((id) => ruleById(id)).filter((r): r is Rule => !!r);
  const report = validateModel(model, profile, { rules });
  const out = report.rules.flatMap((r) => r.violations).filter((v) => v.severity === "error");
  if (profile.floatFallback) return out;
  const ctx = ruleContext(model, profile);
  const data = new Set(ctx.dataNodes.map((n) => n.label));
  const plan = planQuantization(model, options);
  for (const n of plan.nodes) {
    if (!data.has(n.node) || !Object.hasOwn(profile.ops, n.opType)) continue; // op-not-supported covers the rest
    if (!n.quantized) {
      out.push({
        rule: "float-island",
        severity: "error",
        node: n.node,
        message: `${n.opType} "${n.node}" would stay float: ${n.reason ?? "no quantization rule"}`,
        hint: n.reason?.includes("Log reads")
          ? `a Log's input cannot pass int8 and ${profile.name} runs no Log: run that part on a host, or choose a target with float fallback`
          : `edgeq cannot quantize this node yet; ${profile.name} runs nothing in float`,
      });
    } else if (n.reason?.startsWith("bias kept float") && profile.bias === "int32") {
      out.push({
        rule: "bias-not-int32",
        severity: "error",
        node: n.node,
        message: `${n.opType} "${n.node}": ${n.reason}`,
        hint: `${profile.name} needs int32 biases`,
      });
    }
  }
  return out;
}
