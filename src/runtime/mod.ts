/**
 * Inference behind one interface. {@linkcode getRuntime} loads a backend on
 * first use, so code that never runs a model never loads onnxruntime.
 *
 * @example
 * ```ts
 * import { getRuntime } from "./src/runtime/mod.ts";
 *
 * const rt = await getRuntime("node");
 * const session = await rt.createSession("model.onnx");
 * try {
 *   const out = await session.run({
 *     x: { dtype: "float32", dims: [1, 3], data: new Float32Array(3) },
 *   });
 *   console.log(out[session.outputNames[0]].dims);
 * } finally {
 *   await session.release();
 * }
 * ```
 *
 * @module
 */

import type { Runtime, RuntimeName } from "./types.ts";

export type {
  GraphOptimizationLevel,
  Runtime,
  RuntimeName,
  Session,
  SessionOptions,
  TensorData,
  TensorDataMap,
  TensorValue,
  ValueMetadata,
} from "./types.ts";
export { DEFAULT_SESSION_OPTIONS } from "./_options.ts";

// One loader per backend, imported on demand, like onnxruntime-common's
// backend registry but without priorities: the caller names the backend.
const LOADERS: Readonly<Record<RuntimeName, () => Promise<Runtime>>> = {
  node: async () => (await import("./node.ts")).runtime,
  web: async () => (await import("./web.ts")).runtime,
};

/**
 * The backend used when none is named: onnxruntime-node under Node and Deno,
 * onnxruntime-web in a browser (where the native binding cannot load).
 */
export const DEFAULT_RUNTIME: RuntimeName =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string" || "Deno" in globalThis ? "node" : "web";

/** Backend names, for CLI help and option checks. */
export const RUNTIME_NAMES: readonly RuntimeName[] = Object.keys(LOADERS) as RuntimeName[];

/**
 * The backend called `name`. Rejects with a RangeError for an unknown name
 * (it may come straight from `--runtime`) and with a one-line Error when the
 * backend cannot load, e.g. onnxruntime-node without its native binary.
 *
 * @example
 * ```ts
 * const web = await getRuntime("web");
 * web.name; // "web"
 * ```
 */
export async function getRuntime(name: RuntimeName = DEFAULT_RUNTIME): Promise<Runtime> {
  if (!Object.hasOwn(LOADERS, name)) {
    throw new RangeError(`Unknown runtime "${name}": expected one of ${RUNTIME_NAMES.join(", ")}`);
  }
  try {
    return await LOADERS[name]();
  } catch (err) {
    const detail = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").trim();
    throw new Error(`Cannot load runtime "${name}": ${detail}`, { cause: err });
  }
}
