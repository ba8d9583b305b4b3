/**
 * Constant tensors (initializers, Constant values) as plain data: a dtype,
 * dims, and little-endian bytes. Bytes read from a file are views into that
 * file's buffer; nothing is copied until a pass changes a tensor. Large
 * tensors of large models may instead stay in their file until read
 * ({@linkcode TensorSource}).
 *
 * @module
 */
import { DTYPE_BYTES, type DType } from "./dtype.ts";

/** A typed array matching one of the numeric dtypes. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** Where a tensor's bytes lived in the file it was read from. */
export interface TensorOrigin {
  /** The typed field that held the data, when it was not `raw_data`. */
  field?: "float_data" | "int32_data" | "int64_data" | "double_data" | "uint64_data";
  /** External-data location the bytes were read from, relative to the model. */
  external?: { location: string; offset: number; length: number };
}

/**
 * Where a tensor's bytes stay until they are read: `length` bytes at
 * `offset` of `file`. `read` reads them (each call reads again; it throws
 * when the file changed since the model was read).
 */
export interface TensorSource {
  /** The file's path, as the reader was given it. */
  readonly file: string;
  readonly offset: number;
  readonly length: number;
  read(): Uint8Array;
  /** Throws as `read` would, without reading. */
  check(): void;
}

/** Options for {@linkcode Tensor}'s constructor. */
export interface TensorInit {
  name: string;
  dtype: DType;
  dims: readonly number[];
  /** Little-endian element bytes; for `string` tensors use `strings`. */
  bytes?: Uint8Array;
  /** Instead of `bytes`: where to read them when first asked (see {@linkcode Tensor.bytes}). */
  source?: TensorSource;
  /** Elements of a `string` tensor, as bytes. */
  strings?: Uint8Array[];
  docString?: string;
  origin?: TensorOrigin;
}

/**
 * A constant tensor.
 *
 * @example
 * ```ts
 * const t = Tensor.fromArray("w", [2, 2], new Float32Array([1, 2, 3, 4]));
 * t.toFloat32()[3]; // 4
 * ```
 */
export class Tensor {
  name: string;
  readonly dtype: DType;
  readonly dims: readonly number[];
  /**
   * Where the bytes stay until read, for a tensor read lazily from its file;
   * writers that can refer to the file (external data) use it without
   * reading.
   */
  readonly source: TensorSource | undefined;
  /** Elements of a `string` tensor. */
  readonly strings: Uint8Array[];
  docString: string;
  /** How the data was stored on disk; writers reuse it when they can. */
  origin: TensorOrigin | undefined;
  #bytes: Uint8Array | undefined;
  // A lazy tensor's last read, kept while anyone holds it.
  #read: WeakRef<Uint8Array> | undefined;

  constructor(init: TensorInit) {
    this.name = init.name;
    this.dtype = init.dtype;
    this.dims = [...init.dims];
    this.source = init.bytes ? undefined : init.source;
    this.#bytes = this.source ? undefined : init.bytes ?? new Uint8Array(0);
    this.strings = init.strings ?? [];
    this.docString = init.docString ?? "";
    this.origin = init.origin;
    const want = this.size * DTYPE_BYTES[this.dtype];
    if (this.dtype !== "string" && this.byteLength !== want) {
      throw new RangeError(
        `Tensor "${this.name}": ${this.byteLength} bytes for ${this.dtype}[${this.dims.join(",")}] (expected ${want})`,
      );
    }
  }

  /**
   * Little-endian element bytes (empty for `string` tensors). A lazy
   * tensor ({@linkcode source}) reads them from its file on first use and
   * again after the garbage collector has taken the last read: a model
   * larger than memory is read one tensor at a time by passes that visit
   * one tensor at a time.
   */
  get bytes(): Uint8Array {
    if (this.#bytes) return this.#bytes;
    let b = this.#read?.deref();
    if (!b) {
      b = this.#load();
      this.#read = new WeakRef(b);
    }
    return b;
  }

  /** A lazy tensor's bytes, read anew. */
  #load(): Uint8Array {
    const b = this.source!.read();
    if (b.byteLength !== this.source!.length) {
      throw new RangeError(`Tensor "${this.name}": read ${b.byteLength} bytes from "${this.source!.file}", expected ${this.source!.length}`);
    }
    return b;
  }

