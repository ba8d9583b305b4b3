/**
 * The one place {@linkcode PassSettings} get their defaults.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { ExcludePreset, PassSettings } from "./types.ts";

/** Exclusion presets, in the order `--help` lists them. */
export const EXCLUDE_PRESETS: readonly ExcludePreset[] = ["depthwise", "first-last", "sensitive"];

/** Defaults of every pass setting (see each field's doc). */
export const DEFAULT_PASS_SETTINGS: Readonly<PassSettings> = Object.freeze({
  smoothquantAlpha: 0.5,
  smoothquantInsertMul: false,
  cleIterations: 20,
  cleRescaleLimit: 16,
  biasCorrectionThreshold: 2,
  sensitiveLayers: 3,
  gptqDamp: 0.01,
  gptqSamples: 32,
  exclude: Object.freeze({ names: [], opTypes: [], patterns: [], presets: [] }),
});

/**
 * Settings merged over the defaults (an `undefined` field means default);
 * out-of-range values throw an InputError naming the setting.
 *
 * @example
 * ```ts
 * resolvePassSettings({ smoothquantAlpha: "auto" }).cleIterations; // 20
 * ```
 */
export function resolvePassSettings(s: Partial<PassSettings> = {}): PassSettings {
  const set = Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as Partial<PassSettings>;
  const o: PassSettings = {
    ...DEFAULT_PASS_SETTINGS,
    ...set,
    exclude: { ...DEFAULT_PASS_SETTINGS.exclude, ...(set.exclude ?? {}) },
  };
  const a = o.smoothquantAlpha;
  if (a !== "auto" && !(typeof a === "number" && a >= 0 && a <= 1)) {
    throw new InputError(`SmoothQuant alpha must be "auto" or a number in [0, 1], got "${String(a)}"`);
  }
  if (!Number.isInteger(o.cleIterations) || o.cleIterations < 1) {
    throw new InputError(`Cross-layer equalization iterations must be a positive integer, got "${o.cleIterations}"`);
  }
  if (!Number.isInteger(o.sensitiveLayers) || o.sensitiveLayers < 1) {
    throw new InputError(`Sensitive layers to keep float must be a positive integer, got "${o.sensitiveLayers}"`);
  }
  if (!(o.gptqDamp > 0 && o.gptqDamp < 1)) {
    throw new InputError(`GPTQ damping must be a number in (0, 1), got "${o.gptqDamp}"`);
  }
  if (!Number.isInteger(o.gptqSamples) || o.gptqSamples < 1) {
    throw new InputError(`GPTQ samples must be a positive integer, got "${o.gptqSamples}"`);
  }
  if (!(o.cleRescaleLimit >= 1)) {
    throw new InputError(`Cross-layer equalization rescale limit must be at least 1, got "${o.cleRescaleLimit}"`);
  }
  if (!(o.biasCorrectionThreshold > 0)) {
    throw new InputError(`Bias correction threshold must be positive, got "${o.biasCorrectionThreshold}"`);
  }
  for (const p of o.exclude.presets) {
    if (!EXCLUDE_PRESETS.includes(p)) throw new InputError(`Unknown exclusion preset "${p}": expected one of ${EXCLUDE_PRESETS.join(", ")}`);
  }
  for (const re of o.exclude.patterns) {
    try {
      new RegExp(re);
    } catch (e) {
      throw new InputError(`Invalid exclusion pattern "${re}": ${(e as Error).message}`);
    }
  }
  return o;
}
