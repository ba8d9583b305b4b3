/**
 * `extends`: a profile file names a base (a built-in profile or another
 * file) and states only what it changes. Files merge as JSON Merge Patch
 * (RFC 7396): objects key by key, arrays and values replace, `null` removes
 * a key. Cycles are refused.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/** A JSON object as parsed. */
export type JsonObject = Record<string, unknown>;

/** One parsed profile file. */
export interface ProfileFile {
  /** Identity for cycle detection (an absolute path). */
  key: string;
  /** How messages name it: a built-in name, or the path as the user wrote it. */
  label: string;
  json: JsonObject;
  /** A built-in profile (its relative `extends` resolve inside `targets/`). */
  builtin: boolean;
}

/** Fields a file never passes on to the files that extend it. */
const OWN = new Set(["$schema", "extends", "name"]);

/**
 * `patch` applied to `base` (neither is changed): objects merge recursively,
 * `null` removes a key, anything else replaces.
 *
 * @example
 * ```ts
 * mergePatch({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: null }, d: [2] }); // { a: { b: 1 }, d: [2] }
 * ```
 */
export function mergePatch(base: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(base) ? { ...base } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Follows `extends` from `top` and merges the chain, base first. `open`
 * reads the file that `ref` names, relative to the file that names it.
 * The result has no `extends`, `$schema` or `name`; `chain` lists the files
 * from `top` to the last base.
 */
export function resolveExtends(
  top: ProfileFile,
  open: (ref: string, from: ProfileFile) => ProfileFile,
): { json: JsonObject; chain: ProfileFile[] } {
  const chain = [top];
  for (let f = top; typeof f.json.extends === "string";) {
    const next = open(f.json.extends, f);
    if (chain.some((c) => c.key === next.key)) {
      const names = [...chain, next].map((c) => c.label).join(" → ");
      throw new InputError(`Cannot load target "${top.label}": extends cycle ${names}`);
    }
    chain.push(next);
    f = next;
  }
  let json: JsonObject = {};
  for (const f of [...chain].reverse()) {
    const own = Object.fromEntries(Object.entries(f.json).filter(([k]) => !OWN.has(k)));
    json = mergePatch(json, own) as JsonObject;
  }
  return { json, chain };
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
