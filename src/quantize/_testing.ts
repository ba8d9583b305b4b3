/**
 * Test helpers (not part of the API): min/max ranges from running the float
 * model with the planned values as extra outputs, model runs on either
 * backend, and closeness measures.
 *
 * @module
 */
import type { Range } from "../calibrate/types.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { encodeModel } from "../onnx/encode.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { RuntimeName, TensorValue } from "../runtime/types.ts";

/** Feeds of one run. */
export type Feeds = Record<string, TensorValue>;

/**
 * Runs `model` once per feed set on `runtime`, returning every graph output
 * (or `fetches`). Optimizations default to "all", so ORT's QDQ fusions
 * (QLinearConv and friends) run as they would in deployment.
 */
export async function runModel(
  model: Model | Uint8Array,
  feeds: readonly Feeds[],
  runtime: RuntimeName = "node",
  fetches?: readonly string[],
  optimization: "disabled" | "all" = "all",
): Promise<Record<string, TensorValue>[]> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model).bytes;
  const rt = await getRuntime(runtime);
  const s = await rt.createSession(bytes, { graphOptimizationLevel: optimization });
  try {
    const out: Record<string, TensorValue>[] = [];
    for (const f of feeds) out.push(await s.run(f, fetches));
    return out;
  } finally {
    await s.release();
  }
}

/** Running min/max of `values` over `feeds`, from one session on the float model. */
export async function minMaxRanges(model: Model, values: readonly string[], feeds: readonly Feeds[]): Promise<Map<string, Range>> {
  const m = cloneModel(model);
  const outputs = new Set(m.graph.outputs.map((o) => o.name));
  for (const v of values) {
    if (!outputs.has(v)) m.graph.outputs.push({ name: v, dtype: "float32" });
  }
  const ranges = new Map<string, Range>();
  for (const res of await runModel(m, feeds, "node", values, "disabled")) {
    for (const v of values) {
      const data = res[v].data as Float32Array;
      const r = ranges.get(v) ?? { min: Infinity, max: -Infinity };
      for (let i = 0; i < data.length; i++) {
        if (data[i] < r.min) r.min = data[i];
        if (data[i] > r.max) r.max = data[i];
      }
      ranges.set(v, r);
    }
  }
  return ranges;
}

/** Cosine similarity of two equal-length arrays (1 for two zero vectors). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb);
}

/** Largest |a - b| divided by the largest |a| (0 when both are zero). */
export function relMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return m === 0 ? d : d / m;
}

/** A seeded float32 input in [lo, hi) (mulberry32). */
export function randomInput(dims: readonly number[], seed: number, lo = -1, hi = 1): TensorValue {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 2 ** 32);
  }
  return { dtype: "float32", dims: [...dims], data };
}

/**
 * A seeded synthetic text page for the detector: light background, three
 * lines of dark glyph-like strokes, ImageNet mean/std normalized, NCHW.
 * Random noise makes the detector see no text at all (probabilities ~1e-9),
 * which says nothing about closeness where it matters.
 */
export function textPage(h: number, w: number, seed: number): TensorValue {
  const r = randomInput([h * w * 4], seed, 0, 1).data as Float32Array;
  const gray = new Float32Array(h * w).fill(0.9);
  let k = 0;
  for (let line = 0; line < 3; line++) {
    const y0 = Math.floor(h * (0.15 + 0.28 * line)), lh = Math.max(4, Math.floor(h * 0.12));
    for (let x = Math.floor(w * 0.1 * r[k++]); x < w * 0.9;) {
      const cw = 2 + Math.floor(6 * r[k++]);
      for (let y = y0; y < Math.min(y0 + lh, h); y++) {
        for (let xx = x; xx < Math.min(x + cw, w); xx++) if (r[k + y * 7 + xx] > 0.3) gray[y * w + xx] = 0.1;
      }
      x += cw + 2 + Math.floor(4 * r[k++]);
    }
  }
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const data = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h * w; i++) data[c * h * w + i] = (gray[i] + 0.05 * (r[(i * 3 + c) % r.length] - 0.5) - mean[c]) / std[c];
  }
  return { dtype: "float32", dims: [1, 3, h, w], data };
}
