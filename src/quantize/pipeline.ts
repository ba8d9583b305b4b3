/**
 * The quantization pipeline in one readable list:
 *
 * 1. normalize — constants → initializers, opset ≥ 13, BatchNormalization
 *    folded (skipped for a model already normalized);
 * 2. `graph` passes — rewrite the float graph from its weights: fusions,
 *    cross-layer equalization;
 * 3. `statistics` passes — rewrite the float graph from statistics of the
 *    float model: high-bias absorption, SmoothQuant; each gathers its own
 *    in a pass over the data, of the graph as the passes before it left it;
 * 4. `plan` passes and the plan — which nodes stay float (float fallback),
 *    which values need a range;
 * 5. calibrate — one ONNX Runtime session over the calibration samples that
 *    also gathers what the `calibrated` passes asked for;
 * 6. `calibrated` passes — optimal rounding (GPTQ, from the inputs' second
 *    moments, one more pass over the data), bias correction, from the
 *    weights as they will be quantized;
 * 7. quantize — QDQ insertion, int8 weights, int32 biases (with the
 *    bias-overflow guard when it is in the recipe);
 * 8. `lower` passes — the QDQ graph rewritten for the runtime's kernels
 *    (ONNX Runtime's CPU provider on cpu-mixed), same function.
 *
 * Which passes run is the target profile's choice (its defaults), changed by
 * the caller; the order is this list's, whatever the caller's order.
 *
 * @module
 */
import { cloneModel } from "../ir/clone.ts";
import type { Model } from "../ir/model.ts";
import { layerErrors } from "../eval/layer_errors.ts";
import type { Dataset } from "../data/types.ts";
import { collect, rangeOf, rangeRequests, resolveCalibrateOptions } from "../calibrate/mod.ts";
import { collectGrams } from "../calibrate/gram.ts";
import type { CalibrateOptions, CollectTimings, Range, StatRequest } from "../calibrate/types.ts";
import { normalize, type NormalizeReport } from "../normalize/mod.ts";
import { PASSES } from "../passes/registry.ts";
import { resolvePassSettings } from "../passes/settings.ts";
import type { Pass, PassContext, PassReport, PassSettings, PassStage, StatLookup } from "../passes/types.ts";
import type { Runtime } from "../runtime/types.ts";
import { loadTarget } from "../targets/load.ts";
import type { PassName, TargetProfile } from "../targets/types.ts";
import { planQuantization } from "./plan.ts";
import { quantize, type QuantizeReport } from "./quantize.ts";
import { resolveQuantizeOptions } from "./options.ts";
import { quantizeOptionsFor } from "./target_options.ts";
import { limitSaturatingInputs, type SaturationLimit } from "./saturation.ts";
import { sharePadRanges } from "./pad_ranges.ts";
import { consumerWeights } from "./consumer_weights.ts";
import { activationParams, activationQRange, wideType } from "./params.ts";
import type { QuantizeOptions } from "./types.ts";
import { constantQuantizer, weightQuantizer } from "./_simulate.ts";
import { DEFAULT_RUNTIME } from "../runtime/mod.ts";

/**
 * The range method the pipeline uses unless told otherwise: MSE. Calibrated
 * on one rendering of text and evaluated on another (other fonts, other
 * corpus), it held up where min/max did not, because min/max ranges grow
 * with every outlier the calibration set holds. Over six calibration draws
 * and two held-out splits of the recognizer (bench/range_stability.ts) it
 * has the smallest mean drop (1.67 points) of MSE, percentile and their
 * blend (1.90–1.93), though one draw costs it 6–7 points where the blend's
 * worst is 4: `--calib-method blend` trades the median for the tail.
 */
export const DEFAULT_METHOD = "mse" as const;

