/**
 * Opening a model built in memory (an augmented calibration copy, a model to
 * compare) on a runtime without a second copy of its weights.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Model } from "../ir/model.ts";
import { encodeModel } from "../onnx/encode.ts";
import { writeModelForRuntime } from "../onnx/file.ts";
import type { Runtime, Session, SessionOptions } from "./types.ts";

/**
 * A session on `model`. ONNX Runtime takes a model's bytes in one piece, so
 * opening from bytes holds the encoded model beside the graph's own tensors
 * while ONNX Runtime makes its copy. A model with tensors still in their
 * file (read lazily) is instead written to a temporary folder that refers
 * to those files (see `writeModelForRuntime`) and opened by path on the
 * node runtime, which reads them itself: the process then holds ONNX
 * Runtime's copy of the weights and no other.
 */
export async function openModel(runtime: Runtime, model: Model, options: Partial<SessionOptions>): Promise<Session> {
  if (runtime.name !== "node" || ![...model.graph.initializers.values()].some((t) => t.source)) {
    return runtime.createSession(encodeModel(model).bytes, options);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edgeq-session-"));
  try {
    const file = writeModelForRuntime(dir, model);
    return await runtime.createSession(file, { modelName: "the model", ...options });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
