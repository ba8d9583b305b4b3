/**
 * Which values are 4-D with a known channel count (axis 1), proven from the
 * graph alone, in float and QDQ graphs: those calibration can reduce per
 * channel, and those a lowering pass can give per-axis parameters.
 *
 * @module
 */
import type { Graph } from "./graph.ts";
import { topologicalOrder } from "./graph.ts";
import type { Node } from "./node.ts";

/** Rank, the size of axis 1 when known, and all dims for constants. */
interface Layout {
  rank: number;
  channels?: number;
  dims?: readonly number[];
}

// One float input, same shape out.
const SAME = new Set(
  ("Relu Clip HardSigmoid HardSwish Sigmoid Tanh LeakyRelu Elu Selu Softplus Softsign Sqrt Exp Log Neg Abs " +
    "Erf Gelu Mish Identity Dropout BatchNormalization InstanceNormalization Floor Ceil Round Reciprocal " +
    "QuantizeLinear DequantizeLinear")
    .split(" "),
);
const BROADCAST = new Set(["Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Max", "Min", "Sum", "Mean"]);
const POOL = new Set(["GlobalAveragePool", "GlobalMaxPool", "MaxPool", "AveragePool", "LpPool"]);

/**
 * The channel count of every value that is provably 4-D with a known size
 * of axis 1. Conservative: a value is absent unless each op on its way from
 * a weight or a declared input shape keeps both known (Conv, pools,
 * elementwise ops, QuantizeLinear and DequantizeLinear, broadcasting with
 * constants, Concat, Resize with a constant channel scale of 1).
 *
 * @example
 * ```ts
 * channelCounts(graph).get("conv1_out"); // 16
 * ```
 */
export function channelCounts(graph: Graph): Map<string, number> {
  const known = new Map<string, Layout>();
  for (const v of graph.inputs) {
    if (v.shape) known.set(v.name, { rank: v.shape.length, channels: typeof v.shape[1] === "number" ? v.shape[1] : undefined });
  }
  const of = (name: string | undefined): Layout | undefined => {
    if (!name) return undefined;
    const t = graph.constant(name);
    if (t) return { rank: t.dims.length, channels: t.dims.length >= 2 ? t.dims[1] : undefined, dims: t.dims };
    return known.get(name);
  };
  for (const n of topologicalOrder(graph)) {
    const y = n.outputs[0];
    if (!y || (n.domain !== "" && n.domain !== "ai.onnx")) continue;
    const l = layoutOf(graph, n, of);
    if (l) known.set(y, l);
  }
  const out = new Map<string, number>();
  for (const [v, l] of known) if (l.rank === 4 && l.channels !== undefined && l.channels > 0) out.set(v, l.channels);
  return out;
}

function layoutOf(graph: Graph, n: Node, of: (name: string | undefined) => Layout | undefined): Layout | undefined {
  const x = of(n.inputs[0]);
  if (SAME.has(n.opType)) return x && { rank: x.rank, channels: x.channels, dims: x.dims };
  if (POOL.has(n.opType)) return x && { rank: x.rank, channels: x.channels };
  switch (n.opType) {
    case "Conv": {
      const w = weight(graph, n.inputs[1]);
      return w && w.dims.length >= 3 ? { rank: w.dims.length, channels: w.dims[0] } : undefined;
    }
    case "ConvTranspose": {
      const w = weight(graph, n.inputs[1]);
      return w && w.dims.length >= 3 ? { rank: w.dims.length, channels: w.dims[1] * n.attrInt("group", 1) } : undefined;
    }
    case "Concat": {
      const parts = n.inputs.map(of);
      if (parts.length === 0 || parts.some((p) => !p || p.rank !== parts[0]!.rank)) return undefined;
      const rank = parts[0]!.rank, axis = n.attrInt("axis", 0);
      const cs = parts.map((p) => p!.channels);
      if (cs.some((c) => c === undefined)) return { rank };
      // Along another axis the batch axis may change (a per-channel reduction keeps it).
      return { rank, channels: axis === 1 || axis === 1 - rank ? cs.reduce((a, b) => a! + b!, 0) : undefined };
    }
    case "Resize":
    case "Upsample": {
      if (!x) return undefined;
      // The channel scale, from `scales` (Upsample's second input, Resize's third) or Resize's `sizes`.
      const scales = graph.constant(n.inputs[n.opType === "Upsample" ? 1 : 2]);
      const sizes = n.opType === "Resize" ? graph.constant(n.inputs[3]) : undefined;
      if (sizes && sizes.size === x.rank) return { rank: x.rank, channels: sizes.toNumbers()[1] };
      if (scales && scales.size === x.rank && scales.toNumbers()[1] === 1) return { rank: x.rank, channels: x.channels };
      return { rank: x.rank };
    }
  }
  if (BROADCAST.has(n.opType)) return broadcast(n.inputs.map(of));
  return undefined;
}

/** A weight as stored: an initializer, or the quantized one behind its DequantizeLinear. */
function weight(graph: Graph, name: string | undefined) {
  if (!name) return undefined;
  const t = graph.constant(name);
  if (t) return t;
  const dq = graph.producer(name);
  return dq?.opType === "DequantizeLinear" ? graph.constant(dq.inputs[0]) : undefined;
}

/**
 * Numpy broadcasting of rank and axis 1: operands align on their last axes,
 * and output axis 1 is known when every operand's matching axis is known
 * (a constant's dims, a value's channels) or absent.
 */
function broadcast(ins: (Layout | undefined)[]): Layout | undefined {
  if (ins.length === 0 || ins.some((l) => !l)) return undefined;
  const rank = Math.max(...ins.map((l) => l!.rank));
  if (rank < 2) return { rank };
  let channels = 1;
  for (const l of ins) {
    // A constant that broadcasts the batch axis changes it (per-channel reductions keep it).
    if (rank === 4 && l!.dims && l!.rank === 4 && l!.dims[0] !== 1) return { rank };
    const at = 1 - (rank - l!.rank);
    if (at < 0) continue;
    const c = l!.dims ? l!.dims[at] : at === 1 ? l!.channels : undefined;
    if (c === undefined) return { rank };
    if (c !== 1) {
      if (channels !== 1 && channels !== c) return { rank };
      channels = c;
    }
  }
  return { rank, channels };
}
