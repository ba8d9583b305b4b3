/**
 * PNG and JPEG decoding to RGB, with pure-JavaScript decoders that run in
 * Node, Deno and browsers (fast-png, jpeg-js).
 *
 * @module
 */
import { convertIndexedToRgb, decode as decodePng, type DecodedPng } from "fast-png";
import jpeg from "jpeg-js";
import { InputError } from "../errors.ts";

/** A decoded image: interleaved RGB, values in [0, 255] (16-bit PNGs are scaled down, not rounded). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Float32Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Which decoder `bytes` (at least their first 3, better 8) need, or `undefined`. */
export function imageFormat(bytes: Uint8Array): "png" | "jpeg" | undefined {
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) return "png";
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return undefined;
}

/**
 * Decodes a PNG (any bit depth, grayscale, palette, with or without alpha)
 * or a baseline/progressive JPEG to RGB; alpha is dropped, as OpenCV and
 * PIL's `convert("RGB")` do. Errors name `source`.
 *
 * @example
 * ```ts
 * const { width, height, data } = decodeImage(fs.readFileSync("a.png"), "a.png");
 * ```
 */
export function decodeImage(bytes: Uint8Array, source: string): RgbImage {
  const format = imageFormat(bytes);
  if (!format) throw new InputError(`Cannot read image "${source}": not a PNG or JPEG file`);
  let image: RgbImage;
  try {
    image = format === "png" ? pngToRgb(decodePng(bytes)) : jpegToRgb(bytes);
  } catch (e) {
    throw new InputError(`Cannot read image "${source}": ${format === "png" ? "PNG" : "JPEG"} decoder says: ${String((e as Error).message ?? e).split("\n")[0]}`);
  }
  if (image.width < 1 || image.height < 1) throw new InputError(`Cannot read image "${source}": empty (${image.width}×${image.height})`);
  return image;
}

function jpegToRgb(bytes: Uint8Array): RgbImage {
  const { width, height, data } = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
  return { width, height, data };
}

function pngToRgb(png: DecodedPng): RgbImage {
  const { width, height } = png;
  if (png.palette) return spread(width, height, convertIndexedToRgb(png), png.palette[0]?.length ?? 3, 1);
  const n = width * height;
  let samples: ArrayLike<number> = png.data;
  let max = png.depth === 16 ? 65535 : 255;
  if (png.depth < 8) {
    samples = unpackBits(png.data, width * png.channels, height, png.depth);
    max = 2 ** png.depth - 1;
  }
  if (samples.length < n * png.channels) throw new Error(`${samples.length} samples for ${width}×${height}×${png.channels}`);
  return spread(width, height, samples, png.channels, 255 / max);
}

/** RGB from 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels, times `factor`. */
function spread(width: number, height: number, src: ArrayLike<number>, channels: number, factor: number): RgbImage {
  const n = width * height;
  const out = factor === 1 ? new Uint8Array(3 * n) : new Float32Array(3 * n);
  const color = channels >= 3;
  for (let p = 0; p < n; p++) {
    const s = p * channels;
    out[3 * p] = src[s] * factor;
    out[3 * p + 1] = src[color ? s + 1 : s] * factor;
    out[3 * p + 2] = src[color ? s + 2 : s] * factor;
  }
  return { width, height, data: out };
}

/** Unpacks rows of 1-, 2- or 4-bit samples, each row starting on a byte. */
function unpackBits(packed: ArrayLike<number>, perRow: number, rows: number, depth: number): Uint8Array {
  const out = new Uint8Array(perRow * rows);
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < perRow; i++) {
      const bit = i * depth;
      out[r * perRow + i] = (packed[r * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}
