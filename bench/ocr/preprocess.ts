/**
 * PaddleOCR's inference preprocessing (tools/infer/predict_{rec,cls,det}.py),
 * reproduced on our RGBA images. PaddleOCR reads images with OpenCV, so every
 * model sees BGR channel order; we feed BGR too, and apply det's ImageNet
 * mean/std in the order PaddleOCR lists them ([0.485, 0.456, 0.406] to
 * B, G, R), exactly as its NormalizeImage does on OpenCV arrays.
 *
 * @module
 */
import type { Image } from "./render.ts";

/** A float32 tensor in C order. */
export interface Sample {
  readonly dims: number[];
  readonly data: Float32Array;
}

/** Bilinear resize with OpenCV's INTER_LINEAR pixel-centre convention. */
export function resize(img: Image, width: number, height: number): Image {
  const out = new Uint8ClampedArray(width * height * 4);
  const src = img.data, sw = img.width;
  // Per output column: left source index (in bytes) and right offset and weight.
  const xl = new Int32Array(width), xr = new Int32Array(width), xw = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * (sw / width) - 0.5, 0), sw - 1);
    const x0 = Math.floor(fx);
    xl[x] = x0 * 4;
    xr[x] = Math.min(x0 + 1, sw - 1) * 4;
    xw[x] = fx - x0;
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (img.height / height) - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy), wy = fy - y0;
    const r0 = y0 * sw * 4, r1 = Math.min(y0 + 1, img.height - 1) * sw * 4;
    for (let x = 0; x < width; x++) {
      const wx = xw[x], o = (y * width + x) * 4;
      for (let c = 0; c < 4; c++) {
        const top = src[r0 + xl[x] + c] * (1 - wx) + src[r0 + xr[x] + c] * wx;
        const bot = src[r1 + xl[x] + c] * (1 - wx) + src[r1 + xr[x] + c] * wx;
        out[o + c] = top * (1 - wy) + bot * wy;
      }
    }
  }
  return { width, height, data: out };
}

/** The image turned upside down (rotated 180°). */
export function rotate180(img: Image): Image {
  const src = new Uint32Array(img.data.slice().buffer);
  src.reverse(); // one RGBA pixel per element
  return { width: img.width, height: img.height, data: new Uint8ClampedArray(src.buffer) };
}

/** Width PaddleOCR resizes a crop to at height `height`: ceil(height · w / h). */
export function lineWidth(img: Image, height: number): number {
  return Math.ceil((height * img.width) / img.height);
}

/**
 * Recognizer and classifier input (`resize_norm_img`): resize to `height`
 * keeping the aspect ratio (squeezed to `width` if wider), BGR,
 * (x/255 − 0.5)/0.5, zero padding on the right up to `width`.
 * Shape [1, 3, height, width].
 */
export function lineTensor(img: Image, height: number, width: number): Sample {
  const w = Math.min(lineWidth(img, height), width);
  const r = resize(img, w, height);
  const data = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    const src = 2 - c; // BGR
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < w; x++) data[(c * height + y) * width + x] = r.data[(y * w + x) * 4 + src] / 127.5 - 1;
    }
  }
  return { dims: [1, 3, height, width], data };
}

const DET_MEAN = [0.485, 0.456, 0.406];
const DET_STD = [0.229, 0.224, 0.225];

/**
 * Detector input (DetResizeForTest is the identity for a page whose sides
 * are multiples of 32 under 960; then NormalizeImage and ToCHW): BGR,
 * (x/255 − mean[c])/std[c]. Shape [1, 3, H, W].
 */
export function detTensor(img: Image): Sample {
  const { width, height } = img;
  const data = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    const src = 2 - c;
    for (let i = 0; i < width * height; i++) data[c * width * height + i] = (img.data[i * 4 + src] / 255 - DET_MEAN[c]) / DET_STD[c];
  }
  return { dims: [1, 3, height, width], data };
}
