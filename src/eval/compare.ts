/**
 * FP32 vs quantized on a held-out set: per-output error statistics and task
 * metrics side by side, one sample at a time.
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import { InputError } from "../errors.ts";
import type { Runtime, RuntimeName, SessionOptions, TensorValue } from "../runtime/types.ts";
import { ErrorStats, type ErrorSummary } from "./error_stats.ts";
import type { MetricFactory, TaskMetric } from "./types.ts";
import {
  feedsOf,
  floatData,
  type ModelSource,
  openPair,
  resolveRuntime,
  sameDims,
  sampleCount,
  withDefaults,
} from "./_session.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/** Options of {@linkcode compareModels}; each field's default is in its doc. */
export interface CompareOptions {
  /** Backend, or its name. Default `"node"`. */
  runtime: Runtime | RuntimeName;
  /** Session options for both models. Default `{}` (the runtime's defaults, full optimisation). */
  session: Partial<SessionOptions>;
  /** Task metrics by name; each model gets its own instance. Default `{}`. */
  metrics: Readonly<Record<string, MetricFactory>>;
  /** Use at most this many samples (the first ones). Default: all. */
  samples?: number;
  /**
   * Outputs whose top-1 agreement is computed along the last axis. Default:
   * every float output of rank ≥ 2 whose last dim is ≥ 2 ([N, classes],
   * [N, T, classes], …).
   */
  top1Outputs?: readonly string[];
  /**
   * Outputs compared as masks: output name → threshold. Each gets
   * `maskAgreement`, the Dice overlap 2|A∩B| / (|A| + |B|) of the elements
   * above the threshold in the FP32 (A) and quantized (B) outputs, over all
   * samples (a detector's text map at 0.3, say). Default: none.
   */
  maskThresholds?: Readonly<Record<string, number>>;
  /** Called after each sample with the count done and the total. Default: none. */
  onProgress?: (done: number, total: number) => void;
}

/** Error statistics of one float output of the quantized model against the FP32 one. */
export interface OutputError extends ErrorSummary {
  /** Output name. */
  name: string;
  /** Dims of the first sample's output. */
  dims: readonly number[];
  /** For outputs in `maskThresholds`: Dice overlap of the thresholded outputs. */
  maskAgreement?: number;
}

/** One value of a task metric for both models; `drop` = fp32 − quantized. */
export interface MetricComparison {
  /** Key of the metric in `CompareOptions.metrics`. */
  metric: string;
  /** Key in the metric's `result()`. */
  name: string;
  fp32: number;
  quantized: number;
  drop: number;
}

/** What {@linkcode compareModels} measured. */
export interface EvalReport {
  samples: number;
  /** Float outputs only, in the FP32 model's output order. */
  outputs: OutputError[];
  metrics: MetricComparison[];
  /** Time inside `run()` over all samples, per model (ms). */
  timing: { fp32Ms: number; quantizedMs: number };
}

/**
 * Runs the FP32 and the quantized model over `data`, one sample at a time,
 * and reports for each float output SQNR, cosine, max |Δ| and (for
 * classifier-like outputs) top-1 agreement, plus every task metric computed
 * on each model's outputs with the sample's label. Memory holds one sample's
 * outputs; statistics are running sums. Both models must have the same
 * output names.
 *
 * @example
 * ```ts
 * const report = await compareModels("cls.onnx", "cls.int8.onnx", dataset, {
 *   metrics: { cls: () => classifierAccuracy() },
 *   samples: 200,
 * });
 * console.log(formatEvalReport(report));
 * ```
 */
