/**
 * Loading a target profile by built-in name or file path: read, check
 * against `targets/schema.json`, follow `extends`, check the result.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InputError } from "../errors.ts";
import { builtinTargetFile, builtinTargetNames, targetSchema } from "./builtin.ts";
import { profileProblems } from "./check.ts";
import { type JsonObject, type ProfileFile, resolveExtends } from "./resolve.ts";
import { schemaErrors } from "./schema.ts";
import type { TargetProfile } from "./types.ts";

/**
 * Whether `ref` names a file (ends in `.json` or has a folder part) rather than a built-in.
 *
 * @example
 * ```ts
 * isTargetPath("my-npu.json"); // true
 * isTargetPath("npu-int8-only"); // false
 * ```
 */
export function isTargetPath(ref: string): boolean {
  return /\.json$/i.test(ref) || ref.includes("/") || ref.includes("\\");
}

/**
 * A resolved target profile: a built-in name (`edgeq targets` lists them)
 * or a path to a JSON profile, which may `extends` a built-in or another
 * file (relative to it) and override fields. Throws an InputError whose one
 * line names the file, the field and what was expected, e.g.
 * `Cannot load target "x.json": weights.dtype must be "int8", got "int4"`.
 *
 * @example
 * ```ts
 * loadTarget("asic-per-tensor").weights.perChannel; // false
 * // my-npu.json: { "extends": "npu-int8-only", "activations": { "dtype": "uint8" } }
 * loadTarget("my-npu.json").activations; // { dtype: "uint8", symmetric: false }
 * ```
 */
export function loadTarget(nameOrPath: string): TargetProfile {
  let top: ProfileFile;
  if (isTargetPath(nameOrPath)) top = readProfile(nameOrPath, nameOrPath);
  else {
    const file = builtinTargetFile(nameOrPath);
    if (!file) {
      throw new InputError(
        `Unknown target "${nameOrPath}": expected a built-in (${builtinTargetNames().join(", ")}) or a path to a .json file`,
      );
    }
    top = readProfile(file, nameOrPath, true);
  }
  const { json, chain } = resolveExtends(top, openBase);
  const fail = (why: string) => new InputError(`Cannot load target "${top.label}": ${why}`);
  const errors = schemaErrors(json, targetSchema());
  if (errors.length) throw fail(errors[0]);
  let description = json.description as string;
  if (top.json.description === undefined && chain.length > 1) description = `Based on ${nameOf(chain[1])}: ${description}`;
  const profile = { name: nameOf(top), description, ...json } as unknown as TargetProfile;
  const ordered: TargetProfile = {
    name: profile.name,
    description,
    weights: profile.weights,
    activations: profile.activations,
    bias: profile.bias,
    powerOfTwoScales: profile.powerOfTwoScales,
    floatFallback: profile.floatFallback,
    ops: profile.ops,
    opset: profile.opset,
    staticShapes: profile.staticShapes,
    // Passes added after format 1 profiles were written: allowed, off, unless the profile says otherwise.
    passes: {
      ...profile.passes,
      gptq: profile.passes.gptq ?? { allowed: true, default: false },
      "ort-cpu-kernels": profile.passes["ort-cpu-kernels"] ?? { allowed: true, default: false },
      "layernorm-equalization": profile.passes["layernorm-equalization"] ?? { allowed: true, default: false },
    },
  };
  const problems = profileProblems(ordered);
  if (problems.length) throw fail(problems[0]);
  return ordered;
}

/**
 * Name and description of every built-in profile.
 *
 * @example
 * ```ts
 * listTargets().map((t) => t.name); // ["asic-per-tensor", "cpu-mixed", "npu-int8-only", "qnn-htp"]
 * ```
 */
export function listTargets(): { name: string; description: string }[] {
  return builtinTargetNames().map((name) => ({ name, description: builtinDescription(name) }));
}

/**
 * A built-in profile's description as {@linkcode loadTarget} gives it, read
 * from its file (and its bases') alone: the built-ins are checked by the
 * tests, and `edgeq targets` should not pay for schema checks (start-up).
 */
function builtinDescription(name: string, seen: string[] = []): string {
  const file = builtinTargetFile(name);
  if (!file || seen.includes(name)) return loadTarget(name).description; // let loadTarget say what is wrong
  const json = parseJson(fs.readFileSync(file, "utf8")) as JsonObject;
  if (typeof json.description === "string") return json.description;
  const base = json.extends;
  if (typeof base !== "string" || isTargetPath(base)) return loadTarget(name).description;
  return `Based on ${base}: ${builtinDescription(base, [...seen, name])}`;
}

/** The file an `extends` names: a built-in, or a path relative to the file that names it. */
function openBase(ref: string, from: ProfileFile): ProfileFile {
  if (!isTargetPath(ref)) {
    const file = builtinTargetFile(ref);
    if (!file) {
      throw new InputError(
        `Cannot load target "${from.label}": extends "${ref}", which is neither a built-in target (${builtinTargetNames().join(", ")}) nor a .json path`,
      );
    }
    return readProfile(file, ref, true);
  }
  const file = path.resolve(path.dirname(from.key), ref);
  const label = from.builtin ? ref : path.join(path.dirname(from.label), ref);
  return readProfile(file, label, false, from, ref);
}

/** Reads and schema-checks one profile file (a file with `extends` may be partial). */
function readProfile(file: string, label: string, builtin = false, via?: ProfileFile, ref?: string): ProfileFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder" : (e as Error).message;
    if (via) throw new InputError(`Cannot load target "${via.label}": extends "${ref}": ${why}`);
    throw new InputError(`Cannot load target "${label}": ${why}`);
  }
  let json: unknown;
  try {
    json = parseJson(text);
  } catch (e) {
    throw new InputError(`Cannot load target "${label}": not JSON (${(e as Error).message})`);
  }
  const errors = schemaErrors(json, targetSchema());
  if (errors.length) throw new InputError(`Cannot load target "${label}": ${errors[0].replace(/^the value /, "the profile ")}`);
  return { key: path.resolve(file), label, json: json as JsonObject, builtin };
}

/** A profile's JSON text parsed, a leading byte-order mark (editors on Windows write one) ignored. */
function parseJson(text: string): unknown {
  return JSON.parse(text.replace(/^\uFEFF/, ""));
}

function nameOf(f: ProfileFile): string {
  if (typeof f.json.name === "string") return f.json.name;
  return path.basename(f.label).replace(/\.json$/i, "");
}
