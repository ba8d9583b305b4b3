/**
 * The node backend: native ONNX Runtime through onnxruntime-node, the
 * fastest choice on Node and Deno. Load it through `getRuntime("node")` so
 * that importing edgeq never loads the native binding by itself.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { createOrtSession } from "./_ort_session.ts";
import type { Runtime } from "./types.ts";

/**
 * The onnxruntime-node runtime. A path is handed to ONNX Runtime as is, so
 * external-data files next to the model are found.
 *
 * @example
 * ```ts
 * import { runtime } from "./node.ts";
 * const session = await runtime.createSession("model.onnx");
 * ```
 */
export const runtime: Runtime = {
  name: "node",
  createSession: (model, options) => createOrtSession(ort, model, options, ["cpu"]),
};
