/**
 * Listing a data folder: which kind of files it holds, their names in order,
 * one sub-folder per input or not, and its labels. Strict: anything it does
 * not understand is an error, so a typo cannot silently drop samples.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InputError } from "../errors.ts";
import type { InputSpec } from "./types.ts";

/** What a folder's sample files are. */
export type FolderKind = "npy" | "npz" | "image";

/** A listed data folder. */
export interface Scan {
  readonly dir: string;
  readonly kind: FolderKind;
  /** Sample file names in code-point order (as Python's `sorted(os.listdir())`). */
  readonly names: string[];
  /** The folder of each input's files: `dir` itself, or `dir/<input name>`. */
  readonly inputDirs: ReadonlyMap<string, string>;
  /** `labels.json`, file name → label, when present. */
  readonly labels?: ReadonlyMap<string, unknown>;
  /** Path of `preprocess.json`, when present. */
  readonly preprocessFile?: string;
}

const KIND_OF_EXT: Record<string, FolderKind> = { ".npy": "npy", ".npz": "npz", ".png": "image", ".jpg": "image", ".jpeg": "image" };
const EXPECTED = ".npy, .npz, .png or .jpg files";

/** Files a data folder may hold besides samples. */
function ignored(name: string): boolean {
  return name.startsWith(".") || name === "labels.json" || name === "preprocess.json" || /^readme(\.|$)/i.test(name);
}

/** Compares strings by Unicode code point (JavaScript's default sort compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next(), y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

interface Entries {
  files: string[];
  folders: string[];
}

function list(dir: string, what: string): Entries {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new InputError(`Cannot use ${what} "${dir}": no such folder`);
  }
  if (!stat.isDirectory()) throw new InputError(`Cannot use ${what} "${dir}": not a folder`);
  const out: Entries = { files: [], folders: [] };
  for (const name of fs.readdirSync(dir)) {
    if (ignored(name)) continue;
    let s: fs.Stats;
    try {
      s = fs.statSync(path.join(dir, name));
    } catch {
      throw new InputError(`Cannot use ${what} "${dir}": cannot read "${name}" (broken link?)`);
    }
    (s.isDirectory() ? out.folders : out.files).push(name);
  }
  out.files.sort(compareCodePoints);
  out.folders.sort(compareCodePoints);
  return out;
}

/** The kind shared by all `files`, or an error naming the odd one out. */
function kindOf(dir: string, files: readonly string[]): FolderKind {
  let kind: FolderKind | undefined;
  let first = "";
  for (const f of files) {
    const k = KIND_OF_EXT[path.extname(f).toLowerCase()];
    if (!k) throw new InputError(`Cannot use data folder "${dir}": unexpected file "${f}" (expected ${EXPECTED})`);
    if (kind && k !== kind) throw new InputError(`Cannot use data folder "${dir}": mixes "${first}" and "${f}" (one kind of file per folder)`);
    if (!kind) [kind, first] = [k, f];
  }
  if (!kind) throw new InputError(`Cannot use data folder "${dir}": empty (no ${EXPECTED})`);
  return kind;
}

/**
 * Lists a data folder for a model with `inputs`. A model with one input
 * takes its files directly in `dir` (or in `dir/<input name>`); a model with
 * several takes `.npy` files in one sub-folder per input name, with the same
 * file names in each, or `.npz` files directly in `dir`.
 */
export function scanFolder(dir: string, inputs: readonly InputSpec[]): Scan {
  if (inputs.length === 0) throw new InputError(`Cannot use data folder "${dir}": the model has no inputs`);
  const top = list(dir, "data folder");
  const names = inputs.map((i) => i.name);
  // One flat folder: a one-input model's files (unless they sit in a sub-folder
  // named after the input), or .npz files holding every input of a sample.
  const flat = inputs.length === 1 ? !(top.files.length === 0 && top.folders.length === 1 && top.folders[0] === names[0]) : top.folders.length === 0;
  const common = { dir, ...readLabels(dir), ...preprocessFile(dir) };
  const quoted = names.map((n) => `"${n}"`).join(", ");
  if (flat) {
    if (top.folders.length > 0) throw new InputError(`Cannot use data folder "${dir}": unexpected sub-folder "${top.folders[0]}" (a model with one input takes its files directly)`);
    const kind = kindOf(dir, top.files);
    if (inputs.length > 1 && kind !== "npz") {
      throw new InputError(`Cannot use data folder "${dir}": a model with several inputs takes one sub-folder per input (${quoted}) or .npz files, found "${top.files[0]}"`);
    }
    return { ...common, kind, names: top.files, inputDirs: new Map(names.map((n) => [n, dir])) };
  }
  if (top.files.length > 0) throw new InputError(`Cannot use data folder "${dir}": unexpected file "${top.files[0]}" (a model with several inputs takes one sub-folder per input: ${quoted})`);
  const extra = top.folders.find((f) => !names.includes(f));
  if (extra !== undefined) throw new InputError(`Cannot use data folder "${dir}": unexpected sub-folder "${extra}" (model inputs: ${quoted})`);
  const missing = names.find((n) => !top.folders.includes(n));
  if (missing !== undefined) throw new InputError(`Cannot use data folder "${dir}": no sub-folder "${missing}" for model input "${missing}" (one sub-folder per input: ${quoted})`);
  const inputDirs = new Map(names.map((n) => [n, path.join(dir, n)]));
  let first: { dir: string; files: string[] } | undefined;
  for (const sub of inputDirs.values()) {
    const leaf = list(sub, "data folder");
    if (leaf.folders.length > 0) throw new InputError(`Cannot use data folder "${sub}": unexpected sub-folder "${leaf.folders[0]}"`);
    const kind = kindOf(sub, leaf.files);
    if (kind !== "npy" && inputs.length > 1) throw new InputError(`Cannot use data folder "${sub}": a model with several inputs takes .npy files in each input's sub-folder, found "${leaf.files[0]}"`);
    if (first) {
      const a = new Set(first.files), b = new Set(leaf.files);
      const onlyA = first.files.find((f) => !b.has(f));
      if (onlyA !== undefined) throw new InputError(`Cannot use data folder "${dir}": "${onlyA}" is in "${first.dir}" but not in "${sub}"`);
      const onlyB = leaf.files.find((f) => !a.has(f));
      if (onlyB !== undefined) throw new InputError(`Cannot use data folder "${dir}": "${onlyB}" is in "${sub}" but not in "${first.dir}"`);
    } else first = { dir: sub, files: leaf.files };
    if (inputs.length === 1) return { ...common, kind, names: leaf.files, inputDirs };
  }
  return { ...common, kind: "npy", names: first!.files, inputDirs };
}

function preprocessFile(dir: string): { preprocessFile?: string } {
  const file = path.join(dir, "preprocess.json");
  return fs.existsSync(file) ? { preprocessFile: file } : {};
}

function readLabels(dir: string): { labels?: Map<string, unknown> } {
  const file = path.join(dir, "labels.json");
  if (!fs.existsSync(file)) return {};
  const json = readJson(file);
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new InputError(`Cannot read "${file}": expected an object mapping file names to labels`);
  }
  return { labels: new Map(Object.entries(json)) };
}

/** Parses a JSON file, with a one-line error naming it. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`Cannot read "${file}": ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`Cannot read "${file}": invalid JSON (${(e as Error).message})`);
  }
}
