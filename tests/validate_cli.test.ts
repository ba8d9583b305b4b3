/**
 * `edgeq validate` as a CI job runs it: exit 0 clean (warnings allowed), 1
 * with violations, 2 for input it cannot read or a bad target; reports in
 * every format on stdout or in a file.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { writeModel } from "../src/onnx/mod.ts";
import { convNet, NPU_SETTINGS, qdq } from "../src/validate/_testing.ts";
import { edgeq } from "./fixtures/cli.ts";
import { tempDir } from "./fixtures/onnx_models.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));


const dir = tempDir("edgeq-validate-");
const INT8 = path.join(dir, "net.int8.onnx");
const FP32 = path.join(dir, "net.onnx");
writeModel(INT8, qdq(convNet(), NPU_SETTINGS));
writeModel(FP32, convNet());
const SARIF = path.join(dir, "edgeq.sarif");
const PROFILE = path.join(dir, "u8-npu.json");
fs.writeFileSync(PROFILE, JSON.stringify({ extends: "npu-int8-only", activations: { dtype: "uint8" } }));
const GARBAGE = path.join(dir, "garbage.onnx");
fs.writeFileSync(GARBAGE, "not a model");

const BAD_INPUT: [string[], RegExp][] = [
  [["validate", GARBAGE, "--target", "npu-int8-only"], /Cannot read model .*garbage\.onnx": not an ONNX model/],
  [["validate", INT8, "--target", "no-such-npu"], /Unknown target "no-such-npu"/],
  [["validate", INT8, "--target", "npu-int8-only", "--format", "sarif", "-o", INT8], /Refusing to overwrite the model .*net\.int8\.onnx/],
];

const runs = {
  pass: edgeq("validate", INT8, "--target", "npu-int8-only"),
  warn: edgeq("validate", INT8, "--target", "cpu-mixed", "--json"),
  fail: edgeq("validate", FP32, "--target", "npu-int8-only", "--format", "json"),
  sarif: edgeq("validate", FP32, "--target", "npu-int8-only", "--format", "sarif", "-o", SARIF),
  profile: edgeq("validate", INT8, "--target", PROFILE),
  bad: Promise.all(BAD_INPUT.map(([args]) => edgeq(...args))),
};

test("a model that meets its target exits 0 and says PASS", async () => {
  const r = await runs.pass;
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^.*net\.int8\.onnx against npu-int8-only: PASS, 0 errors, 0 warnings/);
});

test("warnings alone exit 0: int8 activations on cpu-mixed", async () => {
  const r = await runs.warn;
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.summary.errors, 0);
  assert.ok(report.summary.warnings > 0);
});

test("violations exit 1; the JSON report names the float ops by rule", async () => {
  const r = await runs.fail;
  assert.is(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.target, "npu-int8-only");
  const island = report.rules.find((x: { id: string }) => x.id === "float-island");
  assert.equal(island.violations.map((v: { node: string }) => v.node).sort(), ["add", "conv", "dw", "relu"]);
});

test("-o writes the report to a file and the text report to stdout", async () => {
  const r = await runs.sarif;
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /against npu-int8-only: FAIL/);
  assert.match(r.stdout, /\nerror float-island: /);
  const sarif = JSON.parse(fs.readFileSync(SARIF, "utf8"));
  assert.is(sarif.version, "2.1.0");
  assert.ok(sarif.runs[0].results.some((x: { ruleId: string }) => x.ruleId === "float-island"));
});

test("a profile file that extends a built-in is honoured", async () => {
  const r = await runs.profile;
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /error activation-dtype: .*\n {2}\S+: The activation "x" at QuantizeLinear "[^"]+" is int8, not uint8/);
});

test("unreadable input, a bad target or -o naming the model exit 2 with one line and write nothing", async () => {
  const results = await runs.bad;
  BAD_INPUT.forEach(([args, message], i) => {
    const r = results[i];
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split("\n").length, 1, "one line");
  });
  assert.ok(fs.statSync(INT8).size > 1000, "the model named by -o was not overwritten");
});

test.after(async () => {
  await Promise.all(Object.values(runs));
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
