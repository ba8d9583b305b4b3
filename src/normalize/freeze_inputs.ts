/**
 * Input freezing: a graph input that is fixed where the model is deployed
 * (silero_vad's sample rate `sr`) becomes an initializer, after which
 * {@linkcode foldConstants} may resolve what depends on it.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { InputError } from "../errors.ts";
import type { Model } from "../ir/model.ts";
import { shapeSize, Tensor, type TypedArray } from "../ir/tensor.ts";

/**
 * Parses `--input-value` specs like `sr=16000` or `mask=1,1,0` into a map of
 * input name → numbers.
 *
 * @example
 * ```ts
 * parseInputValues(["sr=16000"]); // { sr: [16000] }
 * ```
 */
export function parseInputValues(specs: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const spec of specs) {
    const m = /^([^=]+)=(.+)$/.exec(spec.trim());
    const values = m?.[2].split(",").map((v) => Number(v.trim()));
    if (!m || !values!.every((v) => Number.isFinite(v))) {
      throw new InputError(`Option --input-value must look like NAME=16000 or NAME=1,2,3 (finite numbers), got "${spec}"`);
    }
    out[m[1]] = values!;
  }
  return out;
}

const ARRAYS: Partial<Record<DType, (v: number[]) => TypedArray>> = {
  float32: (v) => Float32Array.from(v),
  float64: (v) => Float64Array.from(v),
  int8: (v) => Int8Array.from(v),
  uint8: (v) => Uint8Array.from(v),
  int16: (v) => Int16Array.from(v),
  uint16: (v) => Uint16Array.from(v),
  int32: (v) => Int32Array.from(v),
  uint32: (v) => Uint32Array.from(v),
  int64: (v) => BigInt64Array.from(v, (x) => BigInt(x)),
  bool: (v) => Uint8Array.from(v, (x) => (x ? 1 : 0)),
};

/**
 * Turns each named graph input of `model` into an initializer holding the
 * given values, in the input's own dtype and declared shape (a scalar or a
 * vector when the declared shape is dynamic). Throws an InputError for an
 * unknown input, a dtype that cannot hold the values, or a count that does
 * not fit the declared shape. Returns the frozen tensors' shapes.
 *
 * @example
 * ```ts
 * freezeInputs(model, { sr: [16000] }); // { sr: [] }
 * ```
 */
export function freezeInputs(model: Model, values: Readonly<Record<string, readonly number[]>>): Record<string, number[]> {
  const g = model.graph;
  const out: Record<string, number[]> = {};
  for (const [name, v] of Object.entries(values)) {
    const input = g.inputs.find((i) => i.name === name && !g.initializers.has(i.name));
    if (!input) {
      const names = g.inputs.filter((i) => !g.initializers.has(i.name)).map((i) => `"${i.name}"`).join(", ");
      throw new InputError(`Unknown input "${name}" in --input-value: the model's inputs are ${names}`);
    }
    const dtype = input.dtype ?? "float32";
    const make = ARRAYS[dtype];
    if (!make) throw new InputError(`Cannot freeze input "${name}": its dtype ${dtype} is not numeric`);
    if (dtype !== "float32" && dtype !== "float64" && !v.every(Number.isInteger)) {
      throw new InputError(`Cannot freeze input "${name}" to ${v.join(",")}: it takes ${dtype}, integers only`);
    }
    const declared = input.shape;
    const fixed = declared?.every((d): d is number => typeof d === "number" && d >= 0) ? declared : undefined;
    const dims = fixed ?? (v.length === 1 && (!declared || declared.length === 0) ? [] : [v.length]);
    if (shapeSize(dims) !== v.length || (declared && declared.length !== dims.length)) {
      throw new InputError(`Cannot freeze input "${name}" to ${v.length} value(s): it is declared [${(declared ?? []).map((d) => d ?? "?").join(",")}]`);
    }
    g.addInitializer(Tensor.fromArray(name, dims, make([...v]), dtype));
    g.inputs = g.inputs.filter((i) => i !== input);
    g.invalidate();
    out[name] = dims;
  }
  return out;
}
