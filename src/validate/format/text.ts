/**
 * The report as text for a terminal or CI log: a verdict line, then each
 * rule with violations and the nodes it names, then the rules that passed.
 *
 * @module
 */
import type { Report, RuleOutcome } from "../report.ts";

/** Options of {@linkcode formatText}. */
export interface TextOptions {
  /** Violations shown per rule before "and N more". Default 25; `Infinity` shows all. */
  maxPerRule: number;
}

/**
 * Formats a report as text, grouped by rule, naming nodes.
 *
 * @example
 * ```ts
 * console.log(formatText(validateModel(model, profile, { file: "m.onnx" })));
 * // m.onnx against npu-int8-only: FAIL, 3 errors, 0 warnings (12 rules checked, 1 violated)
 * ```
 */
export function formatText(report: Report, opts: Partial<TextOptions> = {}): string {
  const max = opts.maxPerRule ?? 25;
  const s = report.summary;
  const failed = report.rules.filter((r) => r.violations.length);
  const lines = [
    `${report.model ?? "model"} against ${report.target}: ${s.errors ? "FAIL" : "PASS"}, ${plural(s.errors, "error")}, ` +
    `${plural(s.warnings, "warning")} (${s.rulesChecked} rules checked, ${failed.length ? `${failed.length} violated` : "none violated"})`,
  ];
  for (const r of failed) lines.push("", ...ruleLines(r, max));
  const passed = report.rules.filter((r) => r.applies && !r.violations.length).map((r) => r.id);
  const skipped = report.rules.filter((r) => !r.applies).map((r) => r.id);
  lines.push("");
  if (passed.length) lines.push(`passed: ${passed.join(", ")}`);
  if (skipped.length) lines.push(`not required by ${report.target}: ${skipped.join(", ")}`);
  return lines.join("\n");
}

function ruleLines(r: RuleOutcome, max: number): string[] {
  const errors = r.violations.filter((v) => v.severity === "error").length;
  const warnings = r.violations.length - errors;
  const counts = [errors && plural(errors, "error"), warnings && plural(warnings, "warning")].filter(Boolean).join(", ");
  const out = [`${errors ? "error" : "warning"} ${r.id}: ${r.title} (${counts})`];
  for (const v of r.violations.slice(0, max)) out.push(`  ${v.node ?? v.value ?? "model"}: ${v.message}`);
  if (r.violations.length > max) out.push(`  … and ${r.violations.length - max} more (--format json lists every one)`);
  out.push(`  fix: ${r.violations[0].hint}`);
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
