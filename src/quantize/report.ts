/**
 * What {@linkcode quantize} reports: per op type counts, skipped nodes with
 * reasons, folded activations, weight channels without a usable scale,
 * saturated bias values, and initializer bytes before and after.
 *
 * @module
 */
import type { QdqCounts } from "./_edit.ts";
import type { DetailedPlan } from "./_plan.ts";
import type { QuantizeOptions } from "./types.ts";

/** Channels of one weight that had no usable scale. */
export interface ChannelNote {
  node: string;
  weight: string;
  channels: number[];
}

/** Nodes and inserted Q/DQ of one op type. */
export interface OpCounts {
  nodes: number;
  quantized: number;
  /** QuantizeLinear/DequantizeLinear inserted on behalf of this op type. */
  quantizeLinear: number;
  dequantizeLinear: number;
}

/** What `quantize` did. */
export interface QuantizeReport {
  options: QuantizeOptions;
  ops: Record<string, OpCounts>;
  quantizeLinear: number;
  dequantizeLinear: number;
  /** Nodes left float, with the reason. */
  skipped: { node: string; opType: string; reason: string }[];
  /** Relu/Clip removed: the quantized op before them clamps the same way. */
  folded: { node: string; into: string }[];
  weights: {
    tensors: number;
    /** Weights with per-channel scales. */
    perChannel: number;
    /** Channels whose weights are all exactly zero (scale 1). */
    zeroChannels: ChannelNote[];
    /** Channels with max |w| > 0 but a scale below MIN_SCALE, e.g. denormal weights (scale 1, quantized to 0). */
    tinyChannels: ChannelNote[];
    /** Channels whose scale the bias-overflow guard raised so their int32 bias fits. */
    raisedChannels: ChannelNote[];
  };
  bias: {
    tensors: number;
    values: number;
    /** Bias values clamped to int32 (never wrapped). */
    saturated: number;
    /** Bias tensors with at least one saturated value. */
    saturatedTensors: string[];
    /** Biases kept float, with the reason. */
    float: { node: string; reason: string }[];
  };
  /** Initializer bytes (which dominate the file) before and after. */
  bytes: { before: number; after: number };
}

/** A report with nothing counted yet. */
export function emptyReport(options: QuantizeOptions, before: number): QuantizeReport {
  // Pinned scales are the pass's business (its own report), not an option a reader set.
  const { weightScales: _, ...rest } = options;
  return {
    options: rest,
    ops: {},
    quantizeLinear: 0,
    dequantizeLinear: 0,
    skipped: [],
    folded: [],
    weights: { tensors: 0, perChannel: 0, zeroChannels: [], tinyChannels: [], raisedChannels: [] },
    bias: { tensors: 0, values: 0, saturated: 0, saturatedTensors: [], float: [] },
    bytes: { before, after: before },
  };
}

/** Fills per-op-type node and Q/DQ counts and the skipped list. */
export function fillCounts(report: QuantizeReport, plan: DetailedPlan, counts: QdqCounts): void {
  for (const np of plan.nodes) {
    const op = (report.ops[np.node.opType] ??= { nodes: 0, quantized: 0, quantizeLinear: 0, dequantizeLinear: 0 });
    op.nodes++;
    if (np.quantized) op.quantized++;
    else report.skipped.push({ node: np.node.label, opType: np.node.opType, reason: np.reason ?? np.rule.note });
  }
  for (const [opType, c] of counts) {
    const op = (report.ops[opType] ??= { nodes: 0, quantized: 0, quantizeLinear: 0, dequantizeLinear: 0 });
    op.quantizeLinear += c.quantizeLinear;
    op.dequantizeLinear += c.dequantizeLinear;
    report.quantizeLinear += c.quantizeLinear;
    report.dequantizeLinear += c.dequantizeLinear;
  }
}
