/**
 * Folders of `.npy`/`.npz` samples: order, shapes with or without the batch
 * dim, multi-input sub-folders, labels, the samples limit, lazy loading, and
 * a one-line error naming the file for every bad input.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { zipSync } from "fflate";
import { folder, inputError, removeFolders } from "./_testing.ts";
import { encodeNpy } from "./npy.ts";
import { openNpyFolder } from "./npy_folder.ts";
import { openDataset } from "./open_dataset.ts";
import type { InputSpec } from "./types.ts";

test.after(removeFolders);

/** A recognizer-like input: batch and width dynamic. */
const X: InputSpec = { name: "x", dtype: "float32", shape: ["batch", 3, 4, "width"] };
const arr = (shape: number[], fill = (i: number) => i) => encodeNpy(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)));

test("samples come in code-point order of file names, batch dim added when missing", async () => {
  const names = ["b.npy", "a10.npy", "a2.npy", "B.npy", "\u{FF5E}.npy", "\u{1F600}.npy"];
  const files = Object.fromEntries(names.map((n, k) => [n, arr([3, 4, 5 + k], () => k)]));
  const ds = await openNpyFolder(folder(files), [X]);
  // JavaScript's default sort would put U+1F600 (a surrogate pair) before U+FF5E.
  assert.equal(Array.from({ length: ds.size }, (_, i) => ds.id(i)), ["B.npy", "a10.npy", "a2.npy", "b.npy", "\u{FF5E}.npy", "\u{1F600}.npy"]);
  assert.equal(ds.inputNames, ["x"]);
  const s = await ds.get(2);
  assert.equal(s.x.dims, [1, 3, 4, 7]); // "a2.npy" was written third (k = 2): width 7
  assert.is(s.x.data[0], 2);
  assert.is(ds.label, undefined);
});

test("full-rank samples keep their shape; dynamic dims take any size ≥ 1", async () => {
  const ds = await openDataset(folder({ "0.npy": arr([2, 3, 4, 1]), "1.npy": arr([1, 3, 4, 9]) }), [X]);
  assert.equal((await ds.get(0)).x.dims, [2, 3, 4, 1]);
  assert.equal((await ds.get(1)).x.dims, [1, 3, 4, 9]);
});

test("README, dotfiles, labels.json and preprocess.json are ignored; labels map file names (or stems) to labels", async () => {
  const dir = folder({
    "a.npy": arr([3, 4, 2]),
    "b.npy": arr([3, 4, 2]),
    "c.npy": arr([3, 4, 2]),
    "README.md": "about this data",
    ".DS_Store": "x",
    "preprocess.json": "{}",
    "labels.json": JSON.stringify({ "a.npy": "hello", b: [1, 2], "zzz.npy": 3 }),
  });
  const ds = await openNpyFolder(dir, [X]);
  assert.is(ds.size, 3);
  assert.is(ds.label!(0), "hello");
  assert.equal(ds.label!(1), [1, 2]);
  assert.is(ds.label!(2), undefined);
});

test("a model with several inputs takes one sub-folder per input name", async () => {
  const inputs: InputSpec[] = [X, { name: "mask", shape: [1, 4] }];
  const dir = folder({
    "x/s0.npy": arr([3, 4, 2], () => 1),
    "x/s1.npy": arr([1, 3, 4, 3], () => 2),
    "mask/s0.npy": arr([4], () => 3),
    "mask/s1.npy": arr([1, 4], () => 4),
    "labels.json": `{"s1.npy": 7}`,
  });
  const ds = await openDataset(dir, inputs);
  assert.equal(ds.inputNames, ["x", "mask"]);
  assert.is(ds.size, 2);
  const s = await ds.get(1);
  assert.equal([s.x.dims, s.mask.dims], [[1, 3, 4, 3], [1, 4]]);
  assert.equal([s.x.data[0], s.mask.data[0]], [2, 4]);
  assert.is(ds.label!(1), 7);
});

test("a one-input model also accepts its files in a sub-folder named after the input", async () => {
  const ds = await openNpyFolder(folder({ "x/0.npy": arr([3, 4, 2]) }), [X]);
  assert.equal((await ds.get(0)).x.dims, [1, 3, 4, 2]);
});

test(".npz samples hold one array per input; a one-input model takes any single array", async () => {
  const inputs: InputSpec[] = [X, { name: "mask", shape: [1, 4] }];
  const two = await openDataset(folder({ "0.npz": zipSync({ "x.npy": arr([3, 4, 2]), "mask.npy": arr([1, 4], () => 9) }) }), inputs);
  const s = await two.get(0);
  assert.equal([s.x.dims, s.mask.dims, s.mask.data[3]], [[1, 3, 4, 2], [1, 4], 9]);
  const one = await openNpyFolder(folder({ "0.npz": zipSync({ "arr_0.npy": arr([3, 4, 2]) }, { level: 0 }) }), [X]);
  assert.equal((await one.get(0)).x.dims, [1, 3, 4, 2]);
});

