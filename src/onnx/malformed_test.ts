/**
 * Bad input never gets past decodeModel as a partial model or a stray
 * RangeError: every case is a one-line InputError naming the file and part.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import {
  AttributeProto_AttributeType as AT,
  ModelProtoSchema,
  type NodeProtoSchema,
  TensorProto_DataLocation,
  type TensorProtoSchema,
} from "./gen/onnx_pb.ts";
import { decodeModel } from "./decode.ts";
import { readModel } from "./file.ts";
import { InputError } from "../errors.ts";
import { lcg, REAL_MODELS, tempDir } from "../../tests/fixtures/onnx_models.ts";

const classifier = fs.readFileSync(REAL_MODELS[0].file);

/** The error `fn` throws; fails the test unless it is an InputError with a one-line message. */
function inputError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    assert.not.match(e.message, /\n/);
    return e.message;
  }
  assert.unreachable("no error thrown");
  return "";
}

const decodeError = (bytes: Uint8Array, source = "m.onnx") => inputError(() => decodeModel(bytes, { source }));

/** Top-level fields of a ModelProto as the file lays them out: number, first byte, end. */
function topLevel(bytes: Uint8Array): { no: number; start: number; end: number }[] {
  const r = new BinaryReader(bytes);
  const out = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const [no, wt] = r.tag();
    r.skip(wt, no);
    out.push({ no, start, end: r.pos });
  }
  return out;
}

test("an empty file and a missing file", () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, "empty.onnx");
    fs.writeFileSync(file, "");
    assert.is(inputError(() => readModel(file)), `Cannot read model "${file}": empty file`);
    const missing = path.join(dir, "missing.onnx");
    assert.is(inputError(() => readModel(missing)), `Cannot read model "${missing}": no such file`);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("the classifier cut at 10%, 50%, 99.9% and at field boundaries names the cut", () => {
  const fields = topLevel(classifier);
  const graph = fields.find((f) => f.no === 7)!;
  const opset = fields.find((f) => f.no === 8)!;
  assert.ok(opset.start === graph.end, "this check expects opset_import right after graph");
  const n = classifier.byteLength;
  for (const frac of [0.1, 0.5, 0.999]) {
    const cut = Math.floor(n * frac);
    assert.is(decodeError(classifier.subarray(0, cut)), `Cannot read model "m.onnx": truncated file (${cut} bytes, graph ends at byte ${graph.end})`);
  }
  assert.is(decodeError(classifier.subarray(0, graph.start + 1)), `Cannot read model "m.onnx": truncated file (${graph.start + 1} bytes, cut inside graph)`);
  assert.is(decodeError(classifier.subarray(0, graph.end)), `Cannot read model "m.onnx": no opset_import (truncated file?)`);
  assert.is(decodeError(classifier.subarray(0, opset.start + 1)), `Cannot read model "m.onnx": truncated file (${opset.start + 1} bytes, cut inside opset_import)`);
  assert.is(decodeError(classifier.subarray(0, opset.end - 1)), `Cannot read model "m.onnx": truncated file (${opset.end - 1} bytes, opset_import ends at byte ${opset.end})`);
  assert.is(decodeError(classifier.subarray(0, graph.start)), `Cannot read model "m.onnx": no graph (truncated file?)`);
});

test("every cut of every real model is an InputError, never a partial model", () => {
  for (const m of REAL_MODELS) {
    const bytes = fs.readFileSync(m.file);
    const cuts = new Set<number>();
    for (let i = 1; i < 64; i++) cuts.add(Math.floor((bytes.byteLength * i) / 64));
    for (let i = 1; i <= 16; i++) cuts.add(bytes.byteLength - i);
    for (const cut of cuts) assert.match(decodeError(bytes.subarray(0, cut), m.name), /^Cannot read model "\w+": (truncated file|no opset_import)/);
  }
});

test("random bytes, a PNG header and text are not an ONNX model", () => {
  const next = lcg(42);
  const random = Uint8Array.from({ length: 4096 }, () => Math.floor(next() * 256));
  const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0);
  const text = new TextEncoder().encode("name,score\nresnet,0.76\n");
  const json = new TextEncoder().encode('{"model": "x.onnx"}');
  for (const [name, bytes] of Object.entries({ random, png, text, json })) {
    assert.is(decodeError(bytes, name), `Cannot read model "${name}": not an ONNX model`, name);
  }
});

type TensorInit = MessageInitShape<typeof TensorProtoSchema>;
type NodeInit = MessageInitShape<typeof NodeProtoSchema>;

/** A model around `initializer` and `node`, as bytes. */
function modelBytes(initializer: TensorInit[], node: NodeInit[] = []): Uint8Array {
  return toBinary(ModelProtoSchema, create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ version: 13n }],
    graph: { name: "g", initializer, node },
  }));
}

