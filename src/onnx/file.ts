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
import { decodeModel, type ExternalLoader } from "./decode.ts";
import { encodeParts, type ExternalPlan } from "./encode.ts";

/**
 * Reads an ONNX model file, with its external data (resolved relative to the
 * model's folder).
 *
 * @example
 * ```ts
 * const model = readModel("model.onnx");
 * ```
 */
export function readModel(file: string): Model {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new InputError(`Cannot read model "${file}": ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  return decodeModel(bytes, { source: file, loadExternal: externalLoader(file) });
}

/** Reads external tensor data beside `modelFile`, refusing paths that leave its folder. */
export function externalLoader(modelFile: string): ExternalLoader {
  const dir = path.dirname(path.resolve(modelFile));
  return (location, offset, length, tensor) => {
    const where = `Cannot read model "${modelFile}": tensor "${tensor}" external data "${location}"`;
    const full = path.resolve(dir, location);
    if (path.isAbsolute(location) || !full.startsWith(dir + path.sep)) {
      throw new InputError(`${where} points outside the model's folder`);
    }
    let fd: number;
    try {
      fd = fs.openSync(full, "r");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(`${where} ${code === "ENOENT" ? "is missing" : `cannot be opened (${code ?? e})`}`);
    }
    try {
      const size = fs.fstatSync(fd).size;
      const len = length < 0 ? size - offset : length;
      if (offset + len > size || len < 0) {
        throw new InputError(`${where} is truncated (needs bytes ${offset}..${offset + len}, file has ${size})`);
      }
      const out = new Uint8Array(len);
      for (let done = 0; done < len;) {
        const n = fs.readSync(fd, out, done, Math.min(IO_CHUNK, len - done), offset + done);
        if (n === 0) throw new InputError(`${where} is truncated (file shrank while reading)`);
        done += n;
      }
      return out;
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`${where} cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`);
    } finally {
      fs.closeSync(fd);
    }
  };
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
    ? { location, threshold: opts.externalThreshold ?? 1024 }
    : undefined;
  const enc = encodeParts(model, plan);
  if (enc.external) {
    const dataFile = path.join(path.dirname(file), enc.external.location);
    atomicWrite(dataFile, (fd) => {
      for (const c of enc.external!.chunks) writeAll(fd, c.bytes, c.offset);
    });
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
  });
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
  for (const t of model.graph.initializers.values()) n += t.bytes.byteLength;
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
export function atomicWrite(file: string, fill: (fd: number) => void): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w");
  try {
    fill(fd);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}
