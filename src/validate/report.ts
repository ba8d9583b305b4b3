/**
 * What `validate` returns: violations grouped by rule, with summary counts.
 * Plain data, so it serializes as JSON unchanged.
 *
 * @module
 */

/** An error makes a model fail its target; a warning does not. */
export type Severity = "error" | "warning";

/** One place where a model breaks a rule of its target. */
export interface Violation {
  /** Rule id, kebab-case and stable (`float-island`). */
  rule: string;
  severity: Severity;
  /** The node to look at (a compute node, or the QuantizeLinear/DequantizeLinear at fault). */
  node?: string;
  /** The value or initializer concerned. */
  value?: string;
  /** One line saying what is wrong, naming nodes and values. */
  message: string;
  /** How to fix it. */
  hint: string;
}

/** One rule's outcome: every rule checked appears, with or without violations. */
export interface RuleOutcome {
  id: string;
  title: string;
  /** The rule's default severity. */
  severity: Severity;
  hint: string;
  /** `false` when the target does not ask for what the rule checks (nothing was checked). */
  applies: boolean;
  violations: Violation[];
}

/** The result of validating one model against one target profile. */
export interface Report {
  /** Target profile name. */
  target: string;
  /** Model file, when known (formatters use it as the location of every result). */
  model?: string;
  /** Every rule, in registry order, with its violations. */
  rules: RuleOutcome[];
  summary: {
    errors: number;
    warnings: number;
    /** Rules that applied to the target. */
    rulesChecked: number;
    /** Rules with at least one error. */
    rulesFailed: number;
    /** Nodes in the model's graph. */
    nodes: number;
  };
}

/**
 * Every violation of a report, rule by rule.
 *
 * @example
 * ```ts
 * for (const v of violationsOf(report)) console.log(v.severity, v.node, v.message);
 * ```
 */
export function violationsOf(report: Report): Violation[] {
  return report.rules.flatMap((r) => r.violations);
}

/**
 * Whether a report has no errors (warnings allowed): what the CLI's exit code 0 means.
 *
 * @example
 * ```ts
 * meetsTarget(validateModel(model, loadTarget("npu-int8-only"))); // true when no rule reports an error
 * ```
 */
export function meetsTarget(report: Report): boolean {
  return report.summary.errors === 0;
}
