/**
 * The bundle's container: a plain ustar archive, written so that the same
 * entries give the same bytes on any machine, and read back into memory
 * with every entry checked before anything uses it. Runs in Node, Deno and
 * browsers (tar-stream parses and writes; no file system is touched).
 *
 * @module
 */
import { extract, pack } from "tar-stream";
import { InputError } from "../errors.ts";

/** One file of an archive. */
export interface TarEntry {
  /** Relative path with `/` separators, e.g. `golden/0/input-0.npy`. */
  readonly name: string;
  readonly data: Uint8Array;
}

export { DEFAULT_TAR_LIMITS, type TarLimits } from "./limits.ts";
import { DEFAULT_TAR_LIMITS, type TarLimits } from "./limits.ts";

/**
 * An archive edgeq will not read: an unsafe or non-regular entry, a size
 * over a limit, a truncated or corrupted archive, bytes after its end. An
 * {@linkcode InputError}, so the CLI exits 2 with the one line.
 *
 * @example
 * ```ts
 * try { await readTar(bytes, "b.tar"); } catch (e) { if (e instanceof UnsafeBundleError) console.error(e.message); }
 * ```
 */
export class UnsafeBundleError extends InputError {
  override name = "UnsafeBundleError";
}

/** Every header the writer emits has these: nothing that depends on the host or the time. */
const FIXED = { mode: 0o644, uid: 0, gid: 0, uname: "", gname: "", mtime: new Date(0), type: "file" as const };

const BLOCK = 512;
const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/**
 * Why `name` cannot be an entry name, or `undefined` when it can: a relative
 * path of printable ASCII segments, none empty, `.` or `..`, at most 100
 * bytes (so it fits a plain ustar header with no extension header).
 *
 * @example
 * ```ts
 * unsafeName("golden/0/input-0.npy"); // undefined
 * unsafeName("../etc/passwd"); // 'a ".." segment'
 * ```
 */
export function unsafeName(name: string): string | undefined {
  if (name === "") return "an empty name";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "an absolute path";
  if (name.includes("\\")) return "a backslash in the path";
  if (!/^[\x21-\x7e]+$/.test(name)) return "characters other than printable ASCII";
  const parts = name.split("/");
  if (parts.includes("..")) return 'a ".." segment';
  if (parts.some((p) => p === "" || p === ".")) return 'an empty or "." segment';
  if (name.length > 100) return "a name over 100 bytes";
  return undefined;
}

/**
 * A deterministic archive of `entries`: sorted by name (code points), mode
 * 0644, uid/gid 0, no user or group names, mtime 0, no extension headers,
 * ended by the two zero blocks and nothing else.
 *
 * @example
 * ```ts
 * const tar = await writeTar([{ name: "a.txt", data: new TextEncoder().encode("hi") }]);
 * tar.length; // 2048: a header, one data block, the end
 * ```
 */
