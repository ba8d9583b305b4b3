/**
 * File reads with one-line errors naming the file (Node and Deno, through
 * `node:fs`).
 *
 * @module
 */
import * as fs from "node:fs";
import { InputError } from "../errors.ts";

function ioError(file: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder" : code ?? String(e);
  return new InputError(`Cannot read "${file}": ${why}`);
}

/** The whole file. */
export function readBytes(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw ioError(file, e);
  }
}

/** The whole file, without blocking. */
export async function readBytesAsync(file: string): Promise<Uint8Array> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    throw ioError(file, e);
  }
}

/**
 * Calls `read(at, length)` to read parts of an open file of `size` bytes;
 * a read past the end returns what exists.
 */
export function withFile<T>(file: string, use: (size: number, read: (at: number, length: number) => Uint8Array) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw ioError(file, e);
  }
  try {
    const size = fs.fstatSync(fd).size;
    return use(size, (at, length) => {
      const out = new Uint8Array(Math.max(0, Math.min(length, size - at)));
      let done = 0;
      while (done < out.length) {
        const n = fs.readSync(fd, out, done, out.length - done, at + done);
        if (n === 0) break;
        done += n;
      }
      return out.subarray(0, done);
    });
  } finally {
    fs.closeSync(fd);
  }
}
