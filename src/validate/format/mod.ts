/**
 * Report formatters: text, JSON, SARIF 2.1.0 and JUnit XML.
 *
 * @module
 */
import type { Report } from "../report.ts";
import { formatJson } from "./json.ts";
import { formatJunit } from "./junit.ts";
import { formatSarif } from "./sarif.ts";
import { formatText } from "./text.ts";

export { formatJson, formatJunit, formatSarif, formatText };
export type { TextOptions } from "./text.ts";

/** Output formats of `edgeq validate`. */
export const REPORT_FORMATS = ["text", "json", "sarif", "junit"] as const;

/** One of {@linkcode REPORT_FORMATS}. */
export type ReportFormat = typeof REPORT_FORMATS[number];

/**
 * Formats a report in one of the {@linkcode REPORT_FORMATS}.
 *
 * @example
 * ```ts
 * fs.writeFileSync("edgeq.sarif", formatReport(validateModel(model, profile), "sarif"));
 * ```
 */
export function formatReport(report: Report, format: ReportFormat): string {
  switch (format) {
    case "json":
      return formatJson(report);
    case "sarif":
      return formatSarif(report);
    case "junit":
      return formatJunit(report);
    default:
      return formatText(report);
  }
}
