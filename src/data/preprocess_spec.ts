/**
 * How an image becomes a model input tensor: {@linkcode PreprocessSpec}, its
 * defaults, its JSON form (`preprocess.json`) and its resolution against the
 * model input's shape.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { staticDim } from "./_shape.ts";
import { formatDims } from "./npy.ts";
import type { InputSpec } from "./types.ts";

/**
 * How the decoded image is brought to the tensor's height × width (bilinear,
 * half-pixel centres, no antialiasing: OpenCV's `INTER_LINEAR`).
 * - `"stretch"`: resize to height × width, ignoring the aspect ratio.
 * - `"keep-ratio"`: the largest size that fits, then pad (see `align`).
 * - `"keep-ratio-dynamic-width"`: height fixed, width = ⌈height × aspect⌉
 *   clamped to `maxWidth`; the tensor is that width rounded up to
 *   `widthMultiple` (at most `maxWidth`), or the model's static width or the
 *   spec's `width` when either is given, padded on the right (PaddleOCR's
 *   recognizer and direction-classifier inputs).
 * - `"center-crop"`: scale to cover height × width (or so the shorter side is
 *   `resizeShorter`), then crop the centre.
 */
export type ResizeMode = "stretch" | "keep-ratio" | "keep-ratio-dynamic-width" | "center-crop";

/**
 * Image preprocessing, as written in a folder's `preprocess.json` (every
 * field optional) or passed as `Partial<PreprocessSpec>`. Pixel values go
 * `(v × scale − mean[c]) / std[c]`, with `v` in [0, 255] and `c` the channel
 * in the tensor's order (after `channelOrder`).
 *
 * @example
 * ```json
 * { "resize": "keep-ratio-dynamic-width", "maxWidth": 320, "widthMultiple": 8,
 *   "scale": "1/255", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "channelOrder": "BGR" }
 * ```
 */
export interface PreprocessSpec {
  /** @default "stretch" */
  resize: ResizeMode;
  /** Tensor height. Default: the model input's, which must be static if this is not given. */
  height?: number;
  /** Tensor width. Default: the model input's, which must be static if this is not given (except for dynamic width). */
  width?: number;
  /** `"keep-ratio-dynamic-width"` on a dynamic width: the largest width. Default: `width`. */
  maxWidth?: number;
  /** `"keep-ratio-dynamic-width"` on a dynamic width: the width is rounded up to a multiple of this. @default 1 */
  widthMultiple: number;
  /** `"center-crop"`: scale so the shorter side is this many pixels before cropping. Default: just cover the crop. */
  resizeShorter?: number;
  /** `"keep-ratio"`: where the image sits in the padded tensor. @default "start" (top-left) */
  align: "start" | "center";
  /** Multiplies raw pixel values in [0, 255]; JSON may write it as `"1/255"`. @default 1/255 */
  scale: number;
  /** Subtracted after `scale`, per channel (one value applies to all). @default [0] */
  mean: readonly number[];
  /** Divides after `mean`, per channel (one value applies to all). @default [1] */
  std: readonly number[];
  /** Channel order in the tensor. @default "RGB" */
  channelOrder: "RGB" | "BGR";
  /** Tensor layout. Default: `"NHWC"` when only the last dim is 1 or 3, else `"NCHW"`. */
  layout?: "NCHW" | "NHWC";
  /** Value of padded positions, in the tensor (after normalization). @default 0 */
  padValue: number;
}

/** The defaults, merged under any partial spec once, in {@linkcode resolvePreprocess}. */
export const DEFAULT_PREPROCESS: Readonly<PreprocessSpec> = Object.freeze({
  resize: "stretch",
  widthMultiple: 1,
  align: "start",
  scale: 1 / 255,
  mean: [0],
  std: [1],
  channelOrder: "RGB",
  padValue: 0,
});

/** A spec fixed against one model input: every size known. */
export interface ResolvedPreprocess extends PreprocessSpec {
  height: number;
  /** Tensor width; with a dynamic width, the largest one. */
  width: number;
  layout: "NCHW" | "NHWC";
  /** Channels in the tensor: 3, or 1 (luma, ITU-R 601) for grayscale models. */
  channels: 1 | 3;
  /** The tensor has a leading batch dimension of 1 (rank-4 input). */
  batch: boolean;
  /** The width varies per image (`"keep-ratio-dynamic-width"` on a dynamic width). */
  dynamicWidth: boolean;
  mean: number[];
  std: number[];
}

type Check = (v: unknown) => string | undefined;
const posInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 1 ? undefined : "a positive integer");
const finite: Check = (v) => (typeof v === "number" && Number.isFinite(v) ? undefined : "a finite number");
const oneOf = (...xs: string[]): Check => (v) => (xs.includes(v as string) ? undefined : xs.map((x) => `"${x}"`).join(" or "));
const numbers = (nonZero: boolean): Check => (v) =>
  Array.isArray(v) && (v.length === 1 || v.length === 3) && v.every((x) => typeof x === "number" && Number.isFinite(x) && (!nonZero || x !== 0))
    ? undefined
    : `an array of 1 or 3 finite${nonZero ? " non-zero" : ""} numbers`;

