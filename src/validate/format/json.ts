/**
 * The report as one JSON document (the {@linkcode Report} type, unchanged).
 *
 * @module
 */
import type { Report } from "../report.ts";

/**
 * Formats a report as indented JSON.
 *
 * @example
 * ```ts
 * const report = JSON.parse(formatJson(validateModel(model, profile)));
 * report.summary.errors; // 0 when the model meets the target
 * ```
 */
export function formatJson(report: Report): string {
  return JSON.stringify(report, null, 2);
}
