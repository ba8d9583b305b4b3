/** Calibration defaults, applied in one place. Private to src/calibrate/. */
import { InputError } from "../errors.ts";
import type { CalibMethod, CalibrateOptions, CollectOptions } from "./types.ts";

const METHODS: readonly CalibMethod[] = ["minmax", "percentile", "entropy", "mse", "blend"];

/** Merges `opts` over the defaults; `size` is the dataset's, which `samples` may not exceed. */
export function resolveCollectOptions(opts: Partial<CollectOptions>, size: number): CollectOptions {
  if (size === 0) throw new InputError("Cannot calibrate: the calibration dataset has no samples");
  const samples = opts.samples ?? size;
  if (!Number.isInteger(samples) || samples < 1) {
    throw new InputError(`Invalid number of calibration samples ${samples}: expected a positive integer`);
  }
  const histogramSample = opts.histogramSample ?? 2048;
  if (!Number.isInteger(histogramSample) || histogramSample < 0 || (histogramSample > 0 && histogramSample < 16)) {
    throw new InputError(`Invalid histogram sample ${histogramSample}: expected 0 (every element) or an integer ≥ 16`);
  }
  return {
    samples: Math.min(samples, size),
    histogramSample,
    session: opts.session ?? {},
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.onTimings ? { onTimings: opts.onTimings } : {}),
  };
}

/** Merges `opts` over the defaults documented on {@linkcode CalibrateOptions}. */
export function resolveCalibrateOptions(opts: Partial<CalibrateOptions>, size: number): CalibrateOptions {
  const o = stripUndefined(opts);
  const r: CalibrateOptions = {
    ...resolveCollectOptions(o, size),
    method: o.method ?? "minmax",
    symmetric: o.symmetric ?? false,
    percentile: o.percentile ?? 99.999,
    bins: o.bins ?? 2048,
    movingAverage: o.movingAverage ?? 0,
    levels: o.levels ?? 256,
    powerOfTwo: o.powerOfTwo ?? false,
  };
  if (!METHODS.includes(r.method)) {
    throw new InputError(`Invalid calibration method "${r.method}": expected one of ${METHODS.join(", ")}`);
  }
  if (!(r.percentile > 0 && r.percentile <= 100)) {
    throw new InputError(`Invalid percentile ${r.percentile}: expected a number in (0, 100]`);
  }
  if (!Number.isInteger(r.bins) || r.bins < 16 || r.bins > 1 << 20) {
    throw new InputError(`Invalid histogram bins ${r.bins}: expected an integer from 16 to 1048576`);
  }
  if (!(r.movingAverage >= 0 && r.movingAverage <= 1)) {
    throw new InputError(`Invalid moving average ${r.movingAverage}: expected a number in [0, 1]`);
  }
  if (!Number.isInteger(r.levels) || r.levels < 4) {
    throw new InputError(`Invalid quantization levels ${r.levels}: expected an integer ≥ 4`);
  }
  return r;
}

// `{ method: undefined }` (an unset CLI flag) must mean "default".
function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