export async function writeTar(entries: readonly TarEntry[]): Promise<Uint8Array> {
  const seen = new Set<string>();
  for (const e of entries) {
    const why = unsafeName(e.name);
    if (why) throw new RangeError(`writeTar: entry "${e.name}" has ${why}`);
    if (seen.has(e.name)) throw new RangeError(`writeTar: duplicate entry "${e.name}"`);
    seen.add(e.name);
  }
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const p = pack();
  const chunks: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on("data", (c) => chunks.push(c as Uint8Array));
    p.on("end", () => resolve());
    p.on("error", reject);
  });
  for (const e of sorted) {
    await new Promise<void>((resolve, reject) => {
      p.entry({ ...FIXED, name: e.name, size: e.data.length }, e.data as never, (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await done;
  return concat(chunks);
}

/**
 * Reads an archive into memory, one entry at a time as tar-stream parses
 * it, and refuses (with an {@linkcode UnsafeBundleError} naming `source` and
 * the entry) anything but regular files with safe, unique names within the
 * limits; extension headers (pax, GNU long names), a truncated archive, a
 * corrupted header, and any non-zero byte after the end of the archive.
 *
 * @example
 * ```ts
 * const entries = await readTar(bytes, "model.tar");
 * entries.get("manifest.json");
 * ```
 */
export async function readTar(bytes: Uint8Array, source: string, limits: Partial<TarLimits> = {}): Promise<Map<string, Uint8Array>> {
  const lim: TarLimits = { ...DEFAULT_TAR_LIMITS, ...limits };
  const fail = (why: string) => new UnsafeBundleError(`Cannot read bundle "${source}": ${why}`);
  if (bytes.length > lim.maxTotalBytes) throw fail(`${bytes.length} bytes, over the bundle limit of ${lim.maxTotalBytes}`);
  if (bytes.length < 2 * BLOCK) throw fail(bytes.length === 0 ? "empty file" : "not a tar archive (shorter than its end marker)");
  const entries = new Map<string, Uint8Array>();
  // Where the next header must start: anything tar-stream skipped (extension headers, zero blocks) shows as a gap.
  let expected = 0;
  let problem: InputError | undefined;
  const ex = extract();
  ex.on("entry", (header, stream, next) => {
    // A refused archive is abandoned mid-entry: its streams' errors are expected, not unhandled.
    stream.on("error", () => {});
    const name = header.name;
    const refuse = (why: string) => {
      problem ??= fail(`entry "${name}": ${why}`);
      stream.resume();
      stream.on("end", next);
    };
    const start = (header as { byteOffset?: number }).byteOffset;
    if (start !== undefined && start !== expected + BLOCK) {
      return refuse(header.pax ? "an extension (pax) header" : entries.size ? "it follows the end of the archive or an extension header" : "an extension header before it");
    }
    if (header.type !== "file") return refuse(`a ${header.type ?? "non-regular"} entry, not a regular file`);
    const why = unsafeName(name);
    if (why) return refuse(`${why}`);
    if (entries.has(name)) return refuse("a duplicate name");
    if (entries.size >= lim.maxEntries) return refuse(`more than ${lim.maxEntries} entries`);
    const size = header.size ?? 0;
    if (size > lim.maxEntryBytes) return refuse(`${size} bytes, over the entry limit of ${lim.maxEntryBytes}`);
    expected += BLOCK + padded(size);
    const parts: Uint8Array[] = [];
    stream.on("data", (c) => parts.push(c as Uint8Array));
    stream.on("end", () => {
      entries.set(name, concat(parts));
      next();
    });
  });
  const finished = new Promise<void>((resolve, reject) => {
    ex.on("finish", () => resolve());
    ex.on("error", (e: Error) => reject(e));
  });
  try {
    // Fed in pieces, as a stream would deliver them; tar-stream never sees the whole file at once.
    for (let at = 0; at < bytes.length && !problem; at += 1 << 20) {
      const piece = bytes.subarray(at, Math.min(bytes.length, at + (1 << 20)));
      if (!ex.write(piece as never)) await new Promise<void>((r) => ex.once("drain", () => r()));
    }
    if (problem) {
      finished.catch(() => {});
      ex.destroy();
    } else {
      ex.end(undefined as never);
      await finished;
    }
  } catch (e) {
    if (problem) throw problem;
    // An end marker where the entries end: whatever tar-stream choked on comes after it.
    if (expected + 2 * BLOCK <= bytes.length && bytes.subarray(expected, expected + 2 * BLOCK).every((b) => b === 0)) {
      throw fail(`${bytes.length - expected - 2 * BLOCK} bytes after the end of the archive (trailing data)`);
    }
    const msg = (e as Error).message;
    throw fail(/Unexpected end/i.test(msg) ? "truncated archive" : /header/i.test(msg) ? "corrupted or not a tar archive (bad header checksum)" : msg);
  }
  if (problem) throw problem;
  if (!entries.size) throw fail("no entries");
  // After the last entry: the end marker (two zero blocks) and only zeros.
  const tail = bytes.subarray(expected);
  if (tail.length < 2 * BLOCK) throw fail("truncated archive (no end marker)");
  if (tail.some((b) => b !== 0)) throw fail(`${tail.length - 2 * BLOCK} bytes after the end of the archive (trailing data)`);
  return entries;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return new Uint8Array(parts[0]);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
