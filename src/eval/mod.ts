/**
 * Evaluation: FP32 vs quantized on a held-out set (SQNR, cosine, max |Δ|,
 * top-1 agreement per output, task metrics side by side), per-layer error
 * attribution, text tables of both, and the PaddleOCR task metrics.
 *
 * @example
 * ```ts
 * import { compareModels, formatEvalReport } from "./src/eval/mod.ts";
 *
 * const report = await compareModels("model.onnx", "model.int8.onnx", dataset, { samples: 100 });
 * console.log(formatEvalReport(report));
 * ```
 *
 * @module
 */
export { type ErrorSummary, ErrorStats } from "./error_stats.ts";
export { argmax, cosineSimilarity, maxAbsDiff, sqnrDb, top1Agreement } from "./metrics.ts";
export { type CompareOptions, compareModels, type EvalReport, type MetricComparison, type OutputError } from "./compare.ts";
export { type LayerError, type LayerErrorOptions, type LayerErrorReport, layerErrors } from "./layer_errors.ts";
export { formatEvalReport, formatLayerErrors } from "./format.ts";
export { analyzeSensitivity, type NodeSensitivity, type SensitivityOptions, type SensitivityReport } from "./sensitivity.ts";
export type { ModelSource } from "./_session.ts";
export type { MetricFactory, TaskMetric } from "./types.ts";
export * from "./ocr.ts";
