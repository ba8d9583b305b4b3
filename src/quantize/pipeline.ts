/**
 * The quantization pipeline in one readable list:
 *
 * 1. normalize — constants → initializers, opset ≥ 13, BatchNormalization
 *    folded, shapes recorded (skipped for a model already normalized);
 * 2. plan — which activation values need a range (the registry decides);
 * 3. calibrate — one ONNX Runtime session, samples streamed through
 *    observers that keep only statistics;
 * 4. quantize — QDQ insertion, int8 weights, int32 biases.
 *
 * Target profiles (a later step) will choose the options and passes here.
 *
 * @module
 */
import type { Model } from "../ir/model.ts";
import type { Dataset } from "../data/types.ts";
import { calibrate, resolveCalibrateOptions } from "../calibrate/mod.ts";
import type { CalibrateOptions } from "../calibrate/types.ts";
import { normalize, type NormalizeReport } from "../normalize/mod.ts";
import type { Runtime } from "../runtime/types.ts";
import { planQuantization } from "./plan.ts";
import { quantize, type QuantizeReport } from "./quantize.ts";
import { resolveQuantizeOptions } from "./options.ts";
import type { QuantizeOptions } from "./types.ts";

/** Options of {@linkcode quantizeModel}: quantization plus calibration settings. */
export interface QuantizeModelOptions extends QuantizeOptions {
  /** Calibration settings (method, samples, …); defaults as in `calibrate`. */
  calibration: Partial<CalibrateOptions>;
  /** Runtime for shape recording and calibration. Default: onnxruntime-node. */
  runtime?: Runtime;
  /** Progress of the long steps, for a CLI to print. Default: none. */
  onProgress?: (step: "normalize" | "calibrate" | "quantize", done: number, total: number) => void;
}

/** What {@linkcode quantizeModel} did, step by step. */
export interface QuantizeModelReport {
  normalize: NormalizeReport;
  /** Activation values calibrated. */
  calibrated: number;
  /** Samples the calibration saw. */
  samples: number;
  /** The calibration settings used, defaults applied. */
  calibration: Pick<CalibrateOptions, "method" | "symmetric" | "histogramSample" | "percentile" | "bins">;
  quantize: QuantizeReport;
  /** Wall time of each step in milliseconds. */
  ms: { normalize: number; calibrate: number; quantize: number; total: number };
}

/**
 * Quantizes `model` in place: normalize, plan, calibrate on `calib`, insert QDQ.
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
  const q = resolveQuantizeOptions(opts);
  const t0 = performance.now();
  opts.onProgress?.("normalize", 0, 1);
  // The planner infers dtypes from the graph, so the two ORT runs that record shapes are not needed.
  const norm = await normalize(model, { shapes: false });
  const t1 = performance.now();
  const plan = planQuantization(model, q);
  const c = resolveCalibrateOptions({
    ...opts.calibration,
    symmetric: opts.calibration?.symmetric ?? q.symmetricActivations,
    onProgress: (done, all) => opts.onProgress?.("calibrate", done, all),
  }, calib.size);
  const ranges = await calibrate(model, calib, plan.activations, c, opts.runtime);
  const t2 = performance.now();
  const report = quantize(model, ranges, q);
  const t3 = performance.now();
  opts.onProgress?.("quantize", 1, 1);
  return {
    normalize: norm,
    calibrated: plan.activations.length,
    samples: c.samples,
    calibration: { method: c.method, symmetric: c.symmetric, histogramSample: c.histogramSample, percentile: c.percentile, bins: c.bins },
    quantize: report,
    ms: { normalize: t1 - t0, calibrate: t2 - t1, quantize: t3 - t2, total: t3 - t0 },
  };
}