/** Options of {@linkcode quantizeModel}: quantization plus calibration settings. */
export interface QuantizeModelOptions extends QuantizeOptions {
  /** Calibration settings (method, samples, …); defaults as in `calibrate`, but the method is {@linkcode DEFAULT_METHOD}. */
  calibration: Partial<CalibrateOptions>;
  /** Runtime for calibration. Default: onnxruntime-node. */
  runtime?: Runtime;
  /** Progress of the long steps, for a CLI to print. Default: none. */
  onProgress?: (step: "normalize" | "statistics" | "calibrate" | "quantize", done: number, total: number) => void;
  /** The target: its op set and opset range bound the passes. Default: `cpu-mixed`. */
  profile: TargetProfile;
  /**
   * Called with a copy of the float model as the quantizer reads it (after
   * the graph and statistics passes, before bias correction), the reference
   * for per-layer errors (reports, bundles). Default: none (no copy made).
   */
  onFloatGraph?: (model: Model) => void;
  /**
   * Called with a copy of the QDQ model before the `lower` passes rewrite it
   * for a runtime's kernels: the graph `onFloatGraph`'s copy matches value by
   * value (per-layer errors, sensitivity rankings). Default: none (no copy made).
   */
  onQdqGraph?: (model: Model) => void;
  /** The passes to run (any order; the pipeline orders them). Default: the profile's default recipe. */
  passes: readonly PassName[];
  /** Settings of the passes; defaults as in `PassSettings`. */
  passSettings: Partial<PassSettings>;
  /**
   * Narrow the input ranges of Sigmoid, Tanh and HardSigmoid to where their
   * quantized output still changes, and a HardSwish's or Relu's lower end to
   * where its output stops being 0 (see `limitSaturatingInputs`). Default: true.
   */
  limitSaturation?: boolean;
  /**
   * MSE ranges of values that only linear ops read (Conv, ConvTranspose,
   * MatMul, Gemm) minimize the error those ops' outputs see: each element
   * counts by its channel's weights in them (see `consumerWeights`). Default: true.
   */
  consumerRanges?: boolean;
}

/** What {@linkcode quantizeModel} did, step by step. */
export interface QuantizeModelReport {
  normalize: NormalizeReport;
  /** Every pass that ran, in order, with what it did. */
  passes: PassReport[];
  /** Activation values calibrated. */
  calibrated: number;
  /** Samples the calibration saw. */
  samples: number;
  /** The calibration settings used, defaults applied. */
  calibration: Pick<CalibrateOptions, "method" | "symmetric" | "histogramSample" | "percentile" | "bins">;
  /** Input ranges narrowed to where a Sigmoid, Tanh or HardSigmoid after them can still change its quantized output, or a HardSwish or Relu its output from 0. */
  limited: SaturationLimit[];
  /** Values whose MSE range counts each element by its consumers' channel weights. */
  consumerWeighted: string[];
  /** Outputs of constant Pads that share their input's grid (the fill lies in its range). */
  sharedPads: string[];
  quantize: QuantizeReport;
  /**
   * Wall time of each step in milliseconds; `statistics` the extra passes
   * over the data that `statistics` passes need (one each; 0 when none ran), `passes`
   * the passes' own work.
   */
  ms: {
    normalize: number;
    passes: number;
    statistics: number;
    calibrate: number;
    /** `calibrate` split: the pass over the data ({@linkcode CollectTimings}) and the range choice after it. */
    calibrateSteps: CollectTimings & { ranges: number };
    quantize: number;
    total: number;
  };
}

/**
 * Quantizes `model` in place: normalize, run the recipe's passes,
 * calibrate on `calib`, insert QDQ.
 *
 * @example
 * ```ts
 * const model = readModel("model.onnx");
 * const calib = await openDataset("calib/", model.graph.inputs);
 * const report = await quantizeModel(model, calib, { perChannel: true });
 * writeModel("model.int8.onnx", model);
 * ```
 */
