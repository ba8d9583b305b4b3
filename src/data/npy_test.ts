/**
 * `.npy`/`.npz` bytes: round trips, NumPy's header layout, and a one-line
 * error for each way a file can be unusable.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { zipSync } from "fflate";
import { inputError } from "./_testing.ts";
import { encodeNpy, readNpy, readNpyHeader } from "./npy.ts";
import { readNpz } from "./npz.ts";

/** A `.npy` file with a hand-written header and `dataBytes` bytes of data, as NumPy lays it out. */
function npyWith(header: string, dataBytes: number, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const padded = header + " ".repeat(63 - ((pre + header.length) % 64)) + "\n";
  const out = new Uint8Array(pre + padded.length + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) out[pre + i] = padded.charCodeAt(i);
  return out;
}

test("encodeNpy → readNpy round-trips values and shapes, scalar and 1-D included", () => {
  for (const shape of [[], [5], [2, 3], [1, 3, 4, 2]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => (i - 3) * 0.37);
    const bytes = encodeNpy(shape, data);
    const back = readNpy(bytes, "x.npy");
    assert.equal(back.dtype, "float32");
    assert.equal(back.shape, shape);
    assert.equal(Array.from(back.data), Array.from(data));
  }
});

test("encodeNpy pads the header so data starts at a multiple of 64, like NumPy", () => {
  for (const shape of [[3], [1, 3, 48, 320], Array<number>(20).fill(1)]) {
    const h = readNpyHeader(encodeNpy(shape, new Float32Array(shape.reduce((a, b) => a * b, 1))), "x");
    assert.is(h.dataOffset % 64, 0);
    assert.equal(h.shape, shape);
  }
});

test("readNpy views the bytes when aligned and copies when not", () => {
  const bytes = encodeNpy([4], new Float32Array([1, 2, 3, 4]));
  assert.is(readNpy(bytes, "x").data.buffer, bytes.buffer);
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const odd = readNpy(shifted.subarray(1), "x");
  assert.is.not(odd.data.buffer, shifted.buffer);
  assert.equal(Array.from(odd.data), [1, 2, 3, 4]);
});

test("readNpy reads format 2.0 headers and double-quoted keys", () => {
  const bytes = npyWith(`{"descr": "<f4", "fortran_order": False, "shape": (2,), }`, 8, 2);
  new DataView(bytes.buffer).setFloat32(bytes.length - 4, 7.5, true);
  assert.equal(Array.from(readNpy(bytes, "v2.npy").data), [0, 7.5]);
});

const errors: [string, Uint8Array, string][] = [
  ["not npy", new TextEncoder().encode("hello, world"), `Cannot read "s.npy": not a .npy file (no \\x93NUMPY magic)`],
  ["float64", npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }`, 16), `Cannot read "s.npy": dtype float64 ('<f8'), expected float32 ('<f4')`],
  ["int64", npyWith(`{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }`, 16), `Cannot read "s.npy": dtype int64 ('<i8'), expected float32 ('<f4')`],
  ["uint8", npyWith(`{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }`, 2), `Cannot read "s.npy": dtype uint8 ('|u1'), expected float32 ('<f4')`],
  ["big-endian", npyWith(`{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }`, 8), `Cannot read "s.npy": big-endian float32 ('>f4'), expected little-endian ('<f4')`],
  ["fortran", npyWith(`{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }`, 24), `Cannot read "s.npy": Fortran order, expected C order (save with np.ascontiguousarray)`],
  ["structured", npyWith(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }`, 8), `Cannot read "s.npy": structured dtype, expected float32 ('<f4')`],
  ["no shape", npyWith(`{'descr': '<f4', 'fortran_order': False, }`, 8), `Cannot read "s.npy": bad header (no 'shape')`],
  ["bad shape", npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }`, 8), `Cannot read "s.npy": bad header (shape (2, -1))`],
  ["not a dict", npyWith(`descr=<f4`, 8), `Cannot read "s.npy": bad header (not a Python dict)`],
  ["truncated data", npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }`, 8), `Cannot read "s.npy": truncated data: shape [1,3] of float32 needs 12 bytes of data, file has 8`],
  ["extra data", npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }`, 16), `Cannot read "s.npy": shape [1,3] of float32 needs 12 bytes of data, file has 16 (header and data disagree)`],
  ["truncated header", npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }`, 0).subarray(0, 40), `Cannot read "s.npy": truncated header`],
  ["version 9", (() => { const b = encodeNpy([1], new Float32Array(1)); b[6] = 9; return b; })(), `Cannot read "s.npy": unsupported .npy format version 9.0`],
];
for (const [name, bytes, message] of errors) {
  test(`readNpy rejects ${name} with one line naming the file`, async () => {
    assert.is(await inputError(() => readNpy(bytes, "s.npy")), message);
  });
}

test("readNpz reads stored (savez) and deflated (savez_compressed) archives by array name", () => {
  const x = encodeNpy([1, 2], new Float32Array([1, 2]));
  const y = encodeNpy([3], new Float32Array([4, 5, 6]));
  for (const level of [0, 6] as const) {
    const arrays = readNpz(zipSync({ "x.npy": x, "y.npy": y }, { level }), "s.npz");
    assert.equal([...arrays.keys()], ["x", "y"]);
    assert.equal(arrays.get("x")!.shape, [1, 2]);
    assert.equal(Array.from(arrays.get("y")!.data), [4, 5, 6]);
  }
});

test("readNpz names the archive and the entry in errors", async () => {
  const f8 = npyWith(`{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }`, 8);
  assert.is(await inputError(() => readNpz(zipSync({ "x.npy": f8 }), "s.npz")), `Cannot read "s.npz/x.npy": dtype float64 ('<f8'), expected float32 ('<f4')`);
  assert.is(await inputError(() => readNpz(zipSync({ "notes.txt": new Uint8Array(1) }), "s.npz")), `Cannot read "s.npz": entry "notes.txt" is not a .npy array`);
  assert.match(await inputError(() => readNpz(new Uint8Array([1, 2, 3]), "s.npz")), /^Cannot read "s.npz": not a valid \.npz \(zip\) file \(/);
});

test.run();
