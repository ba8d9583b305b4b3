/**
 * The one shape every sample of a dataset feeds each input with: what a
 * static-shape target fixes dynamic dims to when no `--input-shape` is given.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { formatDims } from "./npy.ts";
import type { Dataset } from "./types.ts";

/**
 * The dims of each input in `names`, the same in every sample of `data`.
 * Reads them from the dataset's headers where it knows them
 * ({@linkcode Dataset.shapeOf}), else from the samples. Throws an
 * {@linkcode InputError} naming `dir` and two samples whose shapes differ.
 *
 * @example
 * ```ts
 * const calib = await openDataset("calib", model.graph.inputs);
 * await sampleShapes(calib, ["input_1"], "calib"); // { input_1: [1, 76, 32, 1] }
 * ```
 */
export async function sampleShapes(data: Dataset, names: readonly string[], dir: string): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  const first: Record<string, string> = {};
  for (let i = 0; i < data.size; i++) {
    let dims = data.shapeOf?.(i);
    if (!dims) {
      const sample = await data.get(i);
      dims = Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, [...v.dims]]));
    }
    for (const name of names) {
      const d = dims[name];
      if (!d) continue;
      const seen = out[name];
      if (!seen) {
        out[name] = d;
        first[name] = data.id(i);
      } else if (seen.length !== d.length || seen.some((x, k) => x !== d[k])) {
        throw new InputError(
          `Cannot fix the shape of input "${name}" from "${dir}": "${first[name]}" is ${formatDims(seen)} and "${data.id(i)}" is ${
            formatDims(d)
          } (give --input-shape ${name}=… and samples of that shape)`,
        );
      }
    }
  }
  return out;
}
