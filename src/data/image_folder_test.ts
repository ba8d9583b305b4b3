/**
 * Image folders: decoding (PNG variants, JPEG), resizing, layouts, channel
 * order, normalization and dynamic width checked numerically on tiny images
 * generated here; spec errors and unreadable images fail with one line.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { folder, inputError, removeFolders } from "./_testing.ts";
import { decodeImage } from "./decode_image.ts";
import { type ImageDataset, openImageFolder } from "./image_folder.ts";
import { openDataset } from "./open_dataset.ts";
import type { PreprocessSpec } from "./preprocess_spec.ts";
import type { InputSpec } from "./types.ts";

test.after(removeFolders);

/** A w×h RGB PNG whose pixel (x, y) channel c is `f(x, y, c)`. */
function png(w: number, h: number, f: (x: number, y: number, c: number) => number): Uint8Array {
  return encodePng({ width: w, height: h, channels: 3, depth: 8, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => f(Math.floor(i / 3) % w, Math.floor(i / 3 / w), i % 3)) });
}

/** A distinct value per pixel and channel, in [0, 255]. */
const pattern = (x: number, y: number, c: number) => (37 * x + 91 * y + 53 * c + 11) % 256;

async function tensor(files: Record<string, Uint8Array | string>, input: InputSpec, spec: Partial<PreprocessSpec>, index = 0) {
  const ds = (await openDataset(folder(files), [input], { preprocess: spec })) as ImageDataset;
  return (await ds.get(index))[input.name];
}

const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol;

test("stretch to the same size normalizes each channel: (v·scale − mean[c]) / std[c]", async () => {
  const mean = [0.1, 0.2, 0.3], std = [0.5, 0.25, 2];
  const t = await tensor({ "a.png": png(3, 2, pattern) }, { name: "x", shape: [1, 3, 2, 3] }, { mean, std });
  assert.equal(t.dims, [1, 3, 2, 3]);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 3; x++) {
        assert.ok(close(t.data[(c * 2 + y) * 3 + x], (pattern(x, y, c) / 255 - mean[c]) / std[c]), `c${c} y${y} x${x}`);
      }
    }
  }
});

test("NHWC (inferred from the input shape) holds the NCHW values transposed", async () => {
  const files = { "a.png": png(5, 4, pattern) };
  const nchw = await tensor(files, { name: "x", shape: [1, 3, 4, 5] }, {});
  const nhwc = await tensor(files, { name: "x", shape: [1, 4, 5, 3] }, {});
  assert.equal(nhwc.dims, [1, 4, 5, 3]);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) assert.is(nhwc.data[(y * 5 + x) * 3 + c], nchw.data[(c * 4 + y) * 5 + x]);
  const explicit = await tensor(files, { name: "x", shape: [1, "h", "w", "c"] }, { layout: "NHWC", height: 4, width: 5 });
  assert.equal(Array.from(explicit.data), Array.from(nhwc.data));
});

test("BGR swaps the first and last channels; mean/std follow the tensor's order", async () => {
  const files = { "a.png": png(3, 3, pattern) };
  const input: InputSpec = { name: "x", shape: [3, 3, 3] }; // rank 3: no batch dim
  const rgb = await tensor(files, input, {});
  const bgr = await tensor(files, input, { channelOrder: "BGR", mean: [0, 0, 0.5] });
  assert.equal(bgr.dims, [3, 3, 3]);
  for (let i = 0; i < 9; i++) {
    assert.is(bgr.data[i], rgb.data[18 + i]);
    assert.is(bgr.data[9 + i], rgb.data[9 + i]);
    assert.ok(close(bgr.data[18 + i], rgb.data[i] - 0.5));
  }
});

test("bilinear resize uses half-pixel centres, clamped at the edges (OpenCV INTER_LINEAR)", async () => {
  const a = [10, 20, 30], b = [210, 120, 60];
  const files = { "a.png": png(2, 1, (x, _, c) => (x === 0 ? a : b)[c]) };
  const up = await tensor(files, { name: "x", shape: [1, 3, 1, 4] }, { scale: 1 });
  for (let c = 0; c < 3; c++) {
    const want = [a[c], 0.75 * a[c] + 0.25 * b[c], 0.25 * a[c] + 0.75 * b[c], b[c]];
    assert.equal(Array.from(up.data.subarray(4 * c, 4 * c + 4)), want);
  }
  const down = await tensor({ "a.png": png(4, 2, pattern) }, { name: "x", shape: [1, 3, 1, 2] }, { scale: 1 });
  for (let c = 0; c < 3; c++) {
    for (let x = 0; x < 2; x++) {
      const avg = [0, 1].flatMap((y) => [0, 1].map((k) => pattern(2 * x + k, y, c))).reduce((s, v) => s + v, 0) / 4;
      assert.ok(close(down.data[2 * c + x], avg, 1e-4));
    }
  }
});

