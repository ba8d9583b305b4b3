/**
 * Automatic mixed precision: the fewest nodes kept float that hold the task
 * metric (or top-1 agreement with FP32) within `maxDrop` of FP32 on
 * held-out data, or, on integer-only targets that also run 16-bit
 * activations, the fewest activations in 16 bits. The model is quantized
 * whole first; if it misses, the sensitivity analysis ranks its nodes by
 * what keeping each float buys (`analyzeSensitivity`'s kept-float view, on
 * the ranking data), and nodes are then spared in that order, 1, 2, 4, … at
 * a time until the drop fits, then bisected back to the smallest count that
 * fits. Every count tried is quantized afresh (ranges and bias correction
 * follow) and measured as a whole.
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { InputError } from "../errors.ts";
import { analyzeSensitivity, type NodeSensitivity } from "../eval/sensitivity.ts";
import type { MetricFactory } from "../eval/types.ts";
import type { Model } from "../ir/model.ts";
import { encodeModel } from "../onnx/encode.ts";
import { DEFAULT_RUNTIME, getRuntime } from "../runtime/mod.ts";
import type { Runtime, TensorValue } from "../runtime/types.ts";

/** How mixed precision scores a model on the held-out data. */
export interface DropMetric {
  /** What the report calls it, e.g. `recognizer exactMatch` or `top-1 agreement with FP32`. */
  name: string;
  /** The task metric and the key of its result; absent: top-1 agreement with the FP32 model along the last axis of its first classifier-like output. */
  task?: { factory: MetricFactory; key: string };
}

/** Options of {@linkcode mixedPrecision}. */
export interface MixedPrecisionOptions {
  /** Largest drop allowed, as a fraction (0.005 = half a point). */
  maxDrop: number;
  /** The FP32 model (the reference) and the held-out data. */
  fp32: Uint8Array;
  data: Dataset;
  metric: DropMetric;
  /**
   * How a chosen node is spared: `"float"` keeps it float (targets with
   * float fallback), `"wide"` quantizes its output to the target's 16-bit
   * type (targets that list one in `activations.alsoAllowed`). Default `"float"`.
   */
  mode?: "float" | "wide";
  /**
   * Quantizes afresh with `float` (node names) kept float or `wide`
   * (activation values) in 16 bits, as the mode says; gives the model, the
   * float graph it read and, when a runtime's rewrites changed the model
   * after QDQ insertion, the QDQ model before them (what the ranking reads).
   */
  quantize: (spare: { float: readonly string[]; wide: readonly string[] }) => Promise<{ model: Model; floatGraph: Model; qdqGraph?: Model }>;
  /** Samples the sensitivity analysis reads (of `rankData`, default the held-out data). Default 8. */
  rankSamples?: number;
  rankData?: Dataset;
  runtime?: Runtime;
  /** Progress of the sensitivity analysis (nodes measured, total). */
  onAnalysis?: (done: number, total: number) => void;
  /** After each trial: how many ranked nodes were spared, the drop measured. */
  onTrial?: (ranked: number, drop: number) => void;
}

/** What {@linkcode mixedPrecision} chose and measured. */
export interface MixedPrecisionReport {
  /** Whether the drop fits `maxDrop` (else: the best found, every ranked node float). */
  met: boolean;
  metric: string;
  maxDrop: number;
  /** The metric of the FP32 and the chosen model, and their difference. */
  fp32: number;
  quantized: number;
  drop: number;
  /** How chosen nodes were spared. */
  mode: "float" | "wide";
  /** Nodes kept float, in ranking order (`"float"` mode). */
  float: string[];
  /** Activation values quantized in 16 bits, in ranking order (`"wide"` mode). */
  wide: string[];
  /** Every count of ranked nodes spared that was tried, and its drop, in order. */
  trials: { ranked: number; drop: number }[];
  /** The ranking the nodes were taken from (worst first). */
  ranking: NodeSensitivity[];
  /** Wall time: analysis, trials (quantization + evaluation), total (ms). */
  ms: { analysis: number; trials: number; total: number };
}

/**
 * Automatic mixed precision: see the module doc. Returns the chosen model
 * (already quantized) with its report.
 *
 * @example
 * ```ts
 * const { model, report } = await mixedPrecision({
 *   maxDrop: 0.005, fp32, data: heldOut, metric: { name: "top-1 agreement with FP32" },
 *   quantize: async ({ float }) => { const m = cloneModel(prepared); let f!: Model;
 *     await quantizeModel(m, calib, { exclude: float, floatOutputs: float, onFloatGraph: (x) => (f = x) }); return { model: m, floatGraph: f }; },
 * });
 * report.float; // the nodes left float
 * ```
 */
