/**
 * Pools and reductions. Max-like ones select input values, so their output
 * shares the input's parameters (ORT's QDQMaxPool); averages narrow the
 * range, so they get their own output range.
 *
 * @module
 */
import type { OpRule } from "../registry.ts";

const own = (note: string): OpRule => ({ kind: "compute", note });
const shared = (note: string): OpRule => ({ kind: "shared", note });

/** Pool and reduction rules. */
export const POOL_RULES: Record<string, OpRule> = {
  GlobalAveragePool: own("input and output quantized (QLinearGlobalAveragePool)"),
  // ORT shares the input's parameters here; an average's range is narrower,
  // and QLinearAveragePool takes separate output parameters, so we calibrate it.
  AveragePool: own("input and output quantized, output with its own range (QLinearAveragePool)"),
  ReduceMean: own("input and output quantized, axes kept as they are"),
  ReduceSum: own("input and output quantized, axes kept as they are"),
  MaxPool: shared("selects input values: output shares the input's parameters"),
  GlobalMaxPool: shared("selects input values: output shares the input's parameters"),
  ReduceMax: shared("selects input values: output shares the input's parameters"),
  ReduceMin: shared("selects input values: output shares the input's parameters"),
};
