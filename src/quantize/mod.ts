/**
 * QDQ quantization: plan which values need ranges, then insert
 * QuantizeLinear/DequantizeLinear, int8 weights and int32 biases.
 *
 * @example
 * ```ts
 * import { planQuantization, quantize } from "./src/quantize/mod.ts";
 *
 * const plan = planQuantization(model, { activations: "uint8" });
 * const ranges = new Map(plan.activations.map((v) => [v, observed(v)]));
 * const report = quantize(model, ranges, { activations: "uint8" });
 * console.log(report.quantizeLinear, report.bytes);
 * ```
 *
 * @module
 */
export type { ActivationType, QuantizeOptions, QuantParams } from "./types.ts";
export { DEFAULT_QUANTIZE_OPTIONS, resolveQuantizeOptions } from "./options.ts";
export {
  activationParams,
  activationQRange,
  clamp,
  MIN_SCALE,
  powerOfTwoAtLeast,
  type QRange,
  roundHalfEven,
  type ScaleZeroPoint,
  scaleZeroPoint,
  softmaxParams,
  weightQRange,
} from "./params.ts";
export {
  minMax,
  type QuantizedBias,
  type QuantizedWeight,
  quantizeBias,
  quantizeValues,
  quantizeWeight,
  type WeightLayout,
} from "./quantize_tensor.ts";
export {
  DEFAULT_RULE,
  type OpKind,
  type OpRule,
  type OutputParams,
  registeredOpTypes,
  ruleFor,
  type WeightSpec,
} from "./registry.ts";
export { type PlannedNode, planQuantization, type QuantPlan } from "./plan.ts";
export { type ChannelNote, type OpCounts, quantize, type QuantizeReport } from "./quantize.ts";
export { quantizeModel, type QuantizeModelOptions, type QuantizeModelReport } from "./pipeline.ts";
export {
  type DropMetric,
  mixedPrecision,
  type MixedPrecisionOptions,
  type MixedPrecisionReport,
} from "./mixed_precision.ts";
export { quantizeOptionsFor, type TargetRequest, type TargetSettings } from "./target_options.ts";
export { targetPreflight } from "./preflight.ts";
export { cutModel, planSplit, type SplitModels, type SplitPlan } from "./split.ts";
