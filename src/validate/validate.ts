/**
 * `validateModel`: checks a model against a target profile, rule by rule.
 *
 * @module
 */
import type { Model } from "../ir/model.ts";
import type { TargetProfile } from "../targets/types.ts";
import { ruleContext } from "./context.ts";
import { RULES } from "./registry.ts";
import type { Report, RuleOutcome } from "./report.ts";
import type { Rule } from "./rule.ts";

/** Options of {@linkcode validateModel}. */
export interface ValidateOptions {
  /** Model file, recorded in the report as the location of its results. Default: none. */
  file: string;
  /** Rules to run. Default: every built-in rule ({@linkcode RULES}). */
  rules: readonly Rule[];
}

/**
 * Validates `model` against `profile` without changing it. The report lists
 * every rule (with `applies: false` for those the target does not ask for)
 * and its violations; `summary.errors === 0` means the model meets the target.
 *
 * @example
 * ```ts
 * const report = validateModel(readModel("model.int8.onnx"), await loadTarget("npu-int8-only"));
 * if (report.summary.errors) console.log(formatText(report));
 * ```
 */
export function validateModel(model: Model, profile: TargetProfile, opts: Partial<ValidateOptions> = {}): Report {
  const ctx = ruleContext(model, profile);
  const rules: RuleOutcome[] = (opts.rules ?? RULES).map((rule) => {
    const applies = rule.applies?.(profile) ?? true;
    const hint = rule.hint.replaceAll("{target}", profile.name);
    const violations = applies
      ? rule.check(ctx).map((f) => ({
        rule: rule.id,
        severity: f.severity ?? rule.severity,
        ...(f.node !== undefined && { node: f.node }),
        ...(f.value !== undefined && { value: f.value }),
        message: f.message,
        hint,
      }))
      : [];
    return { id: rule.id, title: rule.title, severity: rule.severity, hint, applies, violations };
  });
  const all = rules.flatMap((r) => r.violations);
  return {
    target: profile.name,
    ...(opts.file !== undefined && { model: opts.file }),
    rules,
    summary: {
      errors: all.filter((v) => v.severity === "error").length,
      warnings: all.filter((v) => v.severity === "warning").length,
      rulesChecked: rules.filter((r) => r.applies).length,
      rulesFailed: rules.filter((r) => r.violations.some((v) => v.severity === "error")).length,
      nodes: model.graph.nodes.length,
    },
  };
}
