/**
 * Recovery passes, one file each, registered by the names target profiles
 * use: `fusions`, `cross-layer-equalization`, `high-bias-absorption`,
 * `layernorm-equalization`, `smoothquant`, `float-fallback`, `gptq`,
 * `bias-correction`, `bias-overflow-guard`, `ort-cpu-kernels`. The pipeline
 * (`src/quantize/pipeline.ts`) runs them in {@linkcode PASSES} order.
 *
 * @example
 * ```ts
 * import { passByName } from "./src/passes/mod.ts";
 * passByName("cross-layer-equalization")?.stage; // "graph"
 * ```
 *
 * @module
 */
export type {
  ExcludePreset,
  ExcludeSpec,
  Pass,
  PassContext,
  PassReport,
  PassSettings,
  PassStage,
  StatLookup,
  WeightQuantizer,
} from "./types.ts";
export { passByName, PASSES } from "./registry.ts";
export { DEFAULT_PASS_SETTINGS, EXCLUDE_PRESETS, resolvePassSettings } from "./settings.ts";
export { smoothingScales } from "./smoothquant.ts";