test("keep-ratio fits the image and pads with padValue, at the start or centred", async () => {
  const files = { "a.png": png(4, 2, pattern) };
  const input: InputSpec = { name: "x", shape: [1, 3, 4, 4] };
  for (const align of ["start", "center"] as const) {
    const t = await tensor(files, input, { resize: "keep-ratio", align, padValue: -1, scale: 1 });
    const top = align === "start" ? 0 : 1;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          const inside = y >= top && y < top + 2;
          assert.is(t.data[(c * 4 + y) * 4 + x], inside ? pattern(x, y - top, c) : -1, `${align} c${c} y${y} x${x}`);
        }
      }
    }
  }
});

test("center-crop covers the target, then keeps the middle", async () => {
  const t = await tensor({ "a.png": png(4, 2, pattern) }, { name: "x", shape: [1, 3, 2, 2] }, { resize: "center-crop", scale: 1 });
  for (let c = 0; c < 3; c++) for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) assert.is(t.data[(c * 2 + y) * 2 + x], pattern(x + 1, y, c));
  const shorter = await tensor({ "a.png": png(4, 2, pattern) }, { name: "x", shape: [1, 3, 2, 2] }, { resize: "center-crop", resizeShorter: 4, scale: 1 });
  // Scaled 2× to 8×4 and cropped at (3, 1): output (0, 0) samples the source at ((3.5)/2 − 0.5, (1.5)/2 − 0.5).
  const [sx, sy] = [1.25, 0.25];
  const lerp = (u: number, v: number, f: number) => u + (v - u) * f;
  const want = lerp(lerp(pattern(1, 0, 0), pattern(2, 0, 0), sx - 1), lerp(pattern(1, 1, 0), pattern(2, 1, 0), sx - 1), sy);
  assert.ok(close(shorter.data[0], want, 1e-3), `${shorter.data[0]} vs ${want}`);
});

test("keep-ratio-dynamic-width: height fixed, width ⌈48·w/h⌉ rounded up to widthMultiple, clamped to maxWidth, padded", async () => {
  const rec: InputSpec = { name: "x", dtype: "float32", shape: ["batch", 3, 48, "width"] };
  const spec: Partial<PreprocessSpec> = { resize: "keep-ratio-dynamic-width", maxWidth: 320, widthMultiple: 8, mean: [0.5], std: [0.5], padValue: 0 };
  const files = { "a.png": png(100, 50, pattern), "b.png": png(400, 20, pattern), "c.png": png(10, 48, pattern), "d.png": png(49, 48, pattern) };
  const ds = await openImageFolder(folder(files), [rec], { preprocess: spec });
  const dims = await Promise.all([0, 1, 2, 3].map(async (i) => (await ds.get(i)).x.dims));
  assert.equal(dims, [[1, 3, 48, 96], [1, 3, 48, 320], [1, 3, 48, 16], [1, 3, 48, 56]]);
  const c = (await ds.get(2)).x; // 10×48: no resize, 10 columns of image then 6 of padding
  for (let ch = 0; ch < 3; ch++) {
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 16; x++) {
        const want = x < 10 ? (pattern(x, y, ch) / 255 - 0.5) / 0.5 : 0;
        assert.ok(close(c.data[(ch * 48 + y) * 16 + x], want), `c${ch} y${y} x${x}`);
      }
    }
  }
  assert.is(ds.preprocess.dynamicWidth, true);
  // A static width (the classifier's 192) keeps the tensor width and pads after the image.
  const fixed = await tensor({ "a.png": png(50, 48, pattern) }, { name: "x", shape: [1, 3, 48, 192] }, { resize: "keep-ratio-dynamic-width", padValue: 7, scale: 1 });
  assert.equal(fixed.dims, [1, 3, 48, 192]);
  assert.equal([fixed.data[49], fixed.data[50], fixed.data[191]], [pattern(49, 0, 0), 7, 7]);
  // So does a width the spec gives for a dynamic-width model (the PaddleOCR classifier's dims are all dynamic).
  const given = await tensor({ "a.png": png(50, 48, pattern) }, { name: "x", shape: ["n", 3, "h", "w"] }, { resize: "keep-ratio-dynamic-width", height: 48, width: 192, padValue: 7, scale: 1 });
  assert.equal(given.dims, [1, 3, 48, 192]);
  assert.equal([given.data[49], given.data[50], given.data[191]], [pattern(49, 0, 0), 7, 7]);
  const wide = await tensor({ "a.png": png(400, 48, pattern) }, { name: "x", shape: ["n", 3, "h", "w"] }, { resize: "keep-ratio-dynamic-width", height: 48, width: 192, scale: 1 });
  assert.equal(wide.dims, [1, 3, 48, 192], "a wide line is squeezed to the width, as PaddleOCR does");
});