export async function quantizeModel(
  model: Model,
  calib: Dataset,
  opts: Partial<QuantizeModelOptions> = {},
): Promise<QuantizeModelReport> {
  const t0 = performance.now();
  const q = resolveQuantizeOptions(opts);
  const profile = opts.profile ?? loadTarget("cpu-mixed");
  const recipe = new Set(opts.passes ?? quantizeOptionsFor(profile).passes);
  const ctx: PassContext = {
    profile,
    settings: resolvePassSettings(opts.passSettings),
    perChannel: q.perChannel,
    constants: constantQuantizer(q),
  };
  const c = resolveCalibrateOptions({
    ...opts.calibration,
    method: opts.calibration?.method ?? DEFAULT_METHOD,
    symmetric: opts.calibration?.symmetric ?? q.symmetricActivations,
    // Symmetric int8 uses [−127, 127]: 255 levels, so 2^k-scaled ranges are 2^k · 127.
    levels: opts.calibration?.levels ?? (q.symmetricActivations && q.activations === "int8" ? 255 : 256),
    powerOfTwo: opts.calibration?.powerOfTwo ?? q.powerOfTwoScales,
  }, calib.size);
  const ms = {
    normalize: 0, passes: 0, statistics: 0, calibrate: 0, quantize: 0, total: 0,
    calibrateSteps: { open: 0, read: 0, runs: 0, observe: 0, ranges: 0 },
  };
  const reports: PassReport[] = [];
  const stage = (s: PassStage) => PASSES.filter((p) => p.stage === s && recipe.has(p.name));
  const run = async (passes: readonly Pass[], stats: StatLookup) => {
    for (const p of passes) {
      const r = await p.apply(model, stats, ctx);
      reports.push(r);
      ms.passes += r.ms;
    }
  };
  const collectFor = async (passes: readonly Pass[], extra: StatRequest[], step: "statistics" | "calibrate") => {
    const needs = passes.flatMap((p) => p.needs?.(model, ctx) ?? []);
    const all = [...extra, ...needs];
    const onTimings = step === "calibrate" ? (t: CollectTimings) => Object.assign(ms.calibrateSteps, t) : undefined;
    const observers = await collect(model, calib, all, { ...c, onProgress: (d, n) => opts.onProgress?.(step, d, n), onTimings }, opts.runtime);
    return { observers, lookup: lookupOf(all, observers) };
  };

  opts.onProgress?.("normalize", 0, 1);
  // The planner infers dtypes from the graph, so the two ORT runs that record shapes are not needed.
  const norm = await normalize(model, { shapes: false });
  ms.normalize = performance.now() - t0;

  await run(stage("graph"), noStats);

  // One pass over the data each: a pass's statistics must be of the graph the earlier ones changed.
  for (const p of stage("statistics")) {
    const needs = p.needs?.(model, ctx) ?? [];
    // A pass with nothing to look at here (no LayerNorm to equalize, say) costs no pass over the data.
    if (!needs.length) {
      await run([p], noStats);
      continue;
    }
    const t = performance.now();
    const { lookup } = await collectFor([], needs, "statistics");
    ms.statistics += performance.now() - t;
    await run([p], lookup);
  }

  const planPasses = stage("plan");
  if (planPasses.length) {
    // The copy has had this recipe's rewrites already: only what follows the plan runs on it.
    const rest = PASSES.filter((p) => recipe.has(p.name) && (p.stage === "calibrated" || p.stage === "quantize")).map((p) => p.name);
    ctx.sensitivity = () => sensitivity(model, calib, { ...opts, passes: rest });
    const first = reports.length;
    await run(planPasses, noStats);
    q.exclude = [...new Set([...q.exclude, ...reports.slice(first).flatMap((r) => r.nodes)])];
  }
  const plan = planQuantization(model, q);
  if (opts.onFloatGraph) opts.onFloatGraph(cloneModel(model));

  const t1 = performance.now();
  const calibrated = stage("calibrated");
  const weighted = c.method === "mse" && opts.consumerRanges !== false;
  const requests = rangeRequests(plan.activations, c, weighted ? (v) => consumerWeights(model.graph, v) : undefined);
  const { observers, lookup } = await collectFor(calibrated, requests, "calibrate");
  const t1r = performance.now();
  const consumerWeighted = requests.flatMap((r) => r.kind === "histogram" && r.channelWeights ? [r.value] : []);
  const ranges = new Map<string, Range>();
  // 16-bit values search their range over 65536 levels, where clipping rarely pays.
  const wide = new Set(q.wideActivations ?? []);
  const wideLevels = { ...c, levels: q.symmetricActivations && q.activations === "int8" ? 65535 : 65536 };
  plan.activations.forEach((v, i) => ranges.set(v, rangeOf(observers[i], wide.has(v) ? wideLevels : c)));
  const shared = new Set(Object.entries(plan.shared).flat());
  const limited = opts.limitSaturation === false ? [] : limitSaturatingInputs(model.graph, ranges, (v, r) => {
    const type = wide.has(v) ? wideType(q.activations) : q.activations;
    const { scale, zeroPoint } = activationParams(r, type, q.symmetricActivations, q.powerOfTwoScales);
    const { qmin, qmax } = activationQRange(type, q.symmetricActivations);
    return { lo: (qmin - zeroPoint) * scale, hi: (qmax - zeroPoint) * scale, step: scale };
  }, shared);
  // A Pad whose fill lies in its input's range keeps one grid (no second rounding).
  const sharedPads = sharePadRanges(model.graph, ranges);
  ms.calibrate = performance.now() - t1;
  ms.calibrateSteps.ranges = performance.now() - t1r;

  const pinned = new Map<string, Float32Array>();
  if (calibrated.length) {
    ctx.weights = weightQuantizer(model, ranges, q, pinned);
    ctx.grams = async (requests) => {
      const t = performance.now();
      const n = Math.min(ctx.settings.gptqSamples, c.samples);
      const grams = await collectGrams(model, calib, requests, n, { folds: 2, runtime: opts.runtime, onProgress: (d, total) => opts.onProgress?.("statistics", d, total) });
      ms.statistics += performance.now() - t;
      return grams;
    };
    await run(calibrated, lookup);
  }

  const t2 = performance.now();
  const guard = q.biasOverflowGuard && recipe.has("bias-overflow-guard");
  const report = quantize(model, ranges, { ...q, biasOverflowGuard: guard, weightScales: pinned });
  opts.onProgress?.("quantize", 1, 1);
  ms.quantize = performance.now() - t2;
  if (guard) reports.push(guardReport(report));
  // Rewrites of the QDQ graph for a runtime's kernels: the quantized model is their input.
  ctx.activations = { dtype: q.activations, symmetric: q.symmetricActivations, powerOfTwo: q.powerOfTwoScales };
  if (opts.onQdqGraph) opts.onQdqGraph(cloneModel(model));
  await run(stage("lower"), noStats);
  ms.total = performance.now() - t0;
  return {
    normalize: norm,
    passes: reports,
    calibrated: plan.activations.length,
    samples: c.samples,
    calibration: { method: c.method, symmetric: c.symmetric, histogramSample: c.histogramSample, percentile: c.percentile, bins: c.bins },
    limited,
    consumerWeighted,
    sharedPads,
    quantize: report,
    ms,
  };
}

