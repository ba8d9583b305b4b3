/**
 * The one place a target profile becomes quantization options: dtypes,
 * granularity, symmetry, bias type, power-of-two scales and the passes it
 * runs by default, with any request the profile forbids refused before work
 * starts.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { PassName, TargetProfile } from "../targets/types.ts";
import { resolveQuantizeOptions } from "./options.ts";
import type { QuantizeOptions } from "./types.ts";

/** What a user asked for on top of a profile; unset fields take the profile's choice. */
export interface TargetRequest extends Partial<QuantizeOptions> {
  /**
   * Largest accuracy drop automatic mixed precision may trade for speed
   * (nodes kept float, or activations in 16 bits, until the drop fits). Only
   * targets with float fallback or a wider activation type can honour it.
   */
  maxDrop?: number;
  /** Other requests to keep nodes in float (op types, patterns, presets), as the user wrote them: refused without float fallback. */
  keepFloat?: readonly string[];
  /** Passes switched on (`true`) or off (`false`) explicitly. */
  passes?: Partial<Record<PassName, boolean>>;
}

/** The options and pass recipe a profile gives. */
export interface TargetSettings {
  options: QuantizeOptions;
  /** Passes that run, in the profile's order: on by default or asked for, and allowed. */
  passes: PassName[];
}

/**
 * Quantization settings for `profile`: the most accurate the profile allows
 * (per-channel weights where allowed, its activation type and symmetry, its
 * bias type and scale rule, its default passes), changed by `request`.
 * A request the profile forbids throws an InputError naming the profile and
 * the rule, e.g. `Target "asic-per-tensor" forbids per-channel weights
 * (weights.perChannel is false)`.
 *
 * @example
 * ```ts
 * const { options, passes } = quantizeOptionsFor(loadTarget("asic-per-tensor"));
 * options.perChannel; // false
 * options.powerOfTwoScales; // true
 * passes; // ["cross-layer-equalization", "smoothquant", "bias-overflow-guard", "bias-correction"]
 * quantizeOptionsFor(loadTarget("asic-per-tensor"), { perChannel: true }); // throws
 * ```
 */
export function quantizeOptionsFor(profile: TargetProfile, request: TargetRequest = {}): TargetSettings {
  const forbid = (what: string, rule: string) => new InputError(`Target "${profile.name}" forbids ${what} (${rule})`);
  const { weights, activations } = profile;
  if (request.perChannel && !weights.perChannel) throw forbid("per-channel weights", "weights.perChannel is false");
  if (request.activations !== undefined && request.activations !== activations.dtype) {
    throw forbid(`${request.activations} activations`, `activations.dtype is "${activations.dtype}"`);
  }
  if (request.symmetricActivations === false && activations.symmetric) {
    throw forbid("asymmetric activations", "activations.symmetric is true");
  }
  if (request.powerOfTwoScales === false && profile.powerOfTwoScales) {
    throw forbid("scales that are not powers of two", "powerOfTwoScales is true");
  }
  if (request.bias !== undefined && request.bias !== profile.bias) {
    throw forbid(`${request.bias} bias`, `bias is "${profile.bias}"`);
  }
  if (request.exclude?.length && !profile.floatFallback) {
    throw forbid(`excluding ${request.exclude.map((n) => `"${n}"`).join(", ")} from quantization`, "floatFallback is false");
  }
  if (request.keepFloat?.length && !profile.floatFallback) {
    throw forbid(`keeping nodes in float (${request.keepFloat.join(", ")})`, "floatFallback is false");
  }
  if (request.maxDrop !== undefined && !profile.floatFallback && !profile.activations.alsoAllowed?.length) {
    throw forbid("mixed precision with a maximum accuracy drop", "floatFallback is false and activations.alsoAllowed lists no wider type");
  }
  for (const [name, on] of Object.entries(request.passes ?? {}) as [PassName, boolean][]) {
    const rule = profile.passes[name];
    if (on && !rule.allowed) throw forbid(`the ${name} pass`, `passes.${name}.allowed is false`);
  }
  const passes = (Object.keys(profile.passes) as PassName[])
    .filter((name) => profile.passes[name].allowed && (request.passes?.[name] ?? profile.passes[name].default));
  const options = resolveQuantizeOptions({
    perChannel: request.perChannel ?? weights.perChannel,
    activations: activations.dtype,
    symmetricActivations: request.symmetricActivations ?? activations.symmetric,
    reduceRange: request.reduceRange,
    exclude: request.exclude,
    floatSqrt: profile.floatFallback,
    powerOfTwoScales: profile.powerOfTwoScales || request.powerOfTwoScales === true,
    bias: profile.bias,
    biasOverflowGuard: passes.includes("bias-overflow-guard"),
  });
  return { options, passes };
}
