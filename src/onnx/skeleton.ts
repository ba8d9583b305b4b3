/**
 * A model file's skeleton: its bytes with every large `raw_data` replaced
 * by an external-data reference to where it sits in the file
 * ({@linkcode SELF_LOCATION}), read without ever holding those payloads.
 * The protobuf is walked by its wire format (tags and lengths), descending
 * only into the messages that can hold tensors; everything else is copied
 * as it is.
 *
 * @module
 */
import { SELF_LOCATION } from "./decode.ts";

/** Reads up to `into.length` bytes at file position `at`; returns how many it read. */
export type ReadAt = (at: number, into: Uint8Array) => number;

// Messages that can hold tensors, and which of their fields lead to them.
type Kind = "model" | "graph" | "node" | "attribute" | "tensor";
const CHILDREN: Record<Kind, ReadonlyMap<number, Kind>> = {
  model: new Map([[7, "graph"]]), // ModelProto.graph
  graph: new Map([[1, "node"], [5, "tensor"]]), // GraphProto.node, .initializer
  node: new Map([[5, "attribute"]]), // NodeProto.attribute
  attribute: new Map([[5, "tensor"], [6, "graph"], [10, "tensor"], [11, "graph"]]), // AttributeProto.t, .g, .tensors, .graphs
  tensor: new Map(),
};
const RAW_DATA = 9, EXTERNAL_DATA = 13, DATA_LOCATION = 14;

/** A piece of the output: a span of the file, or bytes of our own. */
type Piece = { at: number; length: number } | Uint8Array;

/** Thrown inside the walk when the bytes are not a well-formed model; the caller reads the file whole instead. */
class Malformed extends Error {}

/**
 * The skeleton of a model file of `size` bytes, or `undefined` when it has
 * no raw data of `minBytes` or more, or its framing is not well formed (read
 * it whole: the decoder then says what is wrong).
 *
 * @example
 * ```ts
 * const fd = fs.openSync(file, "r");
 * const bytes = skeleton((at, into) => fs.readSync(fd, into, 0, into.length, at), fs.fstatSync(fd).size, 1 << 20);
 * ```
 */
export function skeleton(read: ReadAt, size: number, minBytes: number): Uint8Array | undefined {
  const w = new Window(read, size);
  const pieces: Piece[] = [];
  let found = 0;
  try {
    const walk = (start: number, end: number, kind: Kind, out: Piece[]): number => {
      const children = CHILDREN[kind];
      let pos = start, length = 0;
      // A tensor whose raw data stays in the file: its data location goes last, once.
      let big: { at: number; length: number } | undefined;
      if (kind === "tensor") big = largeRawData(w, start, end, minBytes);
      while (pos < end) {
        const field = pos;
        const tag = w.varint(pos);
        pos = tag.end;
        const no = Math.floor(tag.value / 8), wire = tag.value % 8;
        if (wire === 2) {
          const len = w.varint(pos);
          const data = len.end, next = data + len.value;
          if (next > end) throw new Malformed();
          pos = next;
          const child = children.get(no);
          if (big && (no === RAW_DATA || no === EXTERNAL_DATA)) continue;
          if (child) {
            const sub: Piece[] = [];
            const n = walk(data, next, child, sub);
            if (sub.length === 1 && !(sub[0] instanceof Uint8Array) && sub[0].at === data && n === len.value) {
              length += push(out, { at: field, length: next - field });
            } else {
              length += push(out, concatBytes([varint(tag.value), varint(n)]));
              for (const p of sub) length += push(out, p);
            }
            continue;
          }
        } else if (wire === 0) {
          pos = w.varint(pos).end;
          if (big && no === DATA_LOCATION) continue;
        } else if (wire === 1) pos += 8;
        else if (wire === 5) pos += 4;
        else throw new Malformed();
        if (pos > end) throw new Malformed();
        length += push(out, { at: field, length: pos - field });
      }
      if (big) {
        found++;
        length += push(out, externalHere(big.at, big.length));
      }
      return length;
    };
    walk(0, size, "model", pieces);
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
  if (found === 0) return undefined;
  let total = 0;
  for (const p of pieces) total += p instanceof Uint8Array ? p.byteLength : p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      out.set(p, at);
      at += p.byteLength;
    } else {
      for (let done = 0; done < p.length;) {
        const n = read(p.at + done, out.subarray(at + done, at + p.length));
        if (n <= 0) throw new Malformed("the file shrank while reading");
        done += n;
      }
      at += p.length;
    }
  }
  return out;
}

/** The span of a tensor's raw data when it is `minBytes` or more (the last raw_data field wins, as in protobuf). */
function largeRawData(w: Window, start: number, end: number, minBytes: number): { at: number; length: number } | undefined {
  let pos = start, found: { at: number; length: number } | undefined;
  while (pos < end) {
    const tag = w.varint(pos);
    pos = tag.end;
    const no = Math.floor(tag.value / 8), wire = tag.value % 8;
    if (wire === 2) {
      const len = w.varint(pos);
      if (no === RAW_DATA) found = len.value >= minBytes ? { at: len.end, length: len.value } : undefined;
      pos = len.end + len.value;
    } else if (wire === 0) pos = w.varint(pos).end;
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Malformed();
  }
  if (pos !== end) throw new Malformed();
  return found;
}

/** Appends a piece, merging a file span into the previous one it continues. */
function push(out: Piece[], p: Piece): number {
  const last = out[out.length - 1];
  if (!(p instanceof Uint8Array) && last && !(last instanceof Uint8Array) && last.at + last.length === p.at) {
    last.length += p.length;
  } else out.push(p);
  return p instanceof Uint8Array ? p.byteLength : p.length;
}

/** TensorProto fields saying the data is `length` bytes at `at` of the model file itself. */
function externalHere(at: number, length: number): Uint8Array {
  const text = new TextEncoder();
  const entry = (key: string, value: string) => {
    const k = text.encode(key), v = text.encode(value);
    const body = concatBytes([varint(1 * 8 + 2), varint(k.length), k, varint(2 * 8 + 2), varint(v.length), v]);
    return concatBytes([varint(EXTERNAL_DATA * 8 + 2), varint(body.length), body]);
  };
  return concatBytes([
    entry("location", SELF_LOCATION),
    entry("offset", String(at)),
    entry("length", String(length)),
    varint(DATA_LOCATION * 8), varint(1),
  ]);
}

function varint(v: number): Uint8Array {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/** Random access to the file through one buffer, refilled around the position asked for. */
class Window {
  readonly #read: ReadAt;
  readonly #size: number;
  readonly #buf = new Uint8Array(1 << 16);
  #start = 0;
  #end = 0;

  constructor(read: ReadAt, size: number) {
    this.#read = read;
    this.#size = size;
  }

  /** The varint at `pos`: its value and the position after it. */
  varint(pos: number): { value: number; end: number } {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const b = this.#byte(pos++);
      value += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return { value, end: pos };
    }
    throw new Malformed();
  }

  #byte(pos: number): number {
    if (pos >= this.#size) throw new Malformed();
    if (pos < this.#start || pos >= this.#end) {
      this.#start = pos;
      this.#end = pos + this.#read(pos, this.#buf.subarray(0, Math.min(this.#buf.length, this.#size - pos)));
      if (this.#end <= pos) throw new Malformed();
    }
    return this.#buf[pos - this.#start];
  }
}
