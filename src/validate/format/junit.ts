/**
 * The report as JUnit XML for CI test reports: one test suite for the
 * target, one test case per rule. A rule with errors fails and its failure
 * lists the nodes; a rule the target does not ask for is skipped; warnings
 * go to the test case's output without failing it.
 *
 * @module
 */
import type { Report, RuleOutcome } from "../report.ts";

/**
 * Formats a report as JUnit XML.
 *
 * @example
 * ```ts
 * fs.writeFileSync("edgeq-junit.xml", formatJunit(validateModel(model, profile, { file: "model.int8.onnx" })));
 * ```
 */
export function formatJunit(report: Report): string {
  const failures = report.rules.filter((r) => r.violations.some((v) => v.severity === "error")).length;
  const skipped = report.rules.filter((r) => !r.applies).length;
  const counts = `tests="${report.rules.length}" failures="${failures}" errors="0" skipped="${skipped}"`;
  const model = report.model ?? "model";
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="edgeq validate" ${counts}>`,
    `  <testsuite name="${attr(`${model} against ${report.target}`)}" ${counts}>`,
    `    <properties>`,
    `      <property name="model" value="${attr(model)}"/>`,
    `      <property name="target" value="${attr(report.target)}"/>`,
    `    </properties>`,
    ...report.rules.map((r) => testCase(r, report.target)),
    `  </testsuite>`,
    `</testsuites>`,
  ].join("\n");
}

function testCase(r: RuleOutcome, target: string): string {
  const open = `    <testcase name="${attr(r.id)}" classname="${attr(`edgeq.validate.${target}`)}">`;
  if (!r.applies) return `${open}\n      <skipped message="${attr(`not required by ${target}`)}"/>\n    </testcase>`;
  const errors = r.violations.filter((v) => v.severity === "error");
  const warnings = r.violations.filter((v) => v.severity === "warning");
  const line = (v: RuleOutcome["violations"][number]) => `${v.node ?? v.value ?? "model"}: ${v.message}`;
  const parts: string[] = [];
  if (errors.length) {
    const body = [...errors.map(line), `fix: ${errors[0].hint}`].join("\n");
    parts.push(`      <failure message="${attr(`${errors.length} violation(s): ${r.title}`)}" type="${attr(r.id)}">${text(body)}</failure>`);
  }
  if (warnings.length) parts.push(`      <system-out>${text(warnings.map((v) => `warning ${line(v)}`).join("\n"))}</system-out>`);
  return parts.length ? `${open}\n${parts.join("\n")}\n    </testcase>` : `${open}</testcase>`;
}

// XML 1.0 cannot carry most control characters, even escaped.
// deno-lint-ignore no-control-regex
const INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function text(s: string): string {
  return s.replace(INVALID, "\uFFFD").replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function attr(s: string): string {
  return text(s).replaceAll('"', "&quot;").replaceAll("'", "&apos;").replaceAll("\n", "&#10;").replaceAll("\r", "&#13;").replaceAll("\t", "&#9;");
}
