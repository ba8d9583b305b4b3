/**
 * NumPy `.npy` files: float32, little-endian, C order, which is what
 * `numpy.save(path, x.astype(np.float32))` writes. Pure functions on bytes,
 * usable in browsers.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/** A float32 array read from a `.npy` file. */
export interface Npy {
  readonly dtype: "float32";
  readonly shape: number[];
  readonly data: Float32Array;
}

/** What the header of a valid float32 `.npy` file says. */
export interface NpyHeader {
  readonly shape: number[];
  /** Byte offset of the data. */
  readonly dataOffset: number;
  /** Bytes of data the shape needs (4 per element). */
  readonly dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Bytes a reader needs before {@linkcode npyHeaderLength} can answer. */
export const NPY_PREFIX_BYTES = 12;

/**
 * Total length (prefix + header) of the `.npy` header that `prefix` (at least
 * {@linkcode NPY_PREFIX_BYTES} bytes, or the whole file) starts.
 */
export function npyHeaderLength(prefix: Uint8Array, source: string): number {
  const fail = (why: string) => new InputError(`Cannot read "${source}": ${why}`);
  if (prefix.length < 10 || MAGIC.some((b, i) => prefix[i] !== b)) throw fail("not a .npy file (no \\x93NUMPY magic)");
  const major = prefix[6];
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (major === 1) return 10 + view.getUint16(8, true);
  if (major === 2 || major === 3) {
    if (prefix.length < 12) throw fail("truncated header");
    return 12 + view.getUint32(8, true);
  }
  throw fail(`unsupported .npy format version ${major}.${prefix[7]}`);
}

/**
 * Parses and checks the header of a float32 C-order little-endian `.npy`
 * file. `bytes` holds at least the whole header. Does not look at the data.
 *
 * @example
 * ```ts
 * readNpyHeader(encodeNpy([1, 3], new Float32Array(3)), "x.npy").shape; // [1, 3]
 * ```
 */
export function readNpyHeader(bytes: Uint8Array, source: string): NpyHeader {
  const fail = (why: string) => new InputError(`Cannot read "${source}": ${why}`);
  const dataOffset = npyHeaderLength(bytes, source);
  if (bytes.length < dataOffset) throw fail("truncated header");
  const start = bytes[6] === 1 ? 10 : 12;
  const raw = bytes.subarray(start, dataOffset);
  const text = (bytes[6] === 3 ? new TextDecoder() : new TextDecoder("latin1")).decode(raw).trim();
  if (!text.startsWith("{") || !text.endsWith("}")) throw fail("bad header (not a Python dict)");
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined) {
    throw fail(/['"]descr['"]\s*:\s*\[/.test(text) ? "structured dtype, expected float32 ('<f4')" : "bad header (no 'descr')");
  }
  if (fortran === undefined) throw fail("bad header (no 'fortran_order')");
  if (shapeText === undefined) throw fail("bad header (no 'shape')");
  if (descr !== "<f4") {
    if (descr === ">f4") throw fail("big-endian float32 ('>f4'), expected little-endian ('<f4')");
    throw fail(`dtype ${dtypeName(descr)} ('${descr}'), expected float32 ('<f4')`);
  }
  if (fortran === "True") throw fail("Fortran order, expected C order (save with np.ascontiguousarray)");
  const parts = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.some((p) => !/^\d+$/.test(p))) throw fail(`bad header (shape (${shapeText.trim()}))`);
  const shape = parts.map(Number);
  return { shape, dataOffset, dataBytes: 4 * shape.reduce((a, b) => a * b, 1) };
}

/**
 * Checks that a file of `fileBytes` bytes holds exactly the data `header` needs.
 */
export function checkNpySize(header: NpyHeader, fileBytes: number, source: string): void {
  const have = fileBytes - header.dataOffset;
  if (have === header.dataBytes) return;
  const needs = `shape ${formatDims(header.shape)} of float32 needs ${header.dataBytes} bytes of data, file has ${have}`;
  throw new InputError(`Cannot read "${source}": ${have < header.dataBytes ? `truncated data: ${needs}` : `${needs} (header and data disagree)`}`);
}

/**
 * Reads a float32 `.npy` file. The data is a view on `bytes` when aligned,
 * else a copy. Throws an {@linkcode InputError} naming `source` for any other
 * dtype, big-endian or Fortran-order data, a bad header or a wrong size.
 *
 * @example
 * ```ts
 * const { shape, data } = readNpy(fs.readFileSync("x.npy"), "x.npy");
 * ```
 */
export function readNpy(bytes: Uint8Array, source: string): Npy {
  const header = readNpyHeader(bytes, source);
  checkNpySize(header, bytes.length, source);
  const offset = bytes.byteOffset + header.dataOffset;
  const count = header.dataBytes / 4;
  let data: Float32Array;
  if (offset % 4 === 0 && LITTLE_ENDIAN_HOST) {
    data = new Float32Array(bytes.buffer, offset, count);
  } else {
    data = new Float32Array(count);
    const view = new DataView(bytes.buffer, offset, header.dataBytes);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
  }
  return { dtype: "float32", shape: header.shape, data };
}

/**
 * Encodes a float32 array as a `.npy` file (format 1.0, C order, header
 * padded so the data starts at a multiple of 64 bytes, as NumPy does).
 *
 * @example
 * ```ts
 * fs.writeFileSync("x.npy", encodeNpy([1, 3], new Float32Array([1, 2, 3])));
 * ```
 */
export function encodeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`encodeNpy: shape ${formatDims(shape)} needs ${count} values, got ${data.length}`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + 4 * count);
  out.set(MAGIC);
  out[6] = 1;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const base = 10 + header.length;
  for (let i = 0; i < count; i++) view.setFloat32(base + 4 * i, data[i], true);
  return out;
}

/**
 * `[1,3,48,*]`: a shape as messages print it; `*` is a dynamic dimension.
 *
 * @example
 * ```ts
 * formatDims([1, 3, "height", null]); // "[1,3,*,*]"
 * ```
 */
export function formatDims(dims: readonly (number | string | null)[]): string {
  return `[${dims.map((d) => (typeof d === "number" && d >= 0 ? String(d) : "*")).join(",")}]`;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const KINDS: Record<string, string> = { f: "float", i: "int", u: "uint", c: "complex" };

/** NumPy's name for a descr such as `<f8`, for messages. */
function dtypeName(descr: string): string {
  const m = /^[<>|=]?([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) return descr;
  const [, kind, size] = m;
  if (kind === "b" && (size === "1" || size === "")) return "bool";
  if (kind === "O") return "object";
  if (kind === "U" || kind === "S") return "string";
  const base = KINDS[kind];
  return base && size ? `${base}${Number(size) * 8}` : descr;
}
