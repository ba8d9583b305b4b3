/**
 * Reading and writing model files (Node and Deno, through `node:fs`).
 * Writes are atomic: a temporary file in the same folder, then a rename.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import type { Tensor, TensorSource } from "../ir/tensor.ts";
import { decodeModel, type ExternalLoader, type LazyOptions } from "./decode.ts";
import { encodeParts, type ExternalPlan } from "./encode.ts";
import { skeleton } from "./skeleton.ts";

/** Options for {@linkcode readModel}. */
export interface ReadOptions {
  /**
   * Leave tensors of `lazyMinBytes` or more in their file until a pass or
   * writer asks for them (`Tensor.bytes`; the file is read as a skeleton
   * without them, see `skeleton`), so that a process holds one copy of a
   * large model's weights, ONNX Runtime's, rather than two. `"auto"`
   * (default): for model files of 64 MiB or more, and for external data
   * always.
   */
  lazy?: "auto" | boolean;
  /** @default 1 MiB */
  lazyMinBytes?: number;
}

/** Model files from this size on are read lazily by default. */
export const LAZY_FILE_BYTES = 64 * 2 ** 20;
const LAZY_MIN_BYTES = 2 ** 20;

/**
 * Reads an ONNX model file, with its external data (resolved relative to the
 * model's folder). Large tensors of large models stay in their files until
 * used (see {@linkcode ReadOptions.lazy}); reading one after its file has
 * changed throws an {@linkcode InputError}.
 *
 * @example
 * ```ts
 * const model = readModel("model.onnx");
 * ```
 */
