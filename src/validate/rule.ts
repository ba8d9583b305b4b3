/**
 * The shape of a validation rule: one constraint of a target, checked on a
 * model, with a stable id, a default severity and a fix hint.
 *
 * @module
 */
import type { TargetProfile } from "../targets/types.ts";
import type { RuleContext } from "./context.ts";
import type { Severity } from "./report.ts";

/** What a rule found at one place; `validateModel` adds the rule id, severity and hint. */
export interface Finding {
  node?: string;
  value?: string;
  message: string;
  /** Overrides the rule's severity for this finding. */
  severity?: Severity;
}

/**
 * One constraint of a target profile.
 *
 * @example
 * ```ts
 * const opsetRange: Rule = {
 *   id: "opset-range",
 *   severity: "error",
 *   title: "Opset outside the target's range",
 *   hint: "convert the model to an opset {target} accepts",
 *   check: (ctx) => ctx.model.opset() > ctx.profile.opset.max ? [{ message: "opset too new" }] : [],
 * };
 * ```
 */
export interface Rule {
  /** Kebab-case, stable: CI configurations and SARIF consumers refer to it. */
  id: string;
  severity: Severity;
  /** Short statement of the problem, for reports and SARIF rule descriptions. */
  title: string;
  /** How to fix a violation; `{target}` stands for the profile name. */
  hint: string;
  /** Whether the target asks for what this rule checks. Default: always. */
  applies?(profile: TargetProfile): boolean;
  check(ctx: RuleContext): Finding[];
}
