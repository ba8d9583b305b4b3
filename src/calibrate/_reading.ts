/**
 * One sample's reading of one value — its whole tensor, or its exact
 * extremes with an optional strided subsample — and how observers fold it
 * in. Private to src/calibrate/.
 */
import type { TensorValue } from "../runtime/types.ts";
import { type MonotoneMap, mapExtremes } from "./_derive.ts";
import { scanFinite } from "./_scan.ts";
import { ChannelObserver } from "./channel.ts";
import { Histogram } from "./histogram.ts";
import { MinMaxObserver } from "./minmax.ts";

/** What one sample gave for one value. */
export interface Reading {
  /** Extremes of the finite values (exact: over the whole tensor). */
  min: number;
  max: number;
  /** Non-finite values seen (whole readings only; reduced readings with any are re-read whole). */
  nonFinite: number;
  /** The whole tensor (`whole`), a subsample, or nothing (extremes only). */
  data?: Float32Array;
  /** Shape of the whole tensor. */
  dims?: readonly number[];
  whole: boolean;
  /** Tensor elements each subsample element stands for (1 when whole). */
  weight: number;
}

/** Any observer the collector creates. */
export type AnyObserver = MinMaxObserver | Histogram | ChannelObserver;

/** A whole tensor as a reading. */
export function wholeReading(value: string, t: TensorValue | undefined): Reading {
  if (!t) throw new Error(`internal: ONNX Runtime returned no "${value}"`);
  if (t.dtype !== "float32") throw new RangeError(`Cannot calibrate "${value}": it is ${t.dtype}, only float32 values have ranges`);
  const s = scanFinite(t.data);
  return { min: s.min, max: s.max, nonFinite: s.nonFinite, data: t.data, dims: t.dims, whole: true, weight: 1 };
}

/**
 * A derived value's reading: the root's extremes and data mapped through
 * `maps` (data into `buffer`, which is reused, so observe the result before
 * deriving the next). Undefined when the result would not be exact: the
 * root had non-finite values or the mapped extremes are not finite.
 */
export function derivedReading(root: Reading, maps: readonly MonotoneMap[], buffer: Float32Array): Reading | undefined {
  if (root.nonFinite > 0) return undefined;
  const [min, max] = mapExtremes(maps, root.min, root.max);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return undefined;
  let data: Float32Array | undefined;
  if (root.data) {
    data = buffer.subarray(0, root.data.length);
    let src = root.data;
    for (const m of maps) {
      m.apply(src, data);
      src = data;
    }
  }
  // Same elements in the same order, but a scalar constant may change the rank: no dims.
  return { ...root, min, max, data, dims: undefined };
}

/** Folds a reading into each observer. */
export function observeReading(observers: readonly AnyObserver[], value: string, r: Reading): void {
  for (const obs of observers) {
    if (obs instanceof ChannelObserver) {
      if (!r.whole || !r.data || !r.dims) throw new Error(`internal: channel statistics of "${value}" need the whole tensor`);
      obs.observe(r.data, r.dims);
    } else if (obs instanceof Histogram) {
      if (!r.data) throw new Error(`internal: no data read for the histogram of "${value}"`);
      if (r.whole) obs.observe(r.data);
      else obs.observeSubsample(r.data, r.weight, r.min, r.max);
    } else if (r.whole) {
      obs.nonFinite += r.nonFinite;
      if (r.min <= r.max) obs.observeExtremes(r.min, r.max);
    } else obs.observeExtremes(r.min, r.max);
  }
}
