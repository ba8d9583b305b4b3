/**
 * The one place {@linkcode QuantizeOptions} get their defaults.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { QuantizeOptions } from "./types.ts";

/** Defaults of every quantization option (see each field's doc). */
export const DEFAULT_QUANTIZE_OPTIONS: Readonly<QuantizeOptions> = Object.freeze({
  perChannel: true,
  activations: "uint8",
  symmetricActivations: false,
  reduceRange: false,
  exclude: Object.freeze([]) as readonly string[],
  powerOfTwoScales: false,
  bias: "int32",
  biasOverflowGuard: true,
});

/**
 * Options merged over the defaults; an `undefined` field (an unset CLI flag)
 * means "default". Rejects an unknown activation type with an InputError.
 *
 * @example
 * ```ts
 * resolveQuantizeOptions({ activations: "int8" }).perChannel; // true
 * ```
 */
export function resolveQuantizeOptions(opts: Partial<QuantizeOptions> = {}): QuantizeOptions {
  const set = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<QuantizeOptions>;
  const o: QuantizeOptions = { ...DEFAULT_QUANTIZE_OPTIONS, ...set, exclude: [...(set.exclude ?? [])] };
  if (o.activations !== "uint8" && o.activations !== "int8") {
    throw new InputError(`Unknown activation type "${String(o.activations)}": expected int8 or uint8`);
  }
  if (o.bias !== "int32" && o.bias !== "float") {
    throw new InputError(`Unknown bias type "${String(o.bias)}": expected int32 or float`);
  }
  return o;
}
