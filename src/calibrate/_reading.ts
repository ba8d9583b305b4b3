/**
 * One sample's reading of one value — its whole tensor, or its exact
 * extremes with an optional strided subsample and per-channel reductions —
 * and how observers fold it in. Private to src/calibrate/.
 */
import type { TensorValue } from "../runtime/types.ts";
import { type Derivation, type MonotoneMap, mapExtremes } from "./_derive.ts";
import { scanFinite } from "./_scan.ts";
import { ChannelObserver } from "./channel.ts";
import { type ChannelWeights, Histogram } from "./histogram.ts";
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
  /** Shape of the whole tensor (whole readings). */
  dims?: readonly number[];
  /** Shape of the tensor a subsample was taken from, when known (graph inputs). */
  shape?: readonly number[];
  /** Elements of one contiguous run of a channel (axis 1) in the flattened tensor, when the graph reported it. */
  run?: number;
  whole: boolean;
  /** Tensor elements each subsample element stands for (1 when whole). */
  weight: number;
  /** Where a subsample's elements sit in the flattened tensor: element k at `start + k · step` (absent when whole). */
  start?: number;
  step?: number;
  /** Per-channel reductions computed in the graph (values with a channel view). */
  channel?: ChannelSums;
}

/** One sample's per-channel minima, maxima and sums of a value, all finite, reduced inside ONNX Runtime. */
export interface ChannelSums {
  min: Float32Array;
  max: Float32Array;
  sum: Float32Array;
  /** Absent when no request wanted the spread. */
  sumSq?: Float32Array;
  /** Elements in each channel. */
  perChannel: number;
  /** Elements of one contiguous run of a channel in the flattened tensor (the product of the dims after its axis). */
  run: number;
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
    data = buffer.length === root.data.length ? buffer : buffer.subarray(0, root.data.length);
    let src = root.data;
    for (const m of maps) {
      m.apply(src, data);
      src = data;
    }
  }
  // Same elements in the same order, but a scalar constant may change the rank: no dims.
  return { min, max, nonFinite: 0, data, whole: root.whole, weight: root.weight, start: root.start, step: root.step, run: root.run, shape: root.dims ?? root.shape };
}

// Derived data up to this many elements is kept per value for the values derived from it.
const KEEP = 1 << 16;

/**
 * Derived values' readings, one sample at a time. A value is computed from
 * the nearest requested value on its chain (`via`), whose data this sample
 * is kept when it is a subsample or small (Clip(Add(x, 3)) then its Div by 6
 * is one more pass, not three); large whole tensors share one buffer and are
 * computed from their root.
 */
export class DerivedReadings {
  readonly #buffers = new Map<string, Float32Array>();
  readonly #done = new Map<string, Reading>();
  #shared = new Float32Array(0);

  /** Starts a sample. */
  next(): void {
    this.#done.clear();
  }

  /** `v`'s reading from this sample's `readings` (and values derived before it), or undefined as {@linkcode derivedReading}. */
  read(v: string, d: Derivation, readings: ReadonlyMap<string, Reading>): Reading | undefined {
    const via = this.#done.get(d.via) ?? readings.get(d.via);
    const [from, maps] = via?.data === undefined || via.data.length <= KEEP ? [via, d.rest] : [readings.get(d.root), d.maps];
    if (!from) return undefined;
    const n = from.data?.length ?? 0;
    let buffer: Float32Array;
    if (n <= KEEP) {
      buffer = this.#buffers.get(v) ?? new Float32Array(0);
      if (buffer.length < n) this.#buffers.set(v, buffer = new Float32Array(n));
    } else {
      if (this.#shared.length < n) this.#shared = new Float32Array(n);
      buffer = this.#shared;
    }
    const r = derivedReading(from, maps, buffer);
    if (r) this.#done.set(v, r);
    return r;
  }
}

/** Folds a reading into each observer. */
export function observeReading(observers: readonly AnyObserver[], value: string, r: Reading): void {
  for (const obs of observers) {
    if (obs instanceof ChannelObserver) {
      if (r.channel) obs.observeReduced(r.channel, r.channel.perChannel);
      else if (!r.whole || !r.data || !r.dims) throw new Error(`internal: channel statistics of "${value}" need the whole tensor`);
      else obs.observe(r.data, r.dims);
    } else if (obs instanceof Histogram) {
      if (!r.data) throw new Error(`internal: no data read for the histogram of "${value}"`);
      if (obs.channelWeights && observeWeighted(obs, obs.channelWeights, r)) continue;
      if (r.whole) obs.observe(r.data);
      else obs.observeSubsample(r.data, r.weight, r.min, r.max);
    } else if (r.whole) {
      obs.nonFinite += r.nonFinite;
      if (r.min <= r.max) obs.observeExtremes(r.min, r.max);
    } else obs.observeExtremes(r.min, r.max);
  }
}

/**
 * Folds a reading into a histogram whose elements count by their channel's
 * weight (`w.weights[c]`, the channel of flat position i being
 * ⌊i / w.inner⌋ mod C), times the elements each stands for. False (nothing
 * observed) when the reading does not tell the channel runs.
 */
function observeWeighted(h: Histogram, w: ChannelWeights, r: Reading): boolean {
  const data = r.data!, C = w.weights.length, start = r.whole ? 0 : r.start ?? 0, step = r.whole ? 1 : r.step ?? 1;
  const dims = r.dims ?? r.shape;
  const inner = w.inner ?? r.run ?? r.channel?.run ?? (dims && dims[1] === C ? dims.slice(2).reduce((a, b) => a * b, 1) : undefined);
  if (inner === undefined || !Number.isInteger(inner) || inner < 1) return false;
  if (weightScratch.length < data.length) weightScratch = new Float64Array(data.length);
  const each = weightScratch.subarray(0, data.length), ws = w.weights;
  // Position start + k·step lies in channel ⌊at / inner⌋ mod C: stepped without a division per element.
  const dc = Math.floor(step / inner) % C, dr = step % inner;
  let c = Math.floor(start / inner) % C, rem = start % inner;
  for (let k = 0; k < data.length; k++) {
    each[k] = r.weight * ws[c];
    rem += dr;
    c += dc;
    if (rem >= inner) {
      rem -= inner;
      c++;
    }
    if (c >= C) c -= C;
  }
  h.observeWeighted(data, each, r.min, r.max);
  return true;
}

// Per-element weights of the reading being folded in (observeWeighted does not keep them).
let weightScratch = new Float64Array(0);
