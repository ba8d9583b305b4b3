/**
 * Per-output-channel weight ranges of Conv, ConvTranspose, Gemm and MatMul:
 * the facts that predict per-tensor failure (very different channel ranges)
 * and int32 bias overflow (channels whose weights are all near zero).
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import type { Tensor } from "../ir/tensor.ts";

/** Channels whose max |w| is below this count as near zero (weight scale ~1e-9). */
export const NEAR_ZERO = 1e-7;

/** Range summary of one layer's weight, per output channel. */
export interface WeightChannels {
  node: string;
  opType: string;
  weight: string;
  dims: number[];
  /** Axis of the output channels in the weight tensor. */
  axis: number;
  channels: number;
  /** min / median / max over channels of max |w|. */
  min: number;
  median: number;
  max: number;
  /** max / min over channels whose max |w| is not zero (Infinity when one is denormal-small). */
  ratio: number;
  /** Channels whose weights are all exactly zero. */
  zero: number[];
  /** Channels with 0 < max |w| < {@linkcode NEAR_ZERO}. */
  nearZero: number[];
}

/** The weight input and output-channel layout of a layer, or undefined. */
export function weightLayout(node: Node, graph: Graph): { weight: Tensor; axis: number; groups: number } | undefined {
  if (node.domain !== "") return undefined;
  const w = graph.constant(node.inputs[1] ?? "");
  if (!w || (w.dtype !== "float32" && w.dtype !== "float16")) return undefined;
  switch (node.opType) {
    case "Conv":
      return { weight: w, axis: 0, groups: 1 };
    case "ConvTranspose":
      return { weight: w, axis: 1, groups: node.attrInt("group", 1) };
    case "Gemm":
      return w.dims.length === 2 ? { weight: w, axis: node.attrInt("transB", 0) ? 0 : 1, groups: 1 } : undefined;
    case "MatMul":
      return w.dims.length >= 2 ? { weight: w, axis: w.dims.length - 1, groups: 1 } : undefined;
  }
  return undefined;
}

/**
 * Max |w| of each output channel. For a grouped ConvTranspose (weight
 * [C, M/g, k…]) channel j of group gi is output channel gi·M/g + j.
 *
 * @example
 * ```ts
 * channelMaxAbs(Tensor.fromArray("w", [2, 2], new Float32Array([1, -3, 0.5, 0.25])), 0); // Float64Array [3, 0.5]
 * ```
 */
export function channelMaxAbs(weight: Tensor, axis: number, groups = 1): Float64Array {
  const w = weight.toFloat32();
  const dims = weight.dims;
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const perGroup = outer / groups;
  const out = new Float64Array(n * groups);
  for (let o = 0; o < outer; o++) {
    const g = Math.floor(o / perGroup);
    for (let c = 0; c < n; c++) {
      const base = (o * n + c) * inner;
      let m = out[g * n + c];
      for (let k = 0; k < inner; k++) {
        const a = Math.abs(w[base + k]);
        if (a > m) m = a;
      }
      out[g * n + c] = m;
    }
  }
  return out;
}

/**
 * Channel range summaries for every layer with a constant float weight.
 *
 * @example
 * ```ts
 * for (const w of weightChannels(readModel("model.onnx").graph)) if (w.ratio > 1e3) console.log(w.node, w.ratio);
 * ```
 */
export function weightChannels(graph: Graph): WeightChannels[] {
  const out: WeightChannels[] = [];
  for (const node of graph.nodes) {
    const layout = weightLayout(node, graph);
    if (!layout) continue;
    const { weight, axis, groups } = layout;
    const m = channelMaxAbs(weight, axis, groups);
    const sorted = Float64Array.from(m).sort();
    const zero: number[] = [];
    const nearZero: number[] = [];
    m.forEach((v, c) => {
      if (v === 0) zero.push(c);
      else if (v < NEAR_ZERO) nearZero.push(c);
    });
    const nonzero = sorted.filter((v) => v > 0);
    out.push({
      node: node.label,
      opType: node.opType,
      weight: weight.name,
      dims: [...weight.dims],
      axis,
      channels: m.length,
      min: sorted[0],
      median: sorted[sorted.length >> 1],
      max: sorted[sorted.length - 1],
      ratio: nonzero.length ? nonzero[nonzero.length - 1] / nonzero[0] : 0,
      zero,
      nearZero,
    });
  }
  return out;
}
