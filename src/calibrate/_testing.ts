/**
 * Helpers for this folder's tests: seeded distributions, brute-force
 * references and an in-memory dataset.
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { encodeModel } from "../onnx/mod.ts";
import { getRuntime } from "../runtime/mod.ts";
import type { TensorValue } from "../runtime/types.ts";

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `n` values of a Laplace(0, scale) distribution shifted by `shift`. */
export function laplace(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const next = uniform(seed);
  return Float32Array.from({ length: n }, () => {
    const u = next() - 0.5;
    return shift - scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
  });
}

/** `n` values uniform in [lo, hi). */
export function uniformArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = uniform(seed);
  return Float32Array.from({ length: n }, () => lo + next() * (hi - lo));
}

/** The q-quantile (0 ≤ q ≤ 1) of `xs` by sorting: the order statistic at ⌈q·n⌉. */
export function sortedQuantile(xs: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Mean squared error of quantizing `xs` to `levels` levels evenly spaced over [a, b] (0 rounded exactly). */
export function quantMse(xs: ArrayLike<number>, a: number, b: number, levels = 256): number {
  const lo = Math.min(a, 0), hi = Math.max(b, 0);
  const scale = (hi - lo) / (levels - 1);
  const zp = Math.round(-lo / scale);
  let err = 0;
  for (let i = 0; i < xs.length; i++) {
    const q = Math.min(levels - 1, Math.max(0, Math.round(xs[i] / scale) + zp));
    const d = (q - zp) * scale - xs[i];
    err += d * d;
  }
  return err / xs.length;
}

/** A dataset of the given samples of one input. */
export function memoryDataset(input: string, samples: readonly TensorValue<"float32">[]): Dataset {
  return {
    size: samples.length,
    inputNames: [input],
    get: (i) => Promise.resolve({ [input]: samples[i] }),
    id: (i) => `sample-${i}`,
  };
}

/**
 * Every value's tensor in every sample (graph input included), from one
 * session on a copy of `model` that outputs them all, at the collector's
 * optimization level ("all" picks other convolution kernels than
 * "disabled", which round differently): the brute-force reference.
 */
export async function wholeTensors(model: Model, feeds: TensorValue<"float32">[], values: string[]): Promise<Map<string, Float32Array[]>> {
  const copy = cloneModel(model);
  const input = model.graph.inputs[0].name;
  for (const v of values) if (v !== input && !copy.graph.isOutput(v)) copy.graph.outputs.push({ name: v });
  const session = await (await getRuntime("node")).createSession(encodeModel(copy).bytes, { graphOptimizationLevel: "all" });
  const out = new Map<string, Float32Array[]>(values.map((v) => [v, []]));
  try {
    for (const f of feeds) {
      const res = await session.run({ [input]: f }, values.filter((v) => v !== input));
      for (const v of values) out.get(v)!.push(v === input ? f.data : res[v].data as Float32Array);
    }
  } finally {
    await session.release();
  }
  return out;
}
