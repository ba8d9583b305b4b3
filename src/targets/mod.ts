/**
 * Target profiles: what a piece of hardware runs in integer form, as JSON in
 * `targets/` checked against `targets/schema.json`, with `extends` for user
 * profiles that change a built-in one.
 *
 * @example
 * ```ts
 * import { listTargets, loadTarget } from "./src/targets/mod.ts";
 * listTargets(); // [{ name: "asic-per-tensor", description: "…" }, …]
 * const npu = loadTarget("npu-int8-only");
 * npu.floatFallback; // false
 * ```
 *
 * @module
 */
export type { OpLimits, PassName, PassRule, TargetProfile } from "./types.ts";
export { isTargetPath, listTargets, loadTarget } from "./load.ts";
export { builtinTargetNames, targetSchema, targetsDir } from "./builtin.ts";
export { type JsonSchema, schemaErrors } from "./schema.ts";
export { mergePatch } from "./resolve.ts";
export { profileProblems } from "./check.ts";
