// The four output formats, each read back by a real consumer: the SARIF
// 2.1.0 JSON schema (Microsoft's, checked with Ajv, formats included) and an
// XML parser for JUnit, with counts, node names and escaping checked.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import AjvDraft04 from "ajv-draft-04";
import ajvFormats from "ajv-formats";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { convNet, npuLike, opsWith } from "./_testing.ts";
import { formatReport } from "./format/mod.ts";
import { fileUri } from "./format/sarif.ts";
import { RULES } from "./registry.ts";
import type { Report } from "./report.ts";
import { validateModel } from "./validate.ts";

const Format = suite("validate: formats");

/** The parts of a SARIF result these tests read. */
interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  locations: { physicalLocation: { artifactLocation: { uri: string } }; logicalLocations: { name: string }[] }[];
}

/** The parts of a parsed JUnit test case these tests read. */
interface JunitCase {
  "@name": string;
  failure?: { "#text": string; "@message": string };
  skipped?: unknown;
  "system-out"?: string;
}

const SCHEMA = fileURLToPath(new URL("../../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json", import.meta.url));
const FILE = "models/my model#1.onnx";
const ODD = `conv<1>&"x"'`;

/**
 * The FP32 conv net against an npu-like target without Add, with an awkward
 * node name: errors in several rules, a warning-free skipped rule, XML
 * specials in names.
 */
function sample(): Report {
  const m = convNet();
  m.graph.nodes.find((n) => n.name === "conv")!.name = ODD;
  m.graph.inputs[0].shape = ["N", 4, 8, 8];
  const ops = Object.fromEntries(Object.entries(opsWith()).filter(([k]) => k !== "Add"));
  return validateModel(m, npuLike({ ops }), { file: FILE });
}

/** A SARIF validator: a plain boolean (a passing check must not narrow its argument) and the last errors. */
function sarifValidator(): { valid(log: unknown): boolean; errors(): string } {
  // The schema's `language` pattern has a stray "]" that is only legal
  // outside unicode mode, as draft-04 validators read patterns.
  const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false });
  // Both are CommonJS modules whose exports also carry themselves as `default`.
  ajvFormats.default(ajv);
  const check = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA, "utf8")));
  return { valid: (log) => check(log), errors: () => JSON.stringify(check.errors?.slice(0, 3)) };
}

Format("sarif: valid against the SARIF 2.1.0 schema, rules with help, one result per violation at its node", () => {
  const report = sample();
  const sarif = JSON.parse(formatReport(report, "sarif"));
  const validator = sarifValidator();
  assert.ok(validator.valid(sarif), validator.errors());
  assert.is(sarif.version, "2.1.0");
  const run = sarif.runs[0];
  assert.equal(run.tool.driver.rules.map((r: { id: string }) => r.id), RULES.map((r) => r.id));
  for (const r of run.tool.driver.rules) assert.ok(r.help.text.length > 10, `help of ${r.id}`);
  const violations = report.rules.flatMap((r) => r.violations);
  assert.is(run.results.length, violations.length);
  (run.results as SarifResult[]).forEach((res, i) => {
    const v = violations[i];
    assert.is(res.ruleId, v.rule);
    assert.is(run.tool.driver.rules[res.ruleIndex].id, v.rule);
    assert.is(res.level, v.severity);
    assert.is(res.locations[0].physicalLocation.artifactLocation.uri, "models/my%20model%231.onnx");
    assert.is(res.locations[0].logicalLocations[0].name, v.node ?? v.value);
  });
  const islands = (run.results as SarifResult[]).filter((r) => r.ruleId === "float-island");
  assert.ok(islands.some((r) => r.locations[0].logicalLocations[0].name === ODD));
});

Format("sarif: the schema check is not vacuous: a broken log is refused", () => {
  const sarif = JSON.parse(formatReport(sample(), "sarif"));
  const validator = sarifValidator();
  assert.ok(validator.valid(sarif));
  sarif.runs[0].results[0].level = "fatal";
  assert.not.ok(validator.valid(sarif));
  delete sarif.runs[0].results[0].level;
  sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri = "a b\\c";
  assert.not.ok(validator.valid(sarif), "a path that is not a URI reference");
});

