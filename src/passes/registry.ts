/**
 * Every recovery pass by the name target profiles use, and the order the
 * pipeline runs them in.
 *
 * @module
 */
import type { PassName } from "../targets/types.ts";
import { biasCorrection } from "./bias_correction.ts";
import { biasOverflowGuard } from "./bias_overflow_guard.ts";
import { crossLayerEqualization } from "./cross_layer_equalization.ts";
import { floatFallback } from "./float_fallback.ts";
import { fusions } from "./fusions.ts";
import { gptq } from "./gptq.ts";
import { highBiasAbsorption } from "./high_bias_absorption.ts";
import { layernormEqualization } from "./layernorm_equalization.ts";
import { ortCpuKernels } from "./ort_cpu_kernels.ts";
import { smoothquant } from "./smoothquant.ts";
import type { Pass } from "./types.ts";

/** The passes in pipeline order (the stage of each also fixes where it runs). */
export const PASSES: readonly Pass[] = [fusions, crossLayerEqualization, highBiasAbsorption, layernormEqualization, smoothquant, floatFallback, gptq, biasCorrection, biasOverflowGuard, ortCpuKernels];

/**
 * The pass registered under `name`, or `undefined`.
 *
 * @example
 * ```ts
 * passByName("fusions")?.stage; // "graph"
 * ```
 */
export function passByName(name: PassName | string): Pass | undefined {
  return PASSES.find((p) => p.name === name);
}