test("samples: the first N in name order; files after them are not even checked", async () => {
  const dir = folder({ "0.npy": arr([3, 4, 2], () => 5), "1.npy": arr([3, 4, 2]), "2.npy": arr([3, 9, 2]) });
  const ds = await openNpyFolder(dir, [X], { samples: 2 });
  assert.is(ds.size, 2);
  assert.is((await ds.get(0)).x.data[0], 5);
  assert.equal(await openDataset(dir, [X], { samples: 100 }).catch((e) => e.message), `Cannot use "${path.join(dir, "2.npy")}": shape [3,9,2] does not fit input "x" [*,3,4,*] (or [3,4,*] without the batch dim)`);
  assert.is(await inputError(() => openNpyFolder(dir, [X], { samples: 0 })), "Invalid option samples: expected a positive integer, got 0");
  const outOfRange = await ds.get(2).then(() => undefined, (e: Error) => e);
  assert.instance(outOfRange, RangeError);
  assert.is(outOfRange!.message, "Sample index 2 is out of range [0, 2)");
});

test("data is read by get(i), not when the folder is opened", async () => {
  const dir = folder({ "0.npy": arr([3, 4, 2], () => 1), "1.npy": arr([3, 4, 2], () => 1), "2.npy": arr([3, 4, 2]) });
  const ds = await openNpyFolder(dir, [X]);
  fs.writeFileSync(path.join(dir, "1.npy"), arr([3, 4, 2], () => 42)); // same header, new data
  fs.rmSync(path.join(dir, "2.npy"));
  assert.is((await ds.get(0)).x.data[0], 1);
  assert.is((await ds.get(1)).x.data[5], 42);
  assert.is(await inputError(() => ds.get(2)), `Cannot read "${path.join(dir, "2.npy")}": no such file`);
});

test("NaN and infinities fail when the sample is loaded, naming the file and the first bad index", async () => {
  const dir = folder({
    "nan.npy": arr([3, 4, 2], (i) => (i === 13 ? NaN : i === 20 ? Infinity : 0)),
    "inf.npy": arr([1, 3, 4, 2], (i) => (i === 5 ? -Infinity : 0)),
  });
  const ds = await openNpyFolder(dir, [X]);
  assert.is(await inputError(() => ds.get(1)), `Cannot use "${path.join(dir, "nan.npy")}": NaN at index [1,2,1] (flat 13)`);
  assert.is(await inputError(() => ds.get(0)), `Cannot use "${path.join(dir, "inf.npy")}": -Inf at index [0,0,2,1] (flat 5)`);
});

/** A valid float64 `.npy` of 2 values: a float32 file of 4 with its header edited. */
function float64Npy(): Uint8Array {
  const bytes = encodeNpy([4], new Float32Array(4));
  const text = String.fromCharCode(...bytes.subarray(0, 64)).replace("<f4", "<f8").replace("(4,)", "(2,)");
  bytes.set(Uint8Array.from(text, (c) => c.charCodeAt(0)));
  return bytes;
}

