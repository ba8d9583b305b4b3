/**
 * Calibration contracts: which statistic turns observed activations into a
 * quantization range.
 *
 * @module
 */

/** How a tensor's range is chosen from what calibration observed. */
export type CalibMethod = "minmax" | "percentile" | "entropy" | "mse";

/** A real-valued range [min, max] that a quantized tensor must represent. */
export interface Range {
  min: number;
  max: number;
}

/** Options for calibration; each field's default is applied in one place. */
export interface CalibrateOptions {
  /** Range statistic. Default `"minmax"`. */
  method: CalibMethod;
  /** Use at most this many samples (the first ones). Default: all. */
  samples: number;
  /**
   * Ranges are for symmetric quantization (histograms of |x|, range
   * [-t, t]). Default `false`: histogram methods search [min, max].
   */
  symmetric: boolean;
  /** Percentile kept by `"percentile"`, in percent. Default 99.999. */
  percentile: number;
  /** Histogram bins for percentile/entropy/mse. Default 2048. */
  bins: number;
  /** MinMax moving-average constant (e.g. 0.01); 0 keeps the running min/max. Default 0. */
  movingAverage: number;
  /** Called after each sample. Default: none. */
  onProgress?: (done: number, total: number) => void;
}