export async function mixedPrecision(o: MixedPrecisionOptions): Promise<{ model: Model; report: MixedPrecisionReport }> {
  const t0 = performance.now();
  if (!(o.maxDrop >= 0)) throw new InputError(`The largest accuracy drop must be a fraction ≥ 0, got ${o.maxDrop}`);
  const runtime = o.runtime ?? (await getRuntime(DEFAULT_RUNTIME));
  const mode = o.mode ?? "float";
  const spare = (units: readonly NodeSensitivity[]) => ({
    float: mode === "float" ? units.flatMap((n) => n.nodes) : [],
    wide: mode === "wide" ? units.flatMap((n) => n.values) : [],
  });
  const scorer = await makeScorer(o.fp32, o.data, o.metric, runtime);
  const trials: { ranked: number; drop: number }[] = [];
  let trialMs = 0;
  const tried = new Map<number, { model: Model; drop: number; score: number }>();
  let ranking: NodeSensitivity[] = [];
  const trial = async (k: number) => {
    const hit = tried.get(k);
    if (hit) return hit;
    const t = performance.now();
    const { model } = await o.quantize(spare(ranking.slice(0, k)));
    const score = await scorer.score(encodeModel(model).bytes);
    const drop = scorer.fp32 - score;
    trialMs += performance.now() - t;
    trials.push({ ranked: k, drop });
    o.onTrial?.(k, drop);
    const r = { model, drop, score };
    tried.set(k, r);
    return r;
  };
  // The whole model quantized first: its float graph and quantized copy give the ranking.
  const t1 = performance.now();
  const first = await o.quantize({ float: [], wide: [] });
  const score0 = await scorer.score(encodeModel(first.model).bytes);
  const drop0 = scorer.fp32 - score0;
  trialMs += performance.now() - t1;
  trials.push({ ranked: 0, drop: drop0 });
  o.onTrial?.(0, drop0);
  tried.set(0, { model: first.model, drop: drop0, score: score0 });
  const ta = performance.now();
  if (drop0 > o.maxDrop) {
    // The ranking matches float and QDQ values by name: the QDQ model before a runtime's rewrites, when there is one.
    const r = await analyzeSensitivity(first.floatGraph, first.qdqGraph ?? first.model, o.rankData ?? o.data, { samples: o.rankSamples, runtime, views: "float", onProgress: o.onAnalysis });
    // What can be spared (a node to keep float, which a graph input's rounding is not; an activation
    // to widen), most gained first. Nodes whose gain alone is nil stay in the list: where the damage
    // is spread thin, many must go together.
    ranking = r.nodes.filter((n) => (mode === "float" ? n.nodes : n.values).length > 0);
  }
  const analysisMs = performance.now() - ta;
  // Doubling until the drop fits (or every ranked node is spared), then bisection back.
  let ok = drop0 <= o.maxDrop ? 0 : -1, bad = 0;
  for (let k = 1; ok < 0 && ranking.length > 0; k = Math.min(2 * k, ranking.length)) {
    if ((await trial(k)).drop <= o.maxDrop) ok = k;
    else bad = k;
    if (k === ranking.length) break;
  }
  while (ok > 0 && ok - bad > 1) {
    const mid = Math.floor((ok + bad) / 2);
    if ((await trial(mid)).drop <= o.maxDrop) ok = mid;
    else bad = mid;
  }
  const best = ok >= 0 ? ok : [...tried.entries()].sort((a, b) => a[1].drop - b[1].drop)[0][0];
  const chosen = tried.get(best)!;
  return {
    model: chosen.model,
    report: {
      met: ok >= 0,
      metric: o.metric.name,
      maxDrop: o.maxDrop,
      fp32: scorer.fp32,
      quantized: chosen.score,
      drop: chosen.drop,
      mode,
      ...spare(ranking.slice(0, best)),
      trials,
      ranking,
      ms: { analysis: analysisMs, trials: trialMs, total: performance.now() - t0 },
    },
  };
}

/** Scores models on the held-out data: the FP32 score once, then any quantized model's. */
async function makeScorer(fp32: Uint8Array, data: Dataset, metric: DropMetric, runtime: Runtime): Promise<{ fp32: number; score: (bytes: Uint8Array) => Promise<number> }> {
  const feeds = async (i: number, names: readonly string[]) => {
    const s = await data.get(i);
    const f: Record<string, TensorValue> = {};
    for (const n of names) {
      if (!s[n]) throw new InputError(`Eval sample "${data.id(i)}" has no input "${n}"`);
      f[n] = s[n];
    }
    return f;
  };
  const session = async (bytes: Uint8Array) => await runtime.createSession(bytes);
  if (metric.task) {
    const task = metric.task;
    const run = async (bytes: Uint8Array) => {
      const s = await session(bytes);
      try {
        const m = task.factory();
        for (let i = 0; i < data.size; i++) m.update(await s.run(await feeds(i, s.inputNames)), data.label?.(i));
        const v = m.result()[task.key];
        if (typeof v !== "number") throw new InputError(`Metric has no result "${task.key}"`);
        return v;
      } finally {
        await s.release();
      }
    };
    return { fp32: await run(fp32), score: run };
  }
  // Top-1 agreement: the FP32 model's argmax per row of its first classifier-like output, kept.
  const ref = await session(fp32);
  let output: string | undefined;
  const labels: Int32Array[] = [];
  try {
    for (let i = 0; i < data.size; i++) {
      const out = await ref.run(await feeds(i, ref.inputNames));
      output ??= ref.outputNames.find((n) => out[n].dtype === "float32" && out[n].dims.length >= 2 && out[n].dims[out[n].dims.length - 1] >= 2);
      if (!output) throw new InputError("Mixed precision without a task metric needs an output with classes (rank ≥ 2, last dim ≥ 2) for top-1 agreement: give --metric");
      labels.push(rowArgmax(out[output].data as Float32Array, out[output].dims[out[output].dims.length - 1]));
    }
  } finally {
    await ref.release();
  }
  return {
    fp32: 1,
    score: async (bytes) => {
      const s = await session(bytes);
      let same = 0, total = 0;
      try {
        for (let i = 0; i < data.size; i++) {
          const out = (await s.run(await feeds(i, s.inputNames), [output!]))[output!];
          const a = rowArgmax(out.data as Float32Array, out.dims[out.dims.length - 1]);
          for (let k = 0; k < a.length; k++) same += a[k] === labels[i][k] ? 1 : 0;
          total += a.length;
        }
      } finally {
        await s.release();
      }
      return total ? same / total : 1;
    },
  };
}

function rowArgmax(x: Float32Array, classes: number): Int32Array {
  const rows = x.length / classes, out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0, at = r * classes;
    for (let c = 1; c < classes; c++) if (x[at + c] > x[at + best]) best = c;
    out[r] = best;
  }
  return out;
}
