/**
 * One entry point for `--calib DIR` / `--eval DIR`: picks the reader by what
 * the folder holds.
 *
 * @module
 */
import { scanFolder } from "./_scan.ts";
import { imageDataset } from "./image_folder.ts";
import { arrayDataset } from "./npy_folder.ts";
import type { Dataset, DatasetOptions, InputSpec } from "./types.ts";

/**
 * Opens a data folder for a model with `inputs` (e.g. `model.graph.inputs`):
 * `.npy` or `.npz` files as {@linkcode openNpyFolder} reads them, or images
 * as {@linkcode openImageFolder} does (`opts.preprocess` applies to images
 * only). Bad folders and files fail now with an `InputError` naming them.
 *
 * @example
 * ```ts
 * const data = await openDataset("calib", model.graph.inputs, { samples: 64 });
 * for (let i = 0; i < data.size; i++) await session.run(await data.get(i));
 * ```
 */
export function openDataset(dir: string, inputs: readonly InputSpec[], opts: DatasetOptions = {}): Promise<Dataset> {
  try {
    const scan = scanFolder(dir, inputs);
    return Promise.resolve(scan.kind === "image" ? imageDataset(scan, inputs, opts) : arrayDataset(scan, inputs, opts));
  } catch (e) {
    return Promise.reject(e);
  }
}
