/**
 * Folders of PNG/JPEG images, preprocessed into float32 tensors on demand.
 *
 * @module
 */
import * as path from "node:path";
import { InputError } from "../errors.ts";
import { readBytesAsync, withFile } from "./_io.ts";
import { withLabels } from "./_labels.ts";
import { checkIndex, limitSamples } from "./_limit.ts";
import { readJson, type Scan, scanFolder } from "./_scan.ts";
import { checkFloatInput } from "./_shape.ts";
import { decodeImage, imageFormat } from "./decode_image.ts";
import { preprocessImage } from "./preprocess_image.ts";
import { parsePreprocessSpec, type PreprocessSpec, type ResolvedPreprocess, resolvePreprocess } from "./preprocess_spec.ts";
import type { Dataset, DatasetOptions, InputSpec } from "./types.ts";

/** A dataset of images, with the preprocessing it applies (for manifests and reports). */
export interface ImageDataset extends Dataset {
  readonly preprocess: ResolvedPreprocess;
}

/**
 * Opens a folder of `.png`/`.jpg`/`.jpeg` images for a model with one image
 * input, in code-point order of their names. The preprocessing is the
 * folder's `preprocess.json` with `opts.preprocess` over it, field by field,
 * over {@linkcode DEFAULT_PREPROCESS}. Every file's signature is checked now;
 * images are decoded by `get(i)`. An optional `labels.json` maps file names
 * to labels.
 *
 * @example
 * ```ts
 * const data = await openImageFolder("lines", model.graph.inputs, {
 *   preprocess: { resize: "keep-ratio-dynamic-width", maxWidth: 320, mean: [0.5], std: [0.5] },
 * });
 * (await data.get(0)).x.dims; // [1, 3, 48, W], W ≤ 320
 * ```
 */
export function openImageFolder(dir: string, inputs: readonly InputSpec[], opts: DatasetOptions = {}): Promise<ImageDataset> {
  try {
    const scan = scanFolder(dir, inputs);
    if (scan.kind !== "image") {
      throw new InputError(`Cannot use data folder "${dir}": it holds .${scan.kind} files, not images (use openDataset or openNpyFolder)`);
    }
    return Promise.resolve(imageDataset(scan, inputs, opts));
  } catch (e) {
    return Promise.reject(e);
  }
}

/** The dataset of a listed image folder; checks every file's signature. */
export function imageDataset(scan: Scan, inputs: readonly InputSpec[], opts: DatasetOptions): ImageDataset {
  if (inputs.length !== 1) {
    throw new InputError(`Cannot use image folder "${scan.dir}": the model has ${inputs.length} inputs; image folders feed models with one image input`);
  }
  const input = inputs[0];
  checkFloatInput(input);
  const fromFile = scan.preprocessFile ? parsePreprocessSpec(readJson(scan.preprocessFile), scan.preprocessFile) : {};
  const fromOpts = opts.preprocess ? parsePreprocessSpec(opts.preprocess, "preprocess option") : {};
  const spec: Partial<PreprocessSpec> = { ...fromFile, ...fromOpts };
  const preprocess = resolvePreprocess(spec, input);
  const names = limitSamples(scan.names, opts.samples);
  const dir = scan.inputDirs.get(input.name)!;
  const file = (name: string) => path.join(dir, name);
  for (const name of names) {
    const f = file(name);
    if (!imageFormat(withFile(f, (_, read) => read(0, 8)))) throw new InputError(`Cannot read image "${f}": not a PNG or JPEG file`);
  }
  const ds = withLabels({
    size: names.length,
    inputNames: [input.name],
    async get(index) {
      checkIndex(index, names.length);
      const f = file(names[index]);
      return { [input.name]: preprocessImage(decodeImage(await readBytesAsync(f), f), preprocess) };
    },
    id: (index) => (checkIndex(index, names.length), names[index]),
    shapeOf: (index) => (checkIndex(index, names.length), preprocess.dynamicWidth ? undefined : { [input.name]: fixedDims(preprocess) }),
  }, names, scan.labels);
  return { ...ds, preprocess };
}

/** The dims every image is fed with when the width is not dynamic. */
function fixedDims(p: ResolvedPreprocess): number[] {
  const chw = p.layout === "NCHW" ? [p.channels, p.height, p.width] : [p.height, p.width, p.channels];
  return p.batch ? [1, ...chw] : chw;
}
