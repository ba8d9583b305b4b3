import type { GraphOptimizationLevel, SessionOptions } from "./types.ts";

/** Every option's default; documented field by field on {@linkcode SessionOptions}. */
export const DEFAULT_SESSION_OPTIONS: Readonly<SessionOptions> = Object.freeze({
  intraOpNumThreads: 0,
  interOpNumThreads: 0,
  graphOptimizationLevel: "all",
  executionMode: "sequential",
  freeDimensionOverrides: {},
  logSeverityLevel: 4, // fatal only: every error ORT reports reaches the caller as an exception, once
  modelName: "",
});

const LEVELS: readonly GraphOptimizationLevel[] = ["disabled", "basic", "extended", "all"];
const MODES: readonly SessionOptions["executionMode"][] = ["sequential", "parallel"];

/**
 * Merges `options` over the defaults and checks the values a CLI user could
 * have typed, so a bad value fails here with its name rather than deep in
 * ONNX Runtime.
 */
export function resolveSessionOptions(options: Partial<SessionOptions> = {}): SessionOptions {
  const o: SessionOptions = { ...DEFAULT_SESSION_OPTIONS, ...stripUndefined(options) };
  for (const key of ["intraOpNumThreads", "interOpNumThreads"] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 0) {
      throw new RangeError(`Invalid session option ${key}: ${o[key]} is not a non-negative integer`);
    }
  }
  if (!LEVELS.includes(o.graphOptimizationLevel)) {
    throw new RangeError(
      `Invalid session option graphOptimizationLevel: "${o.graphOptimizationLevel}" is not one of ${LEVELS.join(", ")}`,
    );
  }
  if (!MODES.includes(o.executionMode)) {
    throw new RangeError(
      `Invalid session option executionMode: "${o.executionMode}" is not one of ${MODES.join(", ")}`,
    );
  }
  if (![0, 1, 2, 3, 4].includes(o.logSeverityLevel)) {
    throw new RangeError(`Invalid session option logSeverityLevel: ${o.logSeverityLevel} is not 0 to 4`);
  }
  for (const [dim, size] of Object.entries(o.freeDimensionOverrides)) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Invalid session option freeDimensionOverrides: "${dim}" is ${size}, not a positive integer`);
    }
  }
  return o;
}

// `{ intraOpNumThreads: undefined }` (e.g. from an unset CLI flag) must mean
// "default", not overwrite the default with undefined.
function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