  /** The bytes' length, without reading a lazy tensor. */
  get byteLength(): number {
    return this.#bytes ? this.#bytes.byteLength : this.source!.length;
  }

  /** Number of elements. */
  get size(): number {
    return shapeSize(this.dims);
  }

  /**
   * Builds a tensor from a typed array (its bytes are used as they are: do not
   * change the array afterwards).
   */
  static fromArray(name: string, dims: readonly number[], data: TypedArray, dtype?: DType): Tensor {
    const dt = dtype ?? dtypeOfArray(data);
    return new Tensor({
      name,
      dtype: dt,
      dims,
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
  }

  /**
   * The elements as a typed array of the tensor's own dtype. A view when the
   * bytes are aligned, else a copy; treat it as read-only either way.
   */
  view(): TypedArray {
    const Ctor = ARRAY_OF[this.dtype];
    if (!Ctor) throw new TypeError(`Tensor "${this.name}": no typed array for ${this.dtype}`);
    let b = this.bytes;
    // Node's Buffer#slice is a view, so copy through Uint8Array's own slice.
    if (b.byteOffset % Ctor.BYTES_PER_ELEMENT !== 0) b = Uint8Array.prototype.slice.call(b);
    return new Ctor(b.buffer, b.byteOffset, b.byteLength / Ctor.BYTES_PER_ELEMENT);
  }

  /** The elements converted to a new Float32Array (any numeric dtype). */
  toFloat32(): Float32Array {
    if (this.dtype === "float16") return float16ToFloat32(this.view() as Uint16Array);
    if (this.dtype === "bfloat16") {
      const u = this.view() as Uint16Array;
      const out = new Uint32Array(u.length);
      for (let i = 0; i < u.length; i++) out[i] = u[i] << 16;
      return new Float32Array(out.buffer);
    }
    // A lazy float32 tensor not in memory: a read of its own is the new array.
    if (this.dtype === "float32" && this.source && !this.#bytes && !this.#read?.deref()) {
      const b = this.#load();
      if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    }
    const v = this.view();
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(v[i]);
    return out;
  }

  /** The elements as plain numbers (int64 beyond 2^53 loses precision). */
  toNumbers(): number[] {
    return Array.from(this.toFloat64());
  }

  /** The elements converted to a new Float64Array. */
  toFloat64(): Float64Array {
    if (this.dtype === "float16" || this.dtype === "bfloat16") return Float64Array.from(this.toFloat32());
    const v = this.view();
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(v[i]);
    return out;
  }

  /** A tensor with the same dtype and bytes under other dims (a view, no copy). */
  reshape(dims: readonly number[], name = this.name): Tensor {
    if (this.source && !this.#bytes) return new Tensor({ name, dtype: this.dtype, dims, source: this.source });
    return new Tensor({ name, dtype: this.dtype, dims, bytes: this.bytes, strings: this.strings });
  }
}

/**
 * Product of dims; 1 for a scalar.
 *
 * @example
 * ```ts
 * shapeSize([2, 3, 4]); // 24
 * ```
 */
export function shapeSize(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

type ArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
  BYTES_PER_ELEMENT: number;
};

const ARRAY_OF: Partial<Record<DType, ArrayCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
};

function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int8Array) return "int8";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Int16Array) return "int16";
  if (a instanceof Uint16Array) return "uint16";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint32Array) return "uint32";
  if (a instanceof BigInt64Array) return "int64";
  return "uint64";
}

/**
 * IEEE half-precision bits to float32.
 *
 * @example
 * ```ts
 * float16ToFloat32(new Uint16Array([0x3c00, 0xc000])); // Float32Array [1, -2]
 * ```
 */
export function float16ToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const sign = x & 0x8000 ? -1 : 1;
    const exp = (x >> 10) & 0x1f;
    const frac = x & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}