const FIELDS: Record<keyof PreprocessSpec, Check> = {
  resize: oneOf("stretch", "keep-ratio", "keep-ratio-dynamic-width", "center-crop"),
  height: posInt,
  width: posInt,
  maxWidth: posInt,
  widthMultiple: posInt,
  resizeShorter: posInt,
  align: oneOf("start", "center"),
  scale: (v) => (finite(v) === undefined && v !== 0 ? undefined : "a non-zero number or a fraction such as \"1/255\""),
  mean: numbers(false),
  std: numbers(true),
  channelOrder: oneOf("RGB", "BGR"),
  layout: oneOf("NCHW", "NHWC"),
  padValue: finite,
};

/**
 * Checks a partial spec from JSON or code: known fields, each of the right
 * type. `source` names it in errors (a file path, or `"preprocess option"`).
 *
 * @example
 * ```ts
 * parsePreprocessSpec({ resize: "stretch", scale: "1/255" }, "preprocess.json").scale; // 1 / 255
 * ```
 */
export function parsePreprocessSpec(json: unknown, source: string): Partial<PreprocessSpec> {
  const fail = (why: string) => new InputError(`Cannot use preprocess spec "${source}": ${why}`);
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw fail("expected a JSON object");
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(json)) {
    if (raw === undefined) continue;
    const check = FIELDS[key as keyof PreprocessSpec];
    if (!check) throw fail(`unknown field "${key}" (fields: ${Object.keys(FIELDS).join(", ")})`);
    const value = key === "scale" ? parseFraction(raw) : raw;
    const expected = check(value);
    if (expected) throw fail(`"${key}" must be ${expected}, got ${JSON.stringify(raw)}`);
    out[key] = value;
  }
  return out as Partial<PreprocessSpec>;
}

function parseFraction(v: unknown): unknown {
  const m = typeof v === "string" ? /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(v) : null;
  return m ? Number(m[1]) / Number(m[2]) : v;
}

/**
 * Merges `spec` over {@linkcode DEFAULT_PREPROCESS} and fixes every size
 * against the model input: layout, channels, height and width come from its
 * static dims, and a given size must agree with them.
 *
 * @example
 * ```ts
 * resolvePreprocess({ resize: "stretch" }, { name: "x", shape: [1, 3, 48, 192] }).width; // 192
 * ```
 */
export function resolvePreprocess(spec: Partial<PreprocessSpec>, input: InputSpec): ResolvedPreprocess {
  const s: PreprocessSpec = { ...DEFAULT_PREPROCESS, ...spec };
  const fail = (why: string) => new InputError(`Cannot preprocess images for input "${input.name}": ${why}`);
  const shape = input.shape ?? [null, null, null, null];
  if (shape.length !== 3 && shape.length !== 4) throw fail(`shape ${formatDims(shape)} is not an image tensor (rank 3 or 4)`);
  const batch = shape.length === 4;
  if (batch && (staticDim(shape[0]) ?? 1) !== 1) throw fail(`batch size ${shape[0]} is fixed; image folders give one image per sample`);
  const d = batch ? shape.slice(1) : shape;
  const isCh = (x: unknown) => x === 1 || x === 3;
  const layout = s.layout ?? (!isCh(staticDim(d[0])) && isCh(staticDim(d[2])) ? "NHWC" : "NCHW");
  const [c, h, w] = layout === "NCHW" ? [d[0], d[1], d[2]] : [d[2], d[0], d[1]];
  const channels = staticDim(c) ?? 3;
  if (channels !== 1 && channels !== 3) throw fail(`${channels} channels in ${layout} layout ${formatDims(shape)}; images give 1 or 3`);
  const size = (name: "height" | "width", dim: typeof h, given: number | undefined): number | undefined => {
    const fixed = staticDim(dim);
    if (fixed !== undefined && given !== undefined && given !== fixed) throw fail(`${name} ${given} in the preprocess spec differs from the model's ${fixed}`);
    return fixed ?? given;
  };
  const height = size("height", h, s.height);
  if (height === undefined) throw fail(`its height is dynamic: give "height" in the preprocess spec`);
  // A width the spec or the model fixes is the tensor's: the image is padded to it (PaddleOCR's classifier, 48×192).
  const dynamicWidth = s.resize === "keep-ratio-dynamic-width" && staticDim(w) === undefined && s.width === undefined;
  const width = dynamicWidth ? s.maxWidth ?? s.width : size("width", w, s.width);
  if (width === undefined) throw fail(`its width is dynamic: give "${dynamicWidth ? "maxWidth" : "width"}" in the preprocess spec`);
  const perChannel = (name: "mean" | "std", v: readonly number[]) => {
    if (v.length !== 1 && v.length !== channels) throw fail(`"${name}" has ${v.length} values for ${channels} channel(s)`);
    return Array.from({ length: channels }, (_, i) => v[v.length === 1 ? 0 : i]);
  };
  return {
    ...s,
    height,
    width,
    maxWidth: width,
    layout,
    channels,
    batch,
    dynamicWidth,
    mean: perChannel("mean", s.mean),
    std: perChannel("std", s.std),
  };
}