export function readModel(file: string, opts: ReadOptions = {}): Model {
  const mode = opts.lazy ?? "auto";
  const minBytes = opts.lazyMinBytes ?? LAZY_MIN_BYTES;
  let bytes: Uint8Array | undefined;
  const external = externalSources(file);
  let lazy: LazyOptions | undefined = mode === false ? undefined : { minBytes, external };
  try {
    if (lazy) {
      const fd = fs.openSync(file, "r");
      try {
        const st = fs.fstatSync(fd);
        if (mode === true || st.size >= LAZY_FILE_BYTES) {
          bytes = skeleton((at, into) => fs.readSync(fd, into, 0, into.length, at), st.size, minBytes);
          const at = { size: st.size, mtimeMs: st.mtimeMs }, where = `Cannot read model "${file}": "${file}"`;
          if (bytes) lazy = { ...lazy, self: (offset, length) => fileSource(file, at, offset, length, where) };
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    bytes ??= fs.readFileSync(file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`Cannot read model "${file}": ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const loadExternal: ExternalLoader = (location, offset, length, tensor) => external(location, offset, length, tensor).read();
  return decodeModel(bytes, { source: file, loadExternal, lazy });
}

/** What identifies a file's contents cheaply: its size and modification time. */
interface Stamp {
  size: number;
  mtimeMs: number;
}

/**
 * `length` bytes at `offset` of `file`, which must still have stamp `at`
 * when read; errors are one line starting with `where`.
 */
function fileSource(file: string, at: Stamp, offset: number, length: number, where: string): TensorSource {
  const open = () => {
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch (e) {
      throw new InputError(`${where} is gone (${(e as NodeJS.ErrnoException).code ?? e}) since it was first read`);
    }
    const st = fs.fstatSync(fd);
    if (st.size !== at.size || st.mtimeMs !== at.mtimeMs) {
      fs.closeSync(fd);
      throw new InputError(`${where} changed since it was first read`);
    }
    return fd;
  };
  return {
    file,
    offset,
    length,
    read() {
      const fd = open();
      try {
        return readAt(fd, offset, length, where);
      } catch (e) {
        if (e instanceof InputError) throw e;
        throw new InputError(`${where} cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`);
      } finally {
        fs.closeSync(fd);
      }
    },
    check() {
      fs.closeSync(open());
    },
  };
}

/**
 * External data beside `modelFile` as sources: the folder, presence and
 * bounds are checked when asked for (each file stamped once), the bytes
 * read on use.
 */
function externalSources(modelFile: string): NonNullable<LazyOptions["external"]> {
  const stamps = new Map<string, Stamp>();
  return (location, offset, length, tensor) => {
    const where = `Cannot read model "${modelFile}": tensor "${tensor}" external data "${location}"`;
    const full = externalPath(modelFile, location, where);
    let st = stamps.get(full);
    if (!st) {
      try {
        const { size, mtimeMs } = fs.statSync(full);
        st = { size, mtimeMs };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new InputError(`${where} ${code === "ENOENT" ? "is missing" : `cannot be opened (${code ?? e})`}`);
      }
      stamps.set(full, st);
    }
    const len = length < 0 ? st.size - offset : length;
    if (offset + len > st.size || len < 0) throw new InputError(`${where} is truncated (needs bytes ${offset}..${offset + len}, file has ${st.size})`);
    return fileSource(full, st, offset, len, where);
  };
}

/** The path of external data `location` of `modelFile`; refuses paths that leave the model's folder. */
function externalPath(modelFile: string, location: string, where: string): string {
  const dir = path.dirname(path.resolve(modelFile));
  const full = path.resolve(dir, location);
  if (path.isAbsolute(location) || !full.startsWith(dir + path.sep)) {
    throw new InputError(`${where} points outside the model's folder`);
  }
  return full;
}

/** Reads `len` bytes at `offset` of open file `fd`. */
function readAt(fd: number, offset: number, len: number, where: string): Uint8Array {
  const out = new Uint8Array(len);
  for (let done = 0; done < len;) {
    const n = fs.readSync(fd, out, done, Math.min(IO_CHUNK, len - done), offset + done);
    if (n === 0) throw new InputError(`${where} is truncated (file shrank while reading)`);
    done += n;
  }
  return out;
}

/** Options for {@linkcode writeModel}. */
export interface WriteOptions {
  /**
   * Where tensor data goes. `"auto"` (default) keeps it inline unless the
   * protobuf would pass the 2 GB protobuf limit; `true` always writes tensors
   * of `externalThreshold` bytes or more to `<file>.data`; `false` never does.
   */
  externalData?: "auto" | boolean;
  /** Minimum tensor size in bytes to move to external data. Default 1024. */
  externalThreshold?: number;
  /**
   * For tests: the initializer bytes above which `"auto"` goes external.
   * Default 2 GiB − 64 MiB (protobuf's 2 GiB limit, with room for the graph).
   */
  inlineLimit?: number;
  /** With external data: where lazy tensors may be referred to as they are (see {@linkcode ExternalPlan.refer}). */
  refer?: ExternalPlan["refer"];
  /** Flush the files to disk before renaming them into place. @default true */
  sync?: boolean;
}

/** Protobuf messages cannot exceed 2 GiB; leave room for the graph itself. */
const INLINE_LIMIT = 2 ** 31 - 64 * 2 ** 20;

/**
 * Writes a model atomically. External data, when used, goes to
 * `<basename>.data` beside the model (also written atomically).
 *
 * @example
 * ```ts
 * writeModel("out.onnx", model);
 * ```
 */
export function writeModel(file: string, model: Model, opts: WriteOptions = {}): void {
  const mode = opts.externalData ?? "auto";
  const location = `${path.basename(file)}.data`;
  let external = mode === true;
  if (mode === "auto") external = initializerBytes(model) > (opts.inlineLimit ?? INLINE_LIMIT);
  const plan: ExternalPlan | undefined = external
    ? { location, threshold: opts.externalThreshold ?? 1024, refer: opts.refer }
    : undefined;
  const sync = opts.sync ?? true;
  const enc = encodeParts(model, plan);
  if (enc.external) {
    const dataFile = path.join(path.dirname(file), enc.external.location);
    atomicWrite(dataFile, (fd) => {
      for (const c of enc.external!.chunks) writeAll(fd, c.bytes, c.offset);
    }, sync);
  }
  // The pieces go out in order, small ones gathered into one write: the model is never joined in memory.
  atomicWrite(file, (fd) => {
    let at = 0, pending: Uint8Array[] = [], pendingBytes = 0;
    const flush = () => {
      if (!pendingBytes) return;
      let joined = pending[0];
      if (pending.length > 1) {
        joined = new Uint8Array(pendingBytes);
        let k = 0;
        for (const q of pending) (joined.set(q, k), (k += q.byteLength));
      }
      writeAll(fd, joined, at);
      at += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };
    for (const p of enc.parts) {
      if (p.byteLength >= 1 << 16) {
        flush();
        writeAll(fd, p, at);
        at += p.byteLength;
      } else {
        pending.push(p);
        pendingBytes += p.byteLength;
      }
    }
    flush();
  }, sync);
}

/**
 * Writes `model` into the folder `dir` (which should be empty and is the
 * caller's to remove) for ONNX Runtime to open by path, without reading
 * its lazy tensors into memory: each file they stay in is hard-linked into
 * `dir` and they are referred to where their bytes are (ONNX Runtime only
 * reads external data inside the model's folder, and follows no symbolic
 * link out of it). Where a link cannot be made (another file system) they
 * are copied to the data file one at a time, like the tensors held in memory.
 * Returns the model's path.
 */
export function writeModelForRuntime(dir: string, model: Model): string {
  const links = new Map<string, string | null>();
  const refer = (t: Tensor) => {
    const src = t.source!;
    let location = links.get(src.file);
    if (location === undefined) {
      location = `source${links.size}.bin`;
      try {
        // The link must show the bytes the tensor was read from.
        src.check();
        fs.linkSync(src.file, path.join(dir, location));
      } catch (e) {
        if (e instanceof InputError) throw e;
        location = null;
      }
      links.set(src.file, location);
    }
    return location === null ? undefined : { location, offset: src.offset };
  };
  const file = path.join(dir, "model.onnx");
  writeModel(file, model, { externalData: true, refer, sync: false });
  return file;
}

/** Node takes at most 2 GiB − 1 per read or write call, and Linux moves at most ~2 GiB per call. */
const IO_CHUNK = 1 << 30;

/** Writes all of `bytes` at `offset`, looping over partial writes. */
function writeAll(fd: number, bytes: Uint8Array, offset: number): void {
  for (let done = 0; done < bytes.byteLength;) {
    done += fs.writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.byteLength - done), offset + done);
  }
}

function initializerBytes(model: Model): number {
  let n = 0;
  for (const t of model.graph.initializers.values()) n += t.byteLength;
  return n;
}

/**
 * Writes through `fill` into a temporary sibling, then renames it into place.
 *
 * @example
 * ```ts
 * atomicWrite("out.bin", (fd) => fs.writeSync(fd, bytes)); // readers see the old file or the whole new one
 * ```
 */
export function atomicWrite(file: string, fill: (fd: number) => void, sync = true): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w");
  try {
    fill(fd);
    if (sync) fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}
