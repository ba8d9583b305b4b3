/**
 * A decoded image → a normalized float32 tensor, following a resolved
 * {@linkcode ResolvedPreprocess}.
 *
 * @module
 */
import type { TensorValue } from "../runtime/types.ts";
import type { RgbImage } from "./decode_image.ts";
import type { ResolvedPreprocess } from "./preprocess_spec.ts";

/** Where the resized image lands in the tensor. */
interface Placement {
  /** Size of the (virtual) resized image. */
  rw: number;
  rh: number;
  /** Top-left of the part of the resized image that is kept (crops). */
  cropX: number;
  cropY: number;
  /** Size of that part, and where it goes in the tensor. */
  cw: number;
  ch: number;
  ox: number;
  oy: number;
  /** Tensor height and width. */
  outW: number;
  outH: number;
}

function place(w: number, h: number, p: ResolvedPreprocess): Placement {
  const H = p.height, W = p.width;
  const whole = (rw: number, rh: number, outW = W): Placement => ({ rw, rh, cropX: 0, cropY: 0, cw: rw, ch: rh, ox: 0, oy: 0, outW, outH: H });
  switch (p.resize) {
    case "stretch":
      return whole(W, H);
    case "keep-ratio": {
      const s = Math.min(H / h, W / w);
      const rw = clamp(Math.round(w * s), 1, W), rh = clamp(Math.round(h * s), 1, H);
      const centre = p.align === "center";
      return { ...whole(rw, rh), ox: centre ? (W - rw) >> 1 : 0, oy: centre ? (H - rh) >> 1 : 0 };
    }
    case "keep-ratio-dynamic-width": {
      // H·w/h in one division is exact when the ratio is, so ⌈⌉ does not overshoot.
      const rw = clamp(Math.ceil((H * w) / h), 1, W);
      const outW = p.dynamicWidth ? Math.min(W, Math.ceil(rw / p.widthMultiple) * p.widthMultiple) : W;
      return whole(rw, H, outW);
    }
    case "center-crop": {
      const s = Math.max(H / h, W / w, p.resizeShorter ? p.resizeShorter / Math.min(w, h) : 0);
      const rw = Math.max(W, Math.round(w * s)), rh = Math.max(H, Math.round(h * s));
      return { rw, rh, cropX: (rw - W) >> 1, cropY: (rh - H) >> 1, cw: W, ch: H, ox: 0, oy: 0, outW: W, outH: H };
    }
  }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * Source indices and weights of bilinear sampling along one axis: output
 * positions `from .. from+count` of a resize from `src` to `dst` pixels,
 * half-pixel centres, clamped at the edges (OpenCV's `INTER_LINEAR`).
 */
function axis(src: number, dst: number, from: number, count: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(count), i1 = new Int32Array(count), f = new Float32Array(count);
  const ratio = src / dst;
  for (let k = 0; k < count; k++) {
    const x = clamp((from + k + 0.5) * ratio - 0.5, 0, src - 1);
    const x0 = Math.floor(x);
    i0[k] = x0;
    i1[k] = Math.min(x0 + 1, src - 1);
    f[k] = x - x0;
  }
  return { i0, i1, f };
}

/**
 * Resizes, pads, reorders and normalizes `image` into the tensor the spec
 * describes: `[1, C, H, W]` (NCHW) or `[1, H, W, C]` (NHWC), without the 1
 * for rank-3 inputs.
 *
 * @example
 * ```ts
 * const spec = resolvePreprocess({ mean: [0.5], std: [0.5] }, { name: "x", shape: [1, 3, 48, 192] });
 * const x = preprocessImage(decodeImage(bytes, "a.png"), spec); // dims [1, 3, 48, 192]
 * ```
 */
export function preprocessImage(image: RgbImage, p: ResolvedPreprocess): TensorValue<"float32"> {
  const { width: w, height: h, data: src } = image;
  const g = place(w, h, p);
  const C = p.channels, W = g.outW, H = g.outH;
  const out = new Float32Array(C * H * W);
  if (p.padValue !== 0 && (g.cw < W || g.ch < H)) out.fill(p.padValue);
  const xs = axis(w, g.rw, g.cropX, g.cw), ys = axis(h, g.rh, g.cropY, g.ch);
  const gain = p.std.map((s) => p.scale / s);
  const bias = p.mean.map((m, c) => -m / p.std[c]);
  const nchw = p.layout === "NCHW";
  // Source channel of each tensor channel; -1 means luma.
  const from = C === 1 ? [-1] : p.channelOrder === "BGR" ? [2, 1, 0] : [0, 1, 2];
  const rgb = [0, 0, 0];
  for (let y = 0; y < g.ch; y++) {
    const r0 = ys.i0[y] * w, r1 = ys.i1[y] * w, fy = ys.f[y];
    const oy = g.oy + y;
    for (let x = 0; x < g.cw; x++) {
      const a = 3 * (r0 + xs.i0[x]), b = 3 * (r0 + xs.i1[x]), c = 3 * (r1 + xs.i0[x]), d = 3 * (r1 + xs.i1[x]);
      const fx = xs.f[x];
      for (let k = 0; k < 3; k++) {
        const top = src[a + k] + (src[b + k] - src[a + k]) * fx;
        const bottom = src[c + k] + (src[d + k] - src[c + k]) * fx;
        rgb[k] = top + (bottom - top) * fy;
      }
      const ox = g.ox + x;
      for (let k = 0; k < C; k++) {
        const v = from[k] < 0 ? 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] : rgb[from[k]];
        out[nchw ? (k * H + oy) * W + ox : (oy * W + ox) * C + k] = v * gain[k] + bias[k];
      }
    }
  }
  const dims = nchw ? [C, H, W] : [H, W, C];
  return { dtype: "float32", dims: p.batch ? [1, ...dims] : dims, data: out };
}
