/**
 * Validation of a (quantized) model against a target profile: one rule per
 * constraint under `rules/`, a {@linkcode Report} grouped by rule, and
 * formatters for terminals (text), tools (JSON), code scanning (SARIF) and
 * CI test reports (JUnit).
 *
 * @example
 * ```ts
 * import { formatReport, validateModel } from "./src/validate/mod.ts";
 *
 * const report = validateModel(readModel("model.int8.onnx"), profile, { file: "model.int8.onnx" });
 * console.log(formatReport(report, "text"));
 * process.exitCode = report.summary.errors ? 1 : 0;
 * ```
 *
 * @module
 */
export { meetsTarget, type Report, type RuleOutcome, type Severity, type Violation, violationsOf } from "./report.ts";
export type { Finding, Rule } from "./rule.ts";
export type { QuantizedTensor, QuantRole, RuleContext } from "./context.ts";
export { RULES, ruleById } from "./registry.ts";
export { validateModel, type ValidateOptions } from "./validate.ts";
export {
  formatJson,
  formatJunit,
  formatReport,
  formatSarif,
  formatText,
  REPORT_FORMATS,
  type ReportFormat,
  type TextOptions,
} from "./format/mod.ts";
