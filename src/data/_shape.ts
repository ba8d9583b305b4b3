/**
 * Fitting a sample's shape to a model input's shape.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import type { Dim } from "../ir/graph.ts";
import { formatDims } from "./npy.ts";
import type { InputSpec } from "./types.ts";

/** A dimension the model fixes, or `undefined` when it is dynamic. */
export function staticDim(d: Dim | undefined): number | undefined {
  return typeof d === "number" && d >= 0 ? d : undefined;
}

function fits(sample: readonly number[], dims: readonly Dim[]): boolean {
  if (sample.length !== dims.length) return false;
  return dims.every((d, i) => {
    const s = staticDim(d);
    return s === undefined ? sample[i] >= 1 : sample[i] === s;
  });
}

/**
 * The dims a sample of shape `sample` is fed with: as is when it has the
 * input's rank, with a leading 1 when it lacks the batch dimension (allowed
 * when the model's batch dimension is 1 or dynamic). Throws an
 * {@linkcode InputError} naming `source` and the expected shape otherwise.
 */
export function fitSampleShape(sample: readonly number[], input: InputSpec, source: string): number[] {
  const dims = input.shape;
  if (!dims) return [...sample];
  if (fits(sample, dims)) return [...sample];
  const batchOptional = dims.length > 0 && (staticDim(dims[0]) ?? 1) === 1;
  if (batchOptional && fits(sample, dims.slice(1))) return [1, ...sample];
  const expected = batchOptional ? `${formatDims(dims)} (or ${formatDims(dims.slice(1))} without the batch dim)` : formatDims(dims);
  throw new InputError(`Cannot use "${source}": shape ${formatDims(sample)} does not fit input "${input.name}" ${expected}`);
}

/** Throws unless the model input takes float32, the only dtype datasets provide. */
export function checkFloatInput(input: InputSpec): void {
  if (input.dtype && input.dtype !== "float32") {
    throw new InputError(`Cannot feed model input "${input.name}": it takes ${input.dtype}, data folders provide float32 only`);
  }
}

/**
 * Throws when `data` holds a NaN or an infinity, naming `source` and the
 * index of the first one.
 */
export function checkFinite(data: Float32Array, dims: readonly number[], source: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) { // non-zero only for NaN and ±Infinity; faster than Number.isFinite
      throw new InputError(`Cannot use "${source}": ${Number.isNaN(v) ? "NaN" : v > 0 ? "Inf" : "-Inf"} at index ${formatIndex(i, dims)} (flat ${i})`);
    }
  }
}

/** `[0,2,5]`: the C-order index of flat position `flat` in `dims`. */
function formatIndex(flat: number, dims: readonly number[]): string {
  const idx = new Array<number>(dims.length);
  for (let a = dims.length - 1; a >= 0; a--) {
    idx[a] = flat % dims[a];
    flat = Math.floor(flat / dims[a]);
  }
  return `[${idx.join(",")}]`;
}
