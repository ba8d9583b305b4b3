/**
 * The web backend: ONNX Runtime compiled to WebAssembly (onnxruntime-web,
 * CPU "wasm" provider). Slower than the node backend, but it is what a
 * browser deployment runs, so `verify --runtime web` checks a bundle against
 * the engine it will meet.
 *
 * Under Node and Deno the package resolves to its `ort.node.min.mjs` build,
 * which loads `ort-wasm-simd-threaded.{mjs,wasm}` relative to its own URL,
 * i.e. from node_modules: no network and no `env.wasm.wasmPaths` needed.
 * We leave `wasmPaths` alone because browser bundles embed the wasm and a
 * node_modules path set here would point them at files they do not have.
 *
 * @module
 */

import * as ort from "onnxruntime-web";
import { resolveSessionOptions } from "./_options.ts";
import { createOrtSession } from "./_ort_session.ts";
import type { Runtime, SessionOptions } from "./types.ts";

let configured = false;

// ORT Web reads `env.wasm.numThreads` once, when the first session starts
// the wasm module; later values are ignored, so only the first call counts.
function configureOnce(options: Partial<SessionOptions> | undefined): void {
  if (configured) return;
  const { intraOpNumThreads } = resolveSessionOptions(options);
  ort.env.wasm.numThreads = intraOpNumThreads > 0 ? intraOpNumThreads : 1;
  configured = true;
}

/**
 * The onnxruntime-web runtime. On Node and Deno a path is read by ONNX
 * Runtime from disk; in a browser it is fetched as a URL.
 *
 * @example
 * ```ts
 * import { runtime } from "./web.ts";
 * const bytes = await Deno.readFile("model.onnx");
 * const session = await runtime.createSession(bytes);
 * ```
 */
export const runtime: Runtime = {
  name: "web",
  // async so that a bad option rejects rather than throws synchronously
  createSession: async (model, options) => {
    configureOnce(options);
    return await createOrtSession(ort, model, options, ["wasm"]);
  },
};
