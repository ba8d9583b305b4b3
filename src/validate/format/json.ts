/**
 * The report as one JSON document (the {@linkcode Report} type, unchanged).
 *
 * @module
 */
import type { Report } from "../report.ts";

/** Formats a report as indented JSON. */
export function formatJson(report: Report): string {
  return JSON.stringify(report, null, 2);
}