/**
 * The per-layer error the model's own quantization adds, most first: a copy
 * quantized with the rest of the recipe, compared layer by layer with the
 * float copy on up to 16 calibration samples.
 */
async function sensitivity(model: Model, calib: Dataset, opts: Partial<QuantizeModelOptions>): Promise<{ node: string; dropDb: number }[]> {
  const fp32 = cloneModel(model);
  const q = cloneModel(model);
  await quantizeModel(q, calib, { ...opts, onProgress: undefined });
  const r = await layerErrors(fp32, q, calib, { samples: Math.min(16, calib.size), sortBy: "drop", runtime: opts.runtime ?? DEFAULT_RUNTIME });
  return r.layers.map((l) => ({ node: l.node, dropDb: l.dropDb }));
}

/** What the bias-overflow guard did inside QDQ insertion, as a pass report. */
function guardReport(q: QuantizeReport): PassReport {
  const raised = q.weights.raisedChannels;
  const channels = raised.reduce((n, r) => n + r.channels.length, 0);
  return {
    pass: "bias-overflow-guard",
    params: {},
    nodes: raised.map((r) => r.node),
    summary: channels ? `${channels} weight channels in ${raised.length} layers raised so their int32 bias fits` : "no int32 bias needed a larger weight scale",
    details: { raisedChannels: raised },
    ms: 0,
  };
}

const noStats: StatLookup = (r) => {
  throw new Error(`internal: no statistics gathered for ${r.kind} of "${r.value}"`);
};

/** Finds the observer of a request among `requests` (equal requests share one). */
function lookupOf(requests: readonly StatRequest[], observers: readonly unknown[]): StatLookup {
  const key = (r: StatRequest) => JSON.stringify(r);
  const byKey = new Map(requests.map((r, i) => [key(r), observers[i]]));
  return (r) => {
    const o = byKey.get(key(r));
    if (!o) throw new Error(`internal: no statistics gathered for ${r.kind} of "${r.value}"`);
    return o as ReturnType<StatLookup>;
  };
}