export async function compareModels(
  fp32: ModelSource,
  quantized: ModelSource,
  data: Dataset,
  opts: Partial<CompareOptions> = {},
): Promise<EvalReport> {
  const o: CompareOptions = withDefaults({ runtime: DEFAULT_RUNTIME, session: {}, metrics: {} }, opts);
  const total = sampleCount(data, o.samples, "compare models");
  const runtime = await resolveRuntime(o.runtime);
  const [ref, test] = await openPair(runtime, [fp32, quantized], o.session);
  try {
    for (const name of ref.outputNames) {
      if (!test.outputNames.includes(name)) {
        throw new InputError(`Cannot compare models: the quantized model has no output "${name}"`);
      }
    }
    const stats = new Map<string, OutputStats>();
    const tasks = Object.entries(o.metrics).map(([key, make]) => ({ key, fp32: make(), quantized: make() }));
    const timing = { fp32Ms: 0, quantizedMs: 0 };
    for (let i = 0; i < total; i++) {
      const feeds = await feedsOf(data, i, ref);
      let t0 = performance.now();
      const a = await ref.run(feeds, ref.outputNames);
      timing.fp32Ms += performance.now() - t0;
      t0 = performance.now();
      const b = await test.run(feeds, ref.outputNames);
      timing.quantizedMs += performance.now() - t0;
      for (const name of ref.outputNames) accumulate(stats, name, a[name], b[name], o.top1Outputs, o.maskThresholds?.[name]);
      const label = data.label?.(i);
      for (const t of tasks) {
        try {
          t.fp32.update(a, label);
          t.quantized.update(b, label);
        } catch (e) {
          // A metric that does not fit the model or the data (no labels, other outputs) is bad input, not a bug.
          if (e instanceof RangeError || e instanceof TypeError) {
            throw new InputError(`Cannot compute metric "${t.key}" on sample "${data.id(i)}": ${(e as Error).message}`, { cause: e });
          }
          throw e;
        }
      }
      o.onProgress?.(i + 1, total);
    }
    return {
      samples: total,
      outputs: ref.outputNames.filter((n) => stats.has(n)).map((name) => {
        const s = stats.get(name)!;
        // Two empty masks agree completely.
        const mask = s.mask ? { maskAgreement: s.mask.either > 0 ? (2 * s.mask.both) / s.mask.either : 1 } : {};
        return { name, dims: s.dims, ...s.stats.summary(), ...mask };
      }),
      metrics: tasks.flatMap((t) => sideBySide(t.key, t.fp32, t.quantized)),
      timing,
    };
  } finally {
    await Promise.all([ref.release(), test.release()]);
  }
}

interface OutputStats {
  stats: ErrorStats;
  dims: readonly number[];
  top1: boolean;
  /** Elements above the mask threshold in both outputs, and in A plus in B. */
  mask?: { threshold: number; both: number; either: number };
}

function accumulate(
  stats: Map<string, OutputStats>,
  name: string,
  a: TensorValue,
  b: TensorValue,
  top1Outputs: readonly string[] | undefined,
  maskThreshold: number | undefined,
): void {
  const x = floatData(a);
  const y = floatData(b);
  if (!x || !y) return;
  sameDims(name, a, b);
  let s = stats.get(name);
  if (!s) {
    const top1 = top1Outputs ? top1Outputs.includes(name) : a.dims.length >= 2 && a.dims[a.dims.length - 1] >= 2;
    s = { stats: new ErrorStats(), dims: a.dims, top1 };
    if (maskThreshold !== undefined) s.mask = { threshold: maskThreshold, both: 0, either: 0 };
    stats.set(name, s);
  }
  if (s.mask) {
    const t = s.mask.threshold;
    for (let i = 0; i < x.length; i++) {
      const p = x[i] > t, q = y[i] > t;
      if (p && q) s.mask.both++;
      s.mask.either += +p + +q;
    }
  }
  // A dynamic last axis keeps its meaning (classes), so take each sample's own size.
  s.stats.add(x, y, s.top1 && a.dims.length >= 2 ? a.dims[a.dims.length - 1] : 0);
}

function sideBySide(key: string, fp32: TaskMetric, quantized: TaskMetric): MetricComparison[] {
  const a = fp32.result();
  const b = quantized.result();
  return Object.keys(a).map((name) => ({
    metric: key,
    name,
    fp32: a[name],
    quantized: b[name],
    drop: a[name] - b[name],
  }));
}
