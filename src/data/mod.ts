/**
 * Calibration and evaluation data: folders of `.npy`/`.npz` samples or of
 * PNG/JPEG images with a preprocessing spec, read one sample at a time.
 *
 * @example
 * ```ts
 * import { openDataset } from "./src/data/mod.ts";
 *
 * const data = await openDataset("calib", model.graph.inputs, { samples: 64 });
 * const sample = await data.get(0); // { [input name]: { dtype: "float32", dims, data } }
 * ```
 *
 * @module
 */
export type { Dataset, DatasetOptions, InputSpec, Sample } from "./types.ts";
export { encodeNpy, formatDims, type Npy, type NpyHeader, readNpy, readNpyHeader } from "./npy.ts";
export { readNpz } from "./npz.ts";
export { openNpyFolder } from "./npy_folder.ts";
export { type ImageDataset, openImageFolder } from "./image_folder.ts";
export { openDataset } from "./open_dataset.ts";
export { sampleShapes } from "./sample_shapes.ts";
export { decodeImage, type RgbImage } from "./decode_image.ts";
export { preprocessImage } from "./preprocess_image.ts";
export {
  DEFAULT_PREPROCESS,
  parsePreprocessSpec,
  type PreprocessSpec,
  type ResizeMode,
  type ResolvedPreprocess,
  resolvePreprocess,
} from "./preprocess_spec.ts";
