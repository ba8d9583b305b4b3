/**
 * The report as SARIF 2.1.0, for code-scanning UIs (GitHub, GitLab, Azure
 * DevOps): one run whose driver lists every rule with its fix hint, one
 * result per violation, located in the model file (physical location) and
 * at the node (logical location).
 *
 * @module
 */
import { VERSION } from "../../version.ts";
import type { Report, Violation } from "../report.ts";

const SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/**
 * Formats a report as a SARIF 2.1.0 log (JSON text).
 *
 * @example
 * ```ts
 * fs.writeFileSync("edgeq.sarif", formatSarif(validateModel(model, profile, { file: "model.int8.onnx" })));
 * ```
 */
export function formatSarif(report: Report): string {
  const uri = report.model === undefined ? undefined : fileUri(report.model);
  const index = new Map(report.rules.map((r, i) => [r.id, i]));
  const rules = report.rules.map((r) => ({
    id: r.id,
    name: pascal(r.id),
    shortDescription: { text: r.title },
    fullDescription: { text: `${r.title}.${r.applies ? "" : ` Not required by ${report.target}.`}` },
    help: { text: r.hint },
    defaultConfiguration: { level: r.severity, enabled: r.applies },
  }));
  const results = report.rules.flatMap((r) => r.violations).map((v) => ({
    ruleId: v.rule,
    ruleIndex: index.get(v.rule)!,
    level: v.severity,
    message: { text: `${v.message}. Fix: ${v.hint}` },
    locations: [location(v, uri)],
    partialFingerprints: { "edgeqViolation/v1": [report.target, v.rule, v.node ?? "", v.value ?? ""].join("|") },
  }));
  const run = {
    tool: { driver: { name: "edgeq", semanticVersion: VERSION, rules } },
    automationDetails: { id: `edgeq-validate/${report.target}/` },
    ...(uri !== undefined && { artifacts: [{ location: { uri } }] }),
    invocations: [{ executionSuccessful: true }],
    results,
    properties: { target: report.target, summary: report.summary },
  };
  return JSON.stringify({ $schema: SCHEMA, version: "2.1.0", runs: [run] }, null, 2);
}

function location(v: Violation, uri: string | undefined) {
  const logical = v.node !== undefined
    ? { name: v.node, kind: "function" }
    : v.value !== undefined
    ? { name: v.value, kind: "variable" }
    : { name: "model", kind: "module" };
  return {
    ...(uri !== undefined && { physicalLocation: { artifactLocation: { uri, index: 0 } } }),
    logicalLocations: [logical],
  };
}

/** A file path as a URI reference: relative paths stay relative, absolute ones become `file://`. */
export function fileUri(path: string): string {
  const p = path.replaceAll("\\", "/");
  const enc = encodeURI(p).replaceAll("#", "%23").replaceAll("?", "%3F");
  if (/^[A-Za-z]:\//.test(p)) return `file:///${enc}`;
  return p.startsWith("/") ? `file://${enc}` : enc;
}

function pascal(id: string): string {
  return id.split("-").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}
