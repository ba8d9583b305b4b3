/**
 * edgeq: FP32 ONNX models to INT8 bundles for a named hardware target.
 *
 * This module is the public API; it imports no ONNX Runtime backend
 * statically (see {@linkcode getRuntime}).
 *
 * @example
 * ```ts
 * import { inspectModel, normalize, readModel, writeModel } from "edgeq";
 * const model = readModel("model.onnx");
 * await normalize(model);
 * writeModel("model.norm.onnx", model);
 * ```
 *
 * @module
 */
export { InputError, RuntimeModelError, TargetViolationError } from "./src/errors.ts";
export { VERSION } from "./src/version.ts";
export * from "./src/ir/mod.ts";
export * from "./src/onnx/mod.ts";
export * from "./src/normalize/mod.ts";
export * from "./src/runtime/mod.ts";
export * from "./src/data/mod.ts";
export * from "./src/calibrate/mod.ts";
export * from "./src/passes/mod.ts";
export * from "./src/quantize/mod.ts";
export * from "./src/targets/mod.ts";
export * from "./src/validate/mod.ts";
export * from "./src/eval/mod.ts";
export * from "./src/bundle/mod.ts";
export * from "./src/report/mod.ts";
export { type InspectOptions, type InspectReport, inspectModel, type IoSpec } from "./src/inspect/inspect.ts";
export { formatInspect } from "./src/inspect/format.ts";
export { channelMaxAbs, NEAR_ZERO, type WeightChannels, weightChannels } from "./src/inspect/weights.ts";