test("a one-channel model gets luma (ITU-R 601)", async () => {
  const t = await tensor({ "a.png": png(2, 2, pattern) }, { name: "x", shape: [1, 1, 2, 2] }, { scale: 1 });
  assert.equal(t.dims, [1, 1, 2, 2]);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) assert.ok(close(t.data[y * 2 + x], 0.299 * pattern(x, y, 0) + 0.587 * pattern(x, y, 1) + 0.114 * pattern(x, y, 2), 1e-3));
});

test("PNGs of every colour type and depth decode to RGB; alpha is dropped", () => {
  const rgbOf = (bytes: Uint8Array) => Array.from(decodeImage(bytes, "p.png").data);
  assert.equal(rgbOf(encodePng({ width: 2, height: 1, channels: 1, depth: 8, data: new Uint8Array([7, 200]) })), [7, 7, 7, 200, 200, 200]);
  assert.equal(rgbOf(encodePng({ width: 2, height: 1, channels: 2, depth: 8, data: new Uint8Array([7, 0, 200, 255]) })), [7, 7, 7, 200, 200, 200]);
  assert.equal(rgbOf(encodePng({ width: 1, height: 1, channels: 4, depth: 8, data: new Uint8Array([1, 2, 3, 0]) })), [1, 2, 3]);
  assert.equal(rgbOf(encodePng({ width: 1, height: 1, channels: 3, depth: 16, data: new Uint16Array([65535, 0, 257 * 40]) })), [255, 0, 40]);
  assert.equal(rgbOf(encodePng({ width: 3, height: 2, channels: 1, depth: 1, data: new Uint8Array([0b10100000, 0b01000000]) })), [255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0]);
  assert.equal(rgbOf(encodePng({ width: 2, height: 1, channels: 1, depth: 4, data: new Uint8Array([0xf5]) })), [255, 255, 255, 85, 85, 85]);
  assert.equal(rgbOf(encodePng({ width: 2, height: 1, channels: 1, depth: 8, data: new Uint8Array([1, 0]), palette: [[9, 8, 7], [1, 2, 3]] })), [1, 2, 3, 9, 8, 7]);
});

test("JPEGs decode (lossy: within 2 of the encoded colour)", async () => {
  const rgba = new Uint8Array(16 * 8 * 4).map((_, i) => [200, 100, 50, 255][i % 4]);
  const bytes = new Uint8Array(jpeg.encode({ width: 16, height: 8, data: rgba }, 100).data);
  const t = await tensor({ "a.jpg": bytes, "b.JPEG": bytes }, { name: "x", shape: [1, 3, 8, 16] }, { scale: 1 }, 1);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 128; i++) assert.ok(close(t.data[c * 128 + i], [200, 100, 50][c], 2), `c${c} i${i} = ${t.data[c * 128 + i]}`);
});

test("preprocess.json applies, and opts.preprocess overrides it field by field", async () => {
  const dir = folder({ "a.png": png(4, 4, pattern), "preprocess.json": JSON.stringify({ scale: "1/255", mean: [0.5], std: [0.5], channelOrder: "BGR", height: 2, width: 2 }) });
  const ds = (await openDataset(dir, [{ name: "x", shape: [1, 3, "h", "w"] }], { preprocess: { channelOrder: "RGB" } })) as ImageDataset;
  const p = ds.preprocess;
  assert.equal([p.channelOrder, p.mean, p.std, p.height, p.width, p.layout, p.channels, p.batch, p.resize], ["RGB", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], 2, 2, "NCHW", 3, true, "stretch"]);
  assert.ok(close(p.scale, 1 / 255, 1e-12));
  assert.equal((await ds.get(0)).x.dims, [1, 3, 2, 2]);
});

test("labels.json, samples and lazy decoding work as for .npy folders", async () => {
  const dir = folder({ "a.png": png(2, 2, pattern), "b.png": png(2, 2, pattern), "c.png": "not an image", "labels.json": `{"b.png": "上海"}` });
  const ds = await openImageFolder(dir, [{ name: "x", shape: [1, 3, 2, 2] }], { samples: 2 });
  assert.equal([ds.size, ds.id(1), ds.label!(1), ds.label!(0)], [2, "b.png", "上海", undefined]);
  fs.writeFileSync(path.join(dir, "b.png"), png(2, 2, () => 255));
  assert.is((await ds.get(1)).x.data[0], 1);
});

