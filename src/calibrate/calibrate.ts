/**
 * Calibration: a range per activation value from one pass over the
 * calibration samples.
 *
 * @module
 */
import type { Dataset } from "../data/types.ts";
import type { Model } from "../ir/model.ts";
import type { Runtime } from "../runtime/types.ts";
import { resolveCalibrateOptions } from "./_options.ts";
import type { ChannelObserver } from "./channel.ts";
import { collect } from "./collect.ts";
import { entropyRange } from "./entropy.ts";
import { type ChannelWeights, Histogram } from "./histogram.ts";
import { MinMaxObserver } from "./minmax.ts";
import { blendRange } from "./blend.ts";
import { mseRange } from "./mse.ts";
import { percentileRange } from "./percentile.ts";
import type { CalibrateOptions, Range, StatRequest } from "./types.ts";

/**
 * The range of each of `values` (graph inputs or node outputs of `model`,
 * float32) by `opts.method`, from the first `opts.samples` samples of
 * `data`. Runs one session on a copy of the model (the model is not
 * changed), one forward pass per sample; memory does not grow with the
 * number of samples. MinMax ranges are exact; histogram methods
 * (percentile, entropy, mse) read a strided subsample of each value
 * (`opts.histogramSample` elements per sample, default 2048) anchored by its
 * exact extremes — pass `histogramSample: 0` for whole tensors.
 *
 * @example
 * ```ts
 * const ranges = await calibrate(model, dataset, ["x", "conv1_out"], {
 *   method: "percentile",
 *   onProgress: (done, total) => console.error(`calibrating ${done}/${total}`),
 * });
 * ranges.get("conv1_out"); // { min: -3.1, max: 5.7 }
 * ```
 */
export async function calibrate(
  model: Model,
  data: Dataset,
  values: readonly string[],
  opts: Partial<CalibrateOptions> = {},
  runtime?: Runtime,
): Promise<Map<string, Range>> {
  const o = resolveCalibrateOptions(opts, data.size);
  const observers = await collect(model, data, rangeRequests(values, o), o, runtime);
  const ranges = new Map<string, Range>();
  values.forEach((v, i) => ranges.set(v, rangeOf(observers[i], o)));
  return ranges;
}

/**
 * The statistic each of `values` needs for `o.method`, in order: what
 * {@linkcode calibrate} collects, for a caller that collects more in the same
 * pass (recovery passes' requests) and reads ranges with {@linkcode rangeOf}.
 * A histogram counts a value's elements by the channel weights `weightsOf`
 * gives it, if any.
 *
 * @example
 * ```ts
 * const o = resolveCalibrateOptions({ method: "mse" }, data.size);
 * const reqs = rangeRequests(["conv1_out"], o); // [{ kind: "histogram", value: "conv1_out", … }]
 * ```
 */
export function rangeRequests(
  values: readonly string[],
  o: CalibrateOptions,
  weightsOf: (value: string) => ChannelWeights | undefined = () => undefined,
): StatRequest[] {
  return values.map((value) => {
    if (o.method === "minmax") return { kind: "minmax", value, movingAverage: o.movingAverage };
    const channelWeights = weightsOf(value);
    return { kind: "histogram", value, symmetric: o.symmetric, bins: o.bins, ...(channelWeights && { channelWeights }) };
  });
}

/**
 * The range `o.method` reads from an observer `calibrate` created for it.
 *
 * @example
 * ```ts
 * const r = rangeOf(observer, resolveCalibrateOptions({ method: "mse" }, 64));
 * r.min <= r.max; // true
 * ```
 */
export function rangeOf(obs: MinMaxObserver | Histogram | ChannelObserver, o: CalibrateOptions): Range {
  if (obs instanceof MinMaxObserver) return obs.range(o.symmetric);
  if (!(obs instanceof Histogram)) throw new TypeError(`No ${o.method} range for this observer`);
  switch (o.method) {
    case "percentile":
      return percentileRange(obs, o.percentile);
    case "entropy":
      return entropyRange(obs, { levels: o.levels });
    case "mse":
      return mseRange(obs, { levels: o.levels, powerOfTwo: o.powerOfTwo });
    case "blend":
      return blendRange(obs, o.percentile, { levels: o.levels });
    default:
      throw new TypeError(`No ${o.method} range for a histogram`);
  }
}