// Each case: files in the folder, inputs, the expected message with DIR for the folder.
const bad: [string, Record<string, Uint8Array | string>, InputSpec[], string][] = [
  ["an empty folder", { "README.md": "nothing yet" }, [X], `Cannot use data folder "DIR": empty (no .npy, .npz, .png or .jpg files)`],
  ["an unknown file", { "0.npy": arr([3, 4, 2]), "notes.txt": "" }, [X], `Cannot use data folder "DIR": unexpected file "notes.txt" (expected .npy, .npz, .png or .jpg files)`],
  ["mixed kinds", { "0.npy": arr([3, 4, 2]), "1.png": "" }, [X], `Cannot use data folder "DIR": mixes "0.npy" and "1.png" (one kind of file per folder)`],
  ["a stray sub-folder", { "0.npy": arr([3, 4, 2]), "old/0.npy": arr([3, 4, 2]) }, [X], `Cannot use data folder "DIR": unexpected sub-folder "old" (a model with one input takes its files directly)`],
  ["a wrong shape", { "0.npy": arr([3, 5, 2]) }, [X], `Cannot use "DIR/0.npy": shape [3,5,2] does not fit input "x" [*,3,4,*] (or [3,4,*] without the batch dim)`],
  ["a wrong rank", { "0.npy": arr([12]) }, [X], `Cannot use "DIR/0.npy": shape [12] does not fit input "x" [*,3,4,*] (or [3,4,*] without the batch dim)`],
  ["a zero-sized dynamic dim", { "0.npy": arr([3, 4, 0]) }, [X], `Cannot use "DIR/0.npy": shape [3,4,0] does not fit input "x" [*,3,4,*] (or [3,4,*] without the batch dim)`],
  ["no batch dim when the batch is fixed at 2", { "0.npy": arr([3]) }, [{ name: "v", shape: [2, 3] }], `Cannot use "DIR/0.npy": shape [3] does not fit input "v" [2,3]`],
  ["a float64 file", { "0.npy": arr([3, 4, 2]), "1.npy": float64Npy() }, [X], `Cannot read "DIR/1.npy": dtype float64 ('<f8'), expected float32 ('<f4')`],
  ["a truncated file", { "0.npy": arr([3, 4, 2]).subarray(0, -60) }, [X], `Cannot read "DIR/0.npy": truncated data: shape [3,4,2] of float32 needs 96 bytes of data, file has 36`],
  ["a model input that is not float32", { "0.npy": arr([4]) }, [{ name: "ids", dtype: "int64", shape: [4] }], `Cannot feed model input "ids": it takes int64, data folders provide float32 only`],
  ["a missing input sub-folder", { "x/0.npy": arr([3, 4, 2]) }, [X, { name: "mask", shape: [4] }], `Cannot use data folder "DIR": no sub-folder "mask" for model input "mask" (one sub-folder per input: "x", "mask")`],
  ["an unknown input sub-folder", { "x/0.npy": arr([3, 4, 2]), "mask/0.npy": arr([4]), "maks/0.npy": arr([4]) }, [X, { name: "mask", shape: [4] }], `Cannot use data folder "DIR": unexpected sub-folder "maks" (model inputs: "x", "mask")`],
  ["files beside input sub-folders", { "x/0.npy": arr([3, 4, 2]), "mask/0.npy": arr([4]), "0.npy": arr([4]) }, [X, { name: "mask", shape: [4] }], `Cannot use data folder "DIR": unexpected file "0.npy" (a model with several inputs takes one sub-folder per input: "x", "mask")`],
  ["file names that differ between sub-folders", { "x/0.npy": arr([3, 4, 2]), "x/1.npy": arr([3, 4, 2]), "mask/0.npy": arr([4]), "mask/2.npy": arr([4]) }, [X, { name: "mask", shape: [4] }], `Cannot use data folder "DIR": "1.npy" is in "DIR/x" but not in "DIR/mask"`],
  ["flat .npy files for several inputs", { "0.npy": arr([4]) }, [X, { name: "mask", shape: [4] }], `Cannot use data folder "DIR": a model with several inputs takes one sub-folder per input ("x", "mask") or .npz files, found "0.npy"`],
  ["images for several inputs", { "x/0.png": "", "mask/0.png": "" }, [X, { name: "mask", shape: [4] }], `Cannot use data folder "DIR/x": a model with several inputs takes .npy files in each input's sub-folder, found "0.png"`],
  ["an .npz without an input's array", { "0.npz": zipSync({ "x.npy": arr([3, 4, 2]) }) }, [X, { name: "mask", shape: [4] }], `Cannot use "DIR/0.npz": no array "mask" for model input "mask" (arrays: "x")`],
  ["an .npz with an extra array", { "0.npz": zipSync({ "x.npy": arr([3, 4, 2]), "y.npy": arr([1]) }) }, [X], `Cannot use "DIR/0.npz": array "y" is not a model input (inputs: "x")`],
  ["an .npz array of the wrong shape", { "0.npz": zipSync({ "x.npy": arr([3, 3, 2]) }) }, [X], `Cannot use "DIR/0.npz/x.npy": shape [3,3,2] does not fit input "x" [*,3,4,*] (or [3,4,*] without the batch dim)`],
  ["labels.json that is not an object", { "0.npy": arr([3, 4, 2]), "labels.json": "[1, 2]" }, [X], `Cannot read "DIR/labels.json": expected an object mapping file names to labels`],
];
for (const [name, files, inputs, message] of bad) {
  test(`rejects ${name} with one line naming it`, async () => {
    const dir = folder(files);
    assert.is(await inputError(() => openDataset(dir, inputs)), message.replaceAll("DIR", dir));
  });
}

test("rejects a missing folder, a file given as folder, and an image folder in openNpyFolder", async () => {
  const dir = folder({ "0.npy": arr([3, 4, 2]), "img/0.png": "" });
  assert.is(await inputError(() => openDataset(path.join(dir, "nope"), [X])), `Cannot use data folder "${path.join(dir, "nope")}": no such folder`);
  assert.is(await inputError(() => openDataset(path.join(dir, "0.npy"), [X])), `Cannot use data folder "${path.join(dir, "0.npy")}": not a folder`);
  assert.is(await inputError(() => openNpyFolder(path.join(dir, "img"), [X])), `Cannot use data folder "${path.join(dir, "img")}": it holds images, not .npy files (use openDataset or openImageFolder)`);
});

test.run();
