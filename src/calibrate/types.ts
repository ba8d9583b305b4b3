/**
 * Calibration contracts: which statistic turns observed activations into a
 * quantization range, and how an algorithm asks for statistics
 * ({@linkcode StatRequest}) before it applies them.
 *
 * @module
 */
import type { SessionOptions } from "../runtime/types.ts";
import type { ChannelWeights } from "./histogram.ts";

/** How a tensor's range is chosen from what calibration observed. */
export type CalibMethod = "minmax" | "percentile" | "entropy" | "mse" | "blend";

/**
 * A real-valued range [min, max] that a quantized tensor must represent. It
 * need not contain 0 (MinMax of a sigmoid output does not): the quantizer
 * widens it to include 0 when it computes a zero point.
 */
export interface Range {
  min: number;
  max: number;
}

/** Options of a statistics pass ({@linkcode CalibrateOptions} adds the range method to them). */
export interface CollectOptions {
  /** Use at most this many samples (the first ones). Default: all. */
  samples: number;
  /** Called after each sample. Default: none. */
  onProgress?: (done: number, total: number) => void;
  /** Called once, after the last sample, with where the time went. Default: none. */
  onTimings?: (t: CollectTimings) => void;
  /**
   * Elements of each value that a histogram reads per sample (k): a value of
   * n elements contributes ⌊n / s⌋ elements s = ⌊n / k + 1⌋ apart (at most
   * k, from a start that moves between samples), each counted for the
   * elements it stands for, plus its exact min and max computed over all n
   * inside ONNX Runtime. Values of fewer than k elements are read whole. The
   * stride comes from the value's size in the previous sample (a first run
   * learns the sizes), so when sizes change between samples a value may give
   * more or fewer than k, still evenly spread and weighted. 0 reads every
   * element of every value (exact histograms, several times slower on large
   * activations). Default 2048: on the PaddleOCR models the ranges it gives
   * differ from whole-tensor ones by less than they differ between two
   * disjoint calibration sets of the same size.
   */
  histogramSample: number;
  /**
   * Options of the one session calibration runs. Default `{}`: graph
   * optimization level "all", which is safe because every observed value is
   * a graph output of the session's model and outputs are never fused away.
   */
  session: Partial<SessionOptions>;
}

/** Where one pass over the calibration data spent its time, in milliseconds. */
export interface CollectTimings {
  /** Building the model calibration runs and opening its session (and the fallback one, if any). */
  open: number;
  /** Reading samples into feeds, as far as they were not read while the model ran. */
  read: number;
  /** ONNX Runtime's runs of that model, with the copies of what they return. */
  runs: number;
  /** The observers: reductions finished in JavaScript, histograms, derived values. */
  observe: number;
}

/** Options for calibration; each field's default is applied in one place. */
export interface CalibrateOptions extends CollectOptions {
  /** Range statistic. Default `"minmax"`. */
  method: CalibMethod;
  /**
   * Ranges are for symmetric quantization (histograms of |x|, range
   * [-t, t]). Default `false`: histogram methods search [min, max].
   */
  symmetric: boolean;
  /** Percentile kept by `"percentile"` (and `"blend"`'s percentile side), in percent. Default 99.999. */
  percentile: number;
  /** Histogram bins for percentile/entropy/mse. Default 2048. */
  bins: number;
  /** MinMax moving-average constant (e.g. 0.01); 0 keeps the running min/max. Default 0. */
  movingAverage: number;
  /** Integer levels of the target type, for entropy and mse. Default 256 (8 bits). */
  levels: number;
  /**
   * The quantizer will round each scale up to a power of two: `"mse"` then
   * searches symmetric ranges among those it can represent, 2^k · (levels − 1) / 2,
   * rather than rounding its best range up afterwards (which can double
   * the step). Default `false`.
   */
  powerOfTwo: boolean;
}

/** Running min and max of a value ({@linkcode MinMaxObserver}). */
export interface MinMaxRequest {
  kind: "minmax";
  value: string;
  /** Moving-average constant; 0 keeps the running extremes. @default 0 */
  movingAverage?: number;
}

/** A one-pass histogram of a value ({@linkcode Histogram}). */
export interface HistogramRequest {
  kind: "histogram";
  value: string;
  /** Histogram of |x| rather than x. @default false */
  symmetric?: boolean;
  /** @default 2048 */
  bins?: number;
  /** Count each element by its channel's weight (e.g. its consumers' {@linkcode consumerWeights}). @default every element 1 */
  channelWeights?: ChannelWeights;
}

/** Per-channel max |x| and mean of a value ({@linkcode ChannelObserver}). */
export interface ChannelRequest {
  kind: "channel";
  value: string;
  /** Channel axis; negative counts from the end. @default 1 */
  axis?: number;
  /**
   * The channel count (the requesting pass knows it from the weight that
   * reads the value). Given, with `axis` ≥ 0 or −1, the value is reduced to C
   * sums and C extremes inside ONNX Runtime, so only those cross into
   * JavaScript; without it the value is fetched whole and reduced in
   * JavaScript (several times slower on large activations). A wrong count
   * whose multiples still divide the tensor is not detected: the statistics
   * are then of the wrong grouping.
   */
  channels?: number;
  /**
   * Also Σx² per channel, for {@linkcode ChannelObserver.std}: one more
   * reduction over the value on every sample, so only passes that need a
   * channel's spread ask for it. @default false
   */
  spread?: boolean;
}

/**
 * A statistic of one value that an algorithm needs from calibration data
 * (NNCF's statistic points): passes declare their requests, one collection
 * pass serves them all, then each pass applies what it asked for.
 */
export type StatRequest = MinMaxRequest | HistogramRequest | ChannelRequest;