const X: InputSpec = { name: "x", shape: [1, 3, 48, "w"] };
const bad: [string, Record<string, Uint8Array | string>, InputSpec[], Partial<PreprocessSpec> | undefined, string][] = [
  ["a file that is not an image", { "a.png": png(2, 2, pattern), "b.png": "GIF89a" }, [X], { width: 8 }, `Cannot read image "DIR/b.png": not a PNG or JPEG file`],
  ["an unknown preprocess.json field", { "a.png": "", "preprocess.json": `{"sacle": 1}` }, [X], undefined, `Cannot use preprocess spec "DIR/preprocess.json": unknown field "sacle" (fields: resize, height, width, maxWidth, widthMultiple, resizeShorter, align, scale, mean, std, channelOrder, layout, padValue)`],
  ["a preprocess.json of the wrong type", { "a.png": "", "preprocess.json": `{"resize": "fit"}` }, [X], undefined, `Cannot use preprocess spec "DIR/preprocess.json": "resize" must be "stretch" or "keep-ratio" or "keep-ratio-dynamic-width" or "center-crop", got "fit"`],
  ["invalid JSON", { "a.png": "", "preprocess.json": `{resize: 1}` }, [X], undefined, `Cannot read "DIR/preprocess.json": invalid JSON (`],
  ["a zero std", { "a.png": "" }, [X], { std: [1, 0, 1] }, `Cannot use preprocess spec "preprocess option": "std" must be an array of 1 or 3 finite non-zero numbers, got [1,0,1]`],
  ["a height that differs from the model's", { "a.png": "" }, [X], { height: 32, width: 8 }, `Cannot preprocess images for input "x": height 32 in the preprocess spec differs from the model's 48`],
  ["a dynamic width without a width", { "a.png": "" }, [X], {}, `Cannot preprocess images for input "x": its width is dynamic: give "width" in the preprocess spec`],
  ["a dynamic width without maxWidth", { "a.png": "" }, [X], { resize: "keep-ratio-dynamic-width" }, `Cannot preprocess images for input "x": its width is dynamic: give "maxWidth" in the preprocess spec`],
  ["a dynamic height", { "a.png": "" }, [{ name: "x", shape: [1, 3, "h", "w"] }], { width: 8 }, `Cannot preprocess images for input "x": its height is dynamic: give "height" in the preprocess spec`],
  ["three means for one channel", { "a.png": "" }, [{ name: "x", shape: [1, 1, 4, 4] }], { mean: [1, 2, 3] }, `Cannot preprocess images for input "x": "mean" has 3 values for 1 channel(s)`],
  ["a non-image input", { "a.png": "" }, [{ name: "x", shape: [1, 80] }], {}, `Cannot preprocess images for input "x": shape [1,80] is not an image tensor (rank 3 or 4)`],
  ["a fixed batch of 4", { "a.png": "" }, [{ name: "x", shape: [4, 3, 8, 8] }], {}, `Cannot preprocess images for input "x": batch size 4 is fixed; image folders give one image per sample`],
  ["5 channels", { "a.png": "" }, [{ name: "x", shape: [1, 5, 8, 8] }], {}, `Cannot preprocess images for input "x": 5 channels in NCHW layout [1,5,8,8]; images give 1 or 3`],
  ["two model inputs", { "x/a.png": "", "y/a.png": "" }, [X, { name: "y", shape: [1] }], {}, `Cannot use data folder "DIR/x": a model with several inputs takes .npy files in each input's sub-folder, found "a.png"`],
];
for (const [name, files, inputs, preprocess, message] of bad) {
  test(`rejects ${name} with one line naming it`, async () => {
    const dir = folder(files);
    const got = await inputError(() => openDataset(dir, inputs, { preprocess }));
    const want = message.replaceAll("DIR", dir);
    if (want.endsWith("(")) assert.ok(got.startsWith(want), got);
    else assert.is(got, want);
  });
}

test("a corrupt image fails when loaded, naming the file", async () => {
  const good = png(8, 8, pattern);
  const dir = folder({ "a.png": good.subarray(0, 40), "b.jpg": new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]) });
  const ds = await openImageFolder(dir, [{ name: "x", shape: [1, 3, 8, 8] }]);
  assert.match(await inputError(() => ds.get(0)), new RegExp(`^Cannot read image "${path.join(dir, "a.png")}": PNG decoder says: `));
  assert.match(await inputError(() => ds.get(1)), new RegExp(`^Cannot read image "${path.join(dir, "b.jpg")}": JPEG decoder says: `));
});

test.run();