const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

const BAD_TENSORS: [string, TensorInit, string][] = [
  ["an unknown dtype code", { name: "w", dataType: 99, dims: [2n], rawData: new Uint8Array(2) }, `tensor "w" has unsupported data type 99`],
  ["raw_data shorter than dims", { name: "w", dataType: 1, dims: [2n, 3n], rawData: f32(1, 2) }, `truncated tensor "w": 8 bytes for float32[2,3], expected 24`],
  ["raw_data longer than dims", { name: "w", dataType: 1, dims: [2n, 3n], rawData: f32(1, 2, 3, 4, 5, 6, 7) }, `tensor "w" has 28 bytes for float32[2,3], expected 24`],
  ["no data at all", { name: "w", dataType: 7, dims: [3n] }, `truncated tensor "w": 0 bytes for int64[3], expected 24`],
  ["negative dims", { name: "w", dataType: 1, dims: [-1n] }, `tensor "w" has invalid dims [-1]`],
  ["the wrong typed field", { name: "w", dataType: 6, dims: [2n], floatData: [1, 2] }, `tensor "w" of type int32 keeps its data in float_data`],
  ["too few typed values", { name: "w", dataType: 3, dims: [4n], int32Data: [1, 2] }, `truncated tensor "w": 2 bytes for int8[4], expected 4`],
  [
    "external data with no folder to read it from",
    {
      name: "w",
      dataType: 1,
      dims: [2n],
      dataLocation: TensorProto_DataLocation.EXTERNAL,
      externalData: [{ key: "location", value: "w.bin" }],
    },
    `tensor "w" keeps its data in "w.bin" and no folder was given to read it from`,
  ],
];

for (const [what, tensor, why] of BAD_TENSORS) {
  test(`an initializer with ${what}`, () => {
    assert.is(decodeError(modelBytes([tensor])), `Cannot read model "m.onnx": ${why}`);
  });
}

test("a graph with a cycle names the nodes on it", () => {
  const bytes = modelBytes([], [
    { opType: "Relu", name: "a", input: ["b_out"], output: ["a_out"] },
    { opType: "Relu", name: "b", input: ["a_out"], output: ["b_out"] },
    { opType: "Relu", name: "c", input: ["x"], output: ["c_out"] },
  ]);
  assert.is(decodeError(bytes), `Cannot read model "m.onnx": graph has a cycle through "a", "b"`);
});

test("a Constant node with a truncated tensor or no tensor names node and attribute", () => {
  const constant = (t?: TensorInit): NodeInit => ({
    opType: "Constant",
    name: "const",
    output: ["c"],
    attribute: [{ name: "value", type: AT.TENSOR, t }],
  });
  const short = constant({ dataType: 1, dims: [4n], rawData: f32(1, 2) });
  assert.is(decodeError(modelBytes([], [short])), `Cannot read model "m.onnx": truncated tensor "const.value": 8 bytes for float32[4], expected 16`);
  assert.is(decodeError(modelBytes([], [constant()])), `Cannot read model "m.onnx": attribute "value" of node "const" has no tensor`);
});

test("a few hundred random mutations of the classifier fail only with InputError", () => {
  const next = lcg(2024);
  const int = (n: number) => Math.floor(next() * n);
  const outcomes = { parsed: 0, refused: 0 };
  for (let i = 0; i < 300; i++) {
    let b: Uint8Array = classifier.slice();
    switch (i % 5) {
      case 0: // overwrite a few bytes anywhere
        for (let k = 1 + int(8); k > 0; k--) b[int(b.length)] = int(256);
        break;
      case 1: // truncate anywhere
        b = b.subarray(0, int(b.length));
        break;
      case 2: // flip bits where the graph structure lives (node names, attribute types)
        for (let k = 1 + int(4); k > 0; k--) b[int(4000)] ^= 1 << int(8);
        break;
      case 3: // overwrite bytes near the end (outputs, value infos, opsets)
        for (let k = 1 + int(4); k > 0; k--) b[b.length - 1 - int(3000)] = int(256);
        break;
      case 4: { // delete a short run of bytes inside the graph
        const at = int(b.length), n = 1 + int(16);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      }
    }
    try {
      decodeModel(b, { source: "fuzz" });
      outcomes.parsed++;
    } catch (e) {
      if (!(e instanceof InputError)) throw new Error(`mutation ${i} threw ${(e as Error).name}: ${(e as Error).message}`);
      assert.match(e.message, /^Cannot read model "fuzz": [^\n]+$/);
      outcomes.refused++;
    }
  }
  // Both outcomes occur, so the loop exercised the decoder rather than one early check.
  assert.ok(outcomes.parsed > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
});

test.run();
