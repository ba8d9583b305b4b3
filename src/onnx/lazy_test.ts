/**
 * Lazy tensors: a large model's weights stay in its file until used. The
 * skeleton reader leaves large raw data (initializers, Constant attributes,
 * subgraphs) where it is; everything reads, encodes and runs as when read
 * whole; a file changed since reading is refused; a model written for ONNX
 * Runtime refers to the weights through a hard link instead of copying them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { Node } from "../ir/node.ts";
import { Tensor } from "../ir/tensor.ts";
import type { Model } from "../ir/model.ts";
import { encodeModel } from "./encode.ts";
import { readModel, writeModel, writeModelForRuntime } from "./file.ts";
import { runOrt, seededFloats, tempDir, throwsInput, twoConvModel } from "../../tests/fixtures/onnx_models.ts";

const feeds = { x: { dims: [1, 128, 8, 8], data: seededFloats(128 * 64, 3) } };
const KiB = 1024;
// Byte equality without uvu's diff of a megabyte (and Buffer views against plain arrays).
const same = (a: Uint8Array, b: Uint8Array) => assert.ok(a.byteLength === b.byteLength && Buffer.compare(a, b) === 0, "same bytes");

/** twoConvModel plus a Constant node whose 16 KiB tensor scales the output, written inline to a fresh folder. */
function written(): { dir: string; file: string; model: Model } {
  const model = twoConvModel();
  const g = model.graph;
  const k = Tensor.fromArray("k", [1, 128, 8, 4], Float32Array.from(seededFloats(4096, 9), (v) => 1 + v / 4));
  g.nodes.push(new Node({ opType: "Constant", name: "const_k", outputs: ["k"], attrs: { value: { type: "tensor", value: k } } }));
  g.nodes.push(new Node({ opType: "Concat", name: "kk", inputs: ["k", "k"], outputs: ["k2"], attrs: { axis: { type: "int", value: 3 } } }));
  const y = g.outputs[0].name;
  g.nodes.find((n) => n.outputs[0] === y)!.outputs[0] = "y0";
  g.nodes.push(new Node({ opType: "Mul", name: "scale_k", inputs: ["y0", "k2"], outputs: [y] }));
  g.invalidate();
  const dir = tempDir();
  const file = path.join(dir, "model.onnx");
  writeModel(file, model);
  return { dir, file, model };
}

test("lazy read: tensors of lazyMinBytes or more (initializers and Constant attributes) stay in the file", async () => {
  const { file } = written();
  const eager = readModel(file, { lazy: false });
  const lazy = readModel(file, { lazy: true, lazyMinBytes: 8 * KiB });
  const g = lazy.graph;
  for (const name of ["w1", "w2"]) {
    const t = g.initializers.get(name)!;
    assert.ok(t.source, `${name} is lazy`);
    assert.is(t.source!.file, file);
    assert.is(t.byteLength, eager.graph.initializers.get(name)!.byteLength);
    same(t.bytes, eager.graph.initializers.get(name)!.bytes);
  }
  for (const name of ["b1", "b2", "tiny"]) assert.is(g.initializers.get(name)!.source, undefined, `${name} is small: in memory`);
  const attr = g.nodes.find((n) => n.opType === "Constant")!.attrs.get("value")!;
  assert.is(attr.type, "tensor");
  assert.ok(attr.type === "tensor" && attr.value.source, "the Constant's 16 KiB tensor is lazy");
  // The bytes read back are the same model, and it runs the same.
  same(encodeModel(lazy).bytes, encodeModel(eager).bytes);
  assert.equal(await runOrt(encodeModel(lazy).bytes, feeds), await runOrt(file, feeds));
});

test("lazy read: a float32 tensor converts without a second copy, and reshape keeps it lazy", () => {
  const { file } = written();
  const lazy = readModel(file, { lazy: true, lazyMinBytes: 8 * KiB });
  const w1 = lazy.graph.initializers.get("w1")!;
  const f = w1.toFloat32();
  f[0] = 12345;
  assert.is.not(w1.toFloat32()[0], 12345, "the caller's array is its own");
  const r = w1.reshape([256, 128 * 9]);
  assert.ok(r.source);
  same(r.bytes, w1.bytes);
});

test("lazy read: a file changed or removed since it was read is refused when a tensor is needed", () => {
  const { file } = written();
  const lazy = readModel(file, { lazy: true, lazyMinBytes: 8 * KiB });
  const w1 = lazy.graph.initializers.get("w1")!;
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
  throwsInput(() => w1.bytes, `Cannot read model "${file}": "${file}" changed since it was first read`);
  fs.rmSync(file);
  throwsInput(() => w1.bytes, `Cannot read model "${file}": "${file}" is gone (ENOENT) since it was first read`);
});

test("lazy read: a cut file fails as it does when read whole", () => {
  const { file } = written();
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1000));
  let whole = "";
  try {
    readModel(file, { lazy: false });
  } catch (e) {
    whole = (e as Error).message;
  }
  assert.match(whole, /truncated/);
  throwsInput(() => readModel(file, { lazy: true, lazyMinBytes: 8 * KiB }), whole);
});

test("lazy read: external data stays in its file by default", () => {
  const dir = tempDir();
  const file = path.join(dir, "ext.onnx");
  writeModel(file, twoConvModel(), { externalData: true });
  const m = readModel(file);
  const w1 = m.graph.initializers.get("w1")!;
  assert.is(w1.source?.file, path.join(dir, "ext.onnx.data"));
  same(w1.bytes, twoConvModel().graph.initializers.get("w1")!.bytes);
  assert.is(m.graph.initializers.get("b1")!.source, undefined);
});

test("writeModelForRuntime: lazy tensors by a hard link to their file, changed ones in the data file", async () => {
  const { file } = written();
  const lazy = readModel(file, { lazy: true, lazyMinBytes: 8 * KiB });
  // A pass changed w2: it is in memory now.
  const w2 = lazy.graph.initializers.get("w2")!;
  lazy.graph.initializers.set("w2", Tensor.fromArray("w2", w2.dims, Float32Array.from(w2.toFloat32(), (v) => v * 2)));
  const dir = tempDir();
  const out = writeModelForRuntime(dir, lazy);
  assert.equal(fs.readdirSync(dir).sort(), ["model.onnx", "model.onnx.data", "source0.bin"]);
  assert.is(fs.statSync(path.join(dir, "source0.bin")).ino, fs.statSync(file).ino, "a link, not a copy");
  const dataBytes = fs.statSync(path.join(dir, "model.onnx.data")).size;
  assert.ok(dataBytes >= w2.byteLength && dataBytes < 2 * w2.byteLength, `only w2 (and small tensors) written: ${dataBytes} bytes`);
  assert.equal(await runOrt(out, feeds), await runOrt(encodeModel(lazy).bytes, feeds));
});

test.run();
