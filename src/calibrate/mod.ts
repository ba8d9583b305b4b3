/**
 * Calibration: observers that keep only statistics (min/max, a one-pass
 * histogram, per-channel maxima and means), range methods read from them
 * (minmax, percentile, entropy, MSE), and the collector that streams
 * samples through one ONNX Runtime session.
 *
 * @example
 * ```ts
 * import { calibrate } from "./src/calibrate/mod.ts";
 * const ranges = await calibrate(model, dataset, values, { method: "entropy" });
 * ```
 *
 * @module
 */
export { collectGrams, type Gram, type GramRequest, gramColumns } from "./gram.ts";
export type {
  CalibMethod,
  CalibrateOptions,
  ChannelRequest,
  CollectOptions,
  CollectTimings,
  HistogramRequest,
  MinMaxRequest,
  Range,
  StatRequest,
} from "./types.ts";
export { calibrate, rangeOf, rangeRequests } from "./calibrate.ts";
export { resolveCalibrateOptions } from "./_options.ts";
export { collect, type ObserverOf, type Observers } from "./collect.ts";
export { MinMaxObserver } from "./minmax.ts";
export { type ChannelWeights, Histogram } from "./histogram.ts";
export { ChannelObserver } from "./channel.ts";
export { percentileRange, quantile } from "./percentile.ts";
export { entropyRange, type EntropyOptions } from "./entropy.ts";
export { mseRange, type MseOptions } from "./mse.ts";