Format("sarif: file paths become URI references", () => {
  const cases: [string, string][] = [
    ["model.int8.onnx", "model.int8.onnx"],
    ["out dir/m#1?.onnx", "out%20dir/m%231%3F.onnx"],
    ["/abs/path/m.onnx", "file:///abs/path/m.onnx"],
    ["C:\\models\\m.onnx", "file:///C:/models/m.onnx"],
  ];
  for (const [path, uri] of cases) assert.is(fileUri(path), uri, path);
});

Format("junit: well-formed XML, one test case per rule, failures listing nodes, names escaped", () => {
  const report = sample();
  const xml = formatReport(report, "junit");
  assert.is(XMLValidator.validate(xml), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", isArray: (name) => name === "testcase" }).parse(xml);
  const s = doc.testsuites.testsuite;
  const failing = report.rules.filter((r) => r.violations.some((v) => v.severity === "error"));
  const skipped = report.rules.filter((r) => !r.applies);
  assert.ok(failing.length >= 4 && skipped.length >= 1, "the sample fails several rules and skips some");
  assert.is(Number(s["@tests"]), RULES.length);
  assert.is(Number(s["@failures"]), failing.length);
  assert.is(Number(s["@skipped"]), skipped.length);
  assert.is(Number(doc.testsuites["@failures"]), failing.length);
  assert.is(s["@name"], `${FILE} against npu-test`);
  const cases = s.testcase as JunitCase[];
  assert.equal(cases.map((c) => c["@name"]), RULES.map((r) => r.id));
  assert.is(cases.filter((c) => c.failure).length, failing.length);
  assert.is(cases.filter((c) => c.skipped !== undefined).length, skipped.length);
  const island = cases.find((c) => c["@name"] === "float-island")!;
  const body = island.failure!["#text"];
  for (const v of report.rules.find((r) => r.id === "float-island")!.violations) assert.ok(body.includes(`${v.node}: `), v.node);
  assert.ok(body.includes(`${ODD}: Conv "${ODD}" computes in float`), "the odd name survives escaping");
  assert.match(island.failure!["@message"], /^4 violation\(s\)/);
});

Format("junit: warnings go to system-out without failing; control characters never reach the XML", () => {
  const report = sample();
  const rule = report.rules.find((r) => r.id === "op-not-supported")!;
  for (const v of rule.violations) v.severity = "warning";
  rule.violations[0].message += " \u0001bell\u0007";
  const xml = formatReport(report, "junit");
  assert.is(XMLValidator.validate(xml), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", isArray: (name) => name === "testcase" }).parse(xml);
  const c = (doc.testsuites.testsuite.testcase as JunitCase[]).find((t) => t["@name"] === "op-not-supported")!;
  assert.is(c.failure, undefined);
  assert.match(c["system-out"] ?? "", /^warning add: Add "add": npu-test has no integer kernel for Add/);
});

Format("text: a verdict, then each failing rule with its nodes and fix, then the rules that passed", () => {
  const report = sample();
  const text = formatReport(report, "text");
  const lines = text.split("\n");
  assert.match(lines[0], new RegExp(`^${FILE.replace(/[.#]/g, "\\$&")} against npu-test: FAIL, ${report.summary.errors} errors, 0 warnings \\(${report.summary.rulesChecked} rules checked, \\d+ violated\\)$`));
  assert.ok(lines.includes("error float-island: Op computes in float on an integer-only target (4 errors)"));
  assert.ok(lines.some((l) => l.startsWith(`  ${ODD}: Conv "${ODD}" computes in float`)));
  assert.ok(lines.includes("  fix: quantize with --target npu-test so every op gets QuantizeLinear/DequantizeLinear, or replace ops that have no integer form"));
  assert.match(text, /\npassed: .*zero-point-range/);
  assert.match(text, /\nnot required by npu-test: per-channel-not-allowed, non-power-of-two-scale/);
});

Format("text: long rules are cut with a count; json round-trips the report", () => {
  const report = sample();
  const rule = report.rules.find((r) => r.id === "float-island")!;
  rule.violations = Array.from({ length: 40 }, (_, i) => ({ ...rule.violations[0], node: `n${i}` }));
  const text = formatReport(report, "text");
  assert.ok(text.includes("  n24: ") && !text.includes("  n25: "));
  assert.ok(text.includes("  … and 15 more (--format json lists every one)"));
  assert.equal(JSON.parse(formatReport(report, "json")), report);
});

Format.run();
