/**
 * Where the built-in profiles and `schema.json` live: the `targets/` folder
 * at the package root, found from this module's URL so that it works from
 * source (`src/targets/`), from the build (`dist/src/targets/`) and in Deno.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { JsonSchema } from "./schema.ts";
import { TARGET_SCHEMA } from "./target_schema.ts";

// From src/targets/ the package root is two levels up; from dist/src/targets/, three.
const CANDIDATES = ["../../targets/", "../../../targets/", "../targets/"];

let dir: string | undefined;

/**
 * The folder holding the built-in profiles and `schema.json`.
 *
 * @example
 * ```ts
 * targetsDir(); // "/path/to/edgeq/targets"
 * ```
 */
export function targetsDir(): string {
  if (dir) return dir;
  for (const rel of CANDIDATES) {
    const url = new URL(rel, import.meta.url);
    if (url.protocol !== "file:") continue;
    const d = fileURLToPath(url);
    // dist/targets/ holds only the schema the build copied beside its import: look for a profile.
    if (fs.existsSync(path.join(d, "schema.json")) && fs.existsSync(path.join(d, "cpu-mixed.json"))) return (dir = d);
  }
  throw new Error(`Cannot find the built-in targets/ folder next to ${import.meta.url}`);
}

/**
 * Names of the built-in profiles (their file names without `.json`), sorted.
 *
 * @example
 * ```ts
 * builtinTargetNames(); // ["asic-per-tensor", "cpu-mixed", "npu-int8-only", "qnn-htp"]
 * ```
 */
export function builtinTargetNames(): string[] {
  return fs.readdirSync(targetsDir())
    .filter((f) => f.endsWith(".json") && f !== "schema.json")
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** The file of built-in profile `name`, or `undefined` when there is none. */
export function builtinTargetFile(name: string): string | undefined {
  return builtinTargetNames().includes(name) ? path.join(targetsDir(), `${name}.json`) : undefined;
}

/**
 * `targets/schema.json` (imported with the code, see {@linkcode TARGET_SCHEMA}).
 *
 * @example
 * ```ts
 * schemaErrors(JSON.parse(fs.readFileSync("my-npu.json", "utf8")), targetSchema()); // [] when the file obeys the schema
 * ```
 */
export function targetSchema(): JsonSchema {
  return TARGET_SCHEMA;
}
