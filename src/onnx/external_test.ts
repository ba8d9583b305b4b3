/**
 * External data: writeModel puts large tensors in `<file>.data` with aligned
 * offsets, ONNX Runtime and readModel both load it, and broken external data
 * gives a one-line InputError naming the model, tensor and location.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema, TensorProto_DataLocation } from "./gen/onnx_pb.ts";
import { encodeModel } from "./encode.ts";
import { readModel, writeModel } from "./file.ts";
import { runOrt, seededFloats, tempDir, throwsInput, twoConvModel } from "../../tests/fixtures/onnx_models.ts";

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
const MiB = 1 << 20;
const feeds = { x: { dims: [1, 128, 8, 8], data: seededFloats(128 * 64, 3) } };

/** External-data entries of each initializer, by tensor name. */
function externalEntries(file: string): Map<string, Record<string, string>> {
  const proto = fromBinary(ModelProtoSchema, fs.readFileSync(file));
  const out = new Map<string, Record<string, string>>();
  for (const t of proto.graph!.initializer) {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) continue;
    out.set(t.name, Object.fromEntries(t.externalData.map((e) => [e.key, e.value])));
  }
  return out;
}

/** Writes `model.onnx` with external data into a fresh folder; `edit` may rewrite the protobuf first. */
function writeExternal(edit?: (p: ReturnType<typeof fromBinary<typeof ModelProtoSchema>>) => void): { dir: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, "model.onnx");
  writeModel(file, twoConvModel(), { externalData: true });
  if (edit) {
    const proto = fromBinary(ModelProtoSchema, fs.readFileSync(file));
    edit(proto);
    fs.writeFileSync(file, toBinary(ModelProtoSchema, proto));
  }
  return { dir, file };
}

test("externalData: true writes <file>.data with location/offset/length, 1 MiB tensors 64 KiB-aligned", () => {
  const { dir, file } = writeExternal();
  try {
    const model = twoConvModel();
    const data = fs.readFileSync(`${file}.data`);
    const entries = externalEntries(file);
    // b1, w1, w2 are ≥ 1 KiB (the default threshold); b2 (512 B) and tiny stay inline.
    assert.equal([...entries.keys()].sort(), ["b1", "w1", "w2"]);
    for (const [name, e] of entries) {
      assert.is(e.location, "model.onnx.data");
      const t = model.graph.initializers.get(name)!;
      const offset = Number(e.offset), length = Number(e.length);
      assert.is(length, t.bytes.byteLength);
      if (length >= MiB) assert.is(offset % 65536, 0, `${name} offset ${offset} not aligned`);
      assert.ok(sameBytes(data.subarray(offset, offset + length), t.bytes), `${name} bytes differ in .data`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("the external-data model loads in onnxruntime-node and in readModel with identical tensors", async () => {
  const { dir, file } = writeExternal();
  try {
    const model = twoConvModel();
    const want = await runOrt(encodeModel(model).bytes, feeds);
    const got = await runOrt(file, feeds);
    assert.ok(sameBytes(got.y.bytes, want.y.bytes), "ORT output differs between inline and external");
    const back = readModel(file);
    assert.equal([...back.graph.initializers.keys()], [...model.graph.initializers.keys()]);
    for (const [name, t] of model.graph.initializers) {
      const b = back.graph.initializers.get(name)!;
      assert.equal(b.dims, t.dims);
      assert.ok(sameBytes(b.bytes, t.bytes), `${name} differs after readModel`);
    }
    assert.is(back.graph.initializers.get("w1")!.origin?.external?.location, "model.onnx.data");
    // Written again inline, it is the same model as one that never went external.
    assert.ok(sameBytes(encodeModel(back).bytes, encodeModel(model).bytes));
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("a missing .data file is a one-line InputError naming model, tensor and location", () => {
  const { dir, file } = writeExternal();
  try {
    fs.rmSync(`${file}.data`);
    throwsInput(() => readModel(file), `Cannot read model "${file}": tensor "b1" external data "model.onnx.data" is missing`);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("a truncated .data file is a one-line InputError with the byte range", () => {
  const { dir, file } = writeExternal();
  try {
    const e = externalEntries(file).get("w2")!;
    const cut = Number(e.offset) + 100;
    fs.truncateSync(`${file}.data`, cut);
    const end = Number(e.offset) + Number(e.length);
    throwsInput(
      () => readModel(file),
      `Cannot read model "${file}": tensor "w2" external data "model.onnx.data" is truncated (needs bytes ${e.offset}..${end}, file has ${cut})`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

for (const location of ["../model.onnx.data", "sub/../../x.data", "/etc/passwd"]) {
  test(`a location "${location}" outside the model's folder is refused`, () => {
    const { dir, file } = writeExternal((p) => {
      const w1 = p.graph!.initializer.find((t) => t.name === "w1")!;
      w1.externalData.find((e) => e.key === "location")!.value = location;
    });
    try {
      throwsInput(() => readModel(file), `Cannot read model "${file}": tensor "w1" external data "${location}" points outside the model's folder`);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
}

test("a negative external-data offset is refused", () => {
  const { dir, file } = writeExternal((p) => {
    p.graph!.initializer.find((t) => t.name === "w1")!.externalData.find((e) => e.key === "offset")!.value = "-5";
  });
  try {
    throwsInput(() => readModel(file), `Cannot read model "${file}": tensor "w1" has invalid external data offset "-5" or length "${4 * 256 * 128 * 9}"`);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('externalData "auto" goes external above inlineLimit and stays inline below it', () => {
  const dir = tempDir();
  try {
    const model = twoConvModel();
    let total = 0;
    for (const t of model.graph.initializers.values()) total += t.bytes.byteLength;
    const above = path.join(dir, "above.onnx");
    writeModel(above, model, { externalData: "auto", inlineLimit: total - 1 });
    assert.ok(fs.existsSync(`${above}.data`));
    assert.equal([...externalEntries(above).keys()].sort(), ["b1", "w1", "w2"]);
    const below = path.join(dir, "below.onnx");
    writeModel(below, model, { externalData: "auto", inlineLimit: total });
    assert.not.ok(fs.existsSync(`${below}.data`));
    assert.ok(sameBytes(fs.readFileSync(below), encodeModel(model).bytes));
    const dflt = path.join(dir, "default.onnx");
    writeModel(dflt, model);
    assert.not.ok(fs.existsSync(`${dflt}.data`));
    for (const f of [above, below]) {
      for (const [name, t] of readModel(f).graph.initializers) {
        assert.ok(sameBytes(t.bytes, model.graph.initializers.get(name)!.bytes), `${f}: ${name}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test.run();
