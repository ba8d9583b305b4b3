/**
 * Read → write → read keeps models exact: the real models byte for byte, and
 * synthetic ones for what the real ones lack (metadata, doc strings, unknown
 * fields, typed-field tensors, every CNN dtype, INT64_MAX attributes).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import { create, equals, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import {
  AttributeProto_AttributeType as AT,
  type GraphProto,
  type ModelProto,
  ModelProtoSchema,
  type NodeProtoSchema,
  type TensorProto,
  TensorProtoSchema,
  type ValueInfoProtoSchema,
} from "./gen/onnx_pb.ts";
import { decodeModel } from "./decode.ts";
import { encodeModel, encodeWith } from "./encode.ts";
import { normalize } from "../normalize/mod.ts";
import { readModel } from "./file.ts";
import { ONNX_DTYPE_CODE, type DType } from "../ir/dtype.ts";
import { Graph } from "../ir/graph.ts";
import { Model } from "../ir/model.ts";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import { REAL_MODELS, runOrt, seededFloats } from "../../tests/fixtures/onnx_models.ts";

const parse = (b: Uint8Array) => fromBinary(ModelProtoSchema, b);
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

for (const m of REAL_MODELS) {
  test(`${m.name}: encode(read) is the file byte for byte, and decode→encode is stable`, () => {
    const file = fs.readFileSync(m.file);
    const first = encodeModel(readModel(m.file)).bytes;
    assert.ok(sameBytes(first, file), "first encode differs from the file");
    const second = encodeModel(decodeModel(first, { source: m.name })).bytes;
    assert.ok(equals(ModelProtoSchema, parse(file), parse(second)));
    assert.ok(sameBytes(second, first), "second encode differs from the first");
  });

  test(`${m.name}: the re-encoded model gives identical outputs in onnxruntime-node`, async () => {
    const again = encodeModel(decodeModel(encodeModel(readModel(m.file)).bytes)).bytes;
    const size = (m.input as readonly number[]).reduce((a, b) => a * b, 1);
    const feeds = { x: { dims: [...m.input], data: seededFloats(size, 7) } };
    const want = await runOrt(m.file, feeds);
    const got = await runOrt(again, feeds);
    assert.equal(Object.keys(got), Object.keys(want));
    for (const k of Object.keys(want)) {
      assert.equal(got[k].dims, want[k].dims);
      assert.ok(sameBytes(got[k].bytes, want[k].bytes), `output ${k} differs`);
    }
  });
}

for (const m of REAL_MODELS) {
  test(`${m.name}, normalized (weights as initializers): the spliced encoding is protobuf's writer's, byte for byte`, async () => {
    const model = readModel(m.file);
    await normalize(model, { shapes: false });
    const big = [...model.graph.initializers.values()].filter((t) => t.bytes.byteLength >= 4096).length;
    assert.ok(big > 10, `${big} initializers are large enough to splice`);
    const spliced = encodeModel(model).bytes;
    assert.ok(sameBytes(spliced, encodeWith(model, undefined, false).bytes), "spliced bytes differ from the writer's");
    assert.ok(sameBytes(encodeModel(decodeModel(spliced)).bytes, spliced), "stable through decode");
  });
}

test("splicing keeps unknown fields last and packed float_data as float_data", () => {
  const t = Tensor.fromArray("w", [2048], seededFloats(2048, 3));
  const typed = new Tensor({ name: t.name, dtype: t.dtype, dims: t.dims, bytes: t.bytes, origin: { field: "float_data" } });
  const g = new Graph("g");
  g.inputs = [{ name: "x", dtype: "float32", shape: [2048] }];
  g.outputs = [{ name: "y", dtype: "float32", shape: [2048] }];
  g.addInitializer(typed);
  g.addInitializer(Tensor.fromArray("raw", [4096], seededFloats(4096, 4)));
  g.nodes = [new Node({ opType: "Add", name: "add", inputs: ["x", "w"], outputs: ["y"] })];
  const base = new Model(g, { opsets: new Map([["", 13]]) });
  const proto = parse(encodeWith(base, undefined, false).bytes);
  // Unknown fields on the model and the graph (as a newer ONNX would write them) come back last in each.
  proto.$unknown = [{ no: 99, wireType: WireType.Varint, data: Uint8Array.of(7) }];
  proto.graph!.$unknown = [{ no: 98, wireType: WireType.Varint, data: Uint8Array.of(5) }];
  const m = decodeModel(toBinary(ModelProtoSchema, proto));
  assert.is(m.graph.initializers.get("w")!.origin?.field, "float_data");
  const spliced = encodeModel(m).bytes;
  assert.ok(sameBytes(spliced, encodeWith(m, undefined, false).bytes));
  const back = parse(spliced);
  assert.equal(back.graph!.initializer[0].floatData.length, 2048);
  assert.equal(back.graph!.initializer[1].rawData.byteLength, 4 * 4096);
  assert.equal([back.$unknown?.[0].no, back.graph!.$unknown?.[0].no], [99, 98]);
});

type ModelInit = MessageInitShape<typeof ModelProtoSchema>;
type NodeInit = MessageInitShape<typeof NodeProtoSchema>;
type ModelFields = Exclude<ModelInit, ModelProto>;
type GraphInit = Exclude<ModelInit["graph"], GraphProto | undefined>;

function valueInfo(name: string, elemType: number, dims: number[]): MessageInitShape<typeof ValueInfoProtoSchema> {
  const dim = dims.map((d) => ({ value: { case: "dimValue" as const, value: BigInt(d) } }));
  return { name, type: { value: { case: "tensorType", value: { elemType, shape: { dim } } } } };
}

function model(nodes: NodeInit[], extra: ModelFields = {}, graph: GraphInit = {}): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ version: 13n }],
    graph: { name: "g", node: nodes, ...graph },
    ...extra,
  });
}

/** Bytes of a varint field `no` with value `v`: what an unknown field looks like on the wire. */
function varintField(no: number, v: number): Uint8Array {
  const out: number[] = [];
  for (let x = (no << 3) | WireType.Varint; ; x >>>= 7) {
    if (x < 0x80) { out.push(x); break; }
    out.push((x & 0x7f) | 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

test("metadata_props, doc strings and unknown fields survive a round trip", () => {
  const proto = model(
    [{
      opType: "Relu",
      name: "relu",
      input: ["x"],
      output: ["y"],
      docString: "node doc",
      attribute: [{ name: "note", type: AT.STRING, s: new TextEncoder().encode("kept"), docString: "attr doc" }],
    }],
    {
      producerName: "p",
      producerVersion: "1.2",
      domain: "test.domain",
      modelVersion: 3n,
      docString: "model doc",
      metadataProps: [{ key: "author", value: "edgeq" }, { key: "license", value: "MIT" }],
    },
    {
      docString: "graph doc",
      input: [{ ...valueInfo("x", 1, [1, 4]), docString: "input doc" }],
      output: [valueInfo("y", 1, [1, 4])],
      valueInfo: [valueInfo("unused", 7, [2])],
    },
  );
  const node = proto.graph!.node[0];
  node.$unknown = [{ no: 99, wireType: WireType.Varint, data: Uint8Array.of(42) }];
  proto.graph!.$unknown = [{ no: 98, wireType: WireType.Varint, data: Uint8Array.of(7) }];
  // A top-level unknown field appended as raw bytes, the way a newer writer would add one.
  const raw = Buffer.concat([toBinary(ModelProtoSchema, proto), varintField(97, 5)]);

  const m = decodeModel(raw, { source: "synthetic" });
  assert.equal([...m.metadata], [["author", "edgeq"], ["license", "MIT"]]);
  assert.is(m.docString, "model doc");
  assert.is(m.graph.docString, "graph doc");
  assert.is(m.graph.nodes[0].docString, "node doc");
  assert.is(m.graph.inputs[0].docString, "input doc");
  const out = encodeModel(m).bytes;
  assert.ok(sameBytes(out, raw), "round trip changed bytes");
  const back = parse(out);
  assert.ok(equals(ModelProtoSchema, back, parse(raw)));
  assert.equal(back.graph!.node[0].$unknown?.map((u) => [u.no, [...u.data]]), [[99, [42]]]);
  assert.equal(back.$unknown?.map((u) => u.no), [97]);
  assert.is(back.graph!.node[0].attribute[0].docString, "attr doc");
});

/** [dtype, typed field, values as written in that field, expected element bytes]. */
const TYPED: [DType, keyof TensorProto, (number | bigint)[], ArrayBufferView][] = [
  ["float32", "floatData", [1.5, -2, 3.25], Float32Array.of(1.5, -2, 3.25)],
  ["float64", "doubleData", [Math.PI, -1e300], Float64Array.of(Math.PI, -1e300)],
  ["int32", "int32Data", [-2147483648, 7, 2147483647], Int32Array.of(-2147483648, 7, 2147483647)],
  ["int8", "int32Data", [-128, -1, 127], Int8Array.of(-128, -1, 127)],
  ["uint8", "int32Data", [0, 200, 255], Uint8Array.of(0, 200, 255)],
  ["bool", "int32Data", [1, 0, 1], Uint8Array.of(1, 0, 1)],
  // float16 bit patterns of 1, -2 and 0.5.
  ["float16", "int32Data", [0x3c00, 0xc000, 0x3800], Uint16Array.of(0x3c00, 0xc000, 0x3800)],
  ["int64", "int64Data", [INT64_MAX, INT64_MIN, -1n], BigInt64Array.of(INT64_MAX, INT64_MIN, -1n)],
];

const bytesOf = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

for (const [dtype, field, values, want] of TYPED) {
  test(`${dtype} in ${String(field)} decodes to the right bytes and re-encodes to the same field`, () => {
    const t = create(TensorProtoSchema, { name: "t", dataType: ONNX_DTYPE_CODE[dtype], dims: [BigInt(values.length)] });
    (t as unknown as Record<string, unknown>)[field] = values;
    const proto = model([{ opType: "Identity", input: ["t"], output: ["y"] }], {}, {
      initializer: [t],
      output: [valueInfo("y", ONNX_DTYPE_CODE[dtype], [values.length])],
    });
    const bytes = toBinary(ModelProtoSchema, proto);
    const m = decodeModel(bytes);
    const tensor = m.graph.initializers.get("t")!;
    assert.ok(sameBytes(tensor.bytes, bytesOf(want)), `${dtype} bytes`);
    const back = encodeModel(m).bytes;
    assert.ok(sameBytes(back, bytes), "round trip changed bytes");
    const bt = parse(back).graph!.initializer[0];
    assert.equal(bt[field], values);
    assert.is(bt.rawData.byteLength, 0);
  });
}

test("every CNN dtype as a raw_data and a typed-field initializer gives its values in onnxruntime-node", async () => {
  const g = new Graph("dtypes");
  const expect = new Map<string, Uint8Array>();
  const proto = model([], {}, {});
  for (const [dtype, field, values, data] of TYPED.filter(([d]) => d !== "float64")) {
    const dims = [values.length];
    const raw = new Tensor({ name: `${dtype}_raw`, dtype, dims, bytes: bytesOf(data).slice() });
    g.initializers.set(raw.name, raw);
    const typed = create(TensorProtoSchema, { name: `${dtype}_typed`, dataType: ONNX_DTYPE_CODE[dtype], dims: [BigInt(values.length)] });
    (typed as unknown as Record<string, unknown>)[field] = values;
    proto.graph!.initializer.push(typed);
    for (const name of [raw.name, typed.name]) {
      g.nodes.push(new Node({ opType: "Identity", inputs: [name], outputs: [`${name}_out`] }));
      g.outputs.push({ name: `${name}_out`, dtype, shape: dims });
      expect.set(`${name}_out`, bytesOf(data));
    }
  }
  // A float input keeps ORT from treating the whole graph as constant.
  g.inputs.push({ name: "x", dtype: "float32", shape: [1] });
  g.nodes.push(new Node({ opType: "Identity", inputs: ["x"], outputs: ["x_out"] }));
  g.outputs.push({ name: "x_out", dtype: "float32", shape: [1] });
  // Typed-field tensors enter through the protobuf, so the decoder sees them as a file would hold them.
  const base = parse(encodeModel(new Model(g, { opsets: new Map([["", 13]]) })).bytes);
  base.graph!.initializer.push(...proto.graph!.initializer);
  const m = decodeModel(toBinary(ModelProtoSchema, base));
  assert.is(m.graph.initializers.get("float16_typed")!.origin?.field, "int32_data");
  const out = await runOrt(encodeModel(m).bytes, { x: { dims: [1], data: Float32Array.of(0.25) } });
  for (const [name, want] of expect) assert.ok(sameBytes(out[name].bytes, want), `${name} differs`);
  const f16 = new Tensor({ name: "h", dtype: "float16", dims: [3], bytes: out["float16_typed_out"].bytes });
  assert.equal([...f16.toFloat32()], [1, -2, 0.5]);
});

test("INT64_MAX and other int64 extremes in Slice attributes survive exactly and run", async () => {
  const ints = (name: string, v: bigint[]) => ({ name, type: AT.INTS, ints: v });
  const proto = model(
    [{
      opType: "Slice",
      name: "slice",
      input: ["x"],
      output: ["y"],
      attribute: [ints("starts", [1n]), ints("ends", [INT64_MAX]), ints("axes", [1n])],
    }, {
      opType: "Identity",
      name: "tagged",
      input: ["y"],
      output: ["z"],
      attribute: [{ name: "big", type: AT.INT, i: INT64_MAX - 1n }, ints("far", [INT64_MIN, (1n << 60n) + 1n])],
    }],
    { opsetImport: [{ version: 9n }], irVersion: 4n },
    { input: [valueInfo("x", 1, [1, 6])], output: [valueInfo("z", 1, [1, 5])] },
  );
  const bytes = toBinary(ModelProtoSchema, proto);
  const m = decodeModel(bytes);
  assert.equal(m.graph.nodes[0].attrInts("ends"), [2 ** 63]);
  const back = encodeModel(m).bytes;
  assert.ok(sameBytes(back, bytes), "round trip changed bytes");
  const nodes = parse(back).graph!.node;
  assert.equal(nodes[0].attribute[1].ints, [INT64_MAX]);
  assert.is(nodes[1].attribute[0].i, INT64_MAX - 1n);
  assert.equal(nodes[1].attribute[1].ints, [INT64_MIN, (1n << 60n) + 1n]);

  // A node made in code (no carry) still writes 2^63 as INT64_MAX, not as an overflow.
  m.graph.nodes = [new Node({
    opType: "Slice",
    inputs: ["x"],
    outputs: ["z"],
    attrs: { starts: { type: "ints", value: [1] }, ends: { type: "ints", value: [2 ** 63] }, axes: { type: "ints", value: [1] } },
  })];
  const fresh = encodeModel(m).bytes;
  assert.equal(parse(fresh).graph!.node[0].attribute[1].ints, [INT64_MAX]);
  const x = Float32Array.of(0, 1, 2, 3, 4, 5);
  const out = await runOrt(fresh, { x: { dims: [1, 6], data: x } });
  assert.equal([...new Float32Array(out.z.bytes.buffer)], [1, 2, 3, 4, 5]);
});

test.run();
