/**
 * The model's quantized tensors, each seen once: a QuantizeLinear with the
 * DequantizeLinear nodes that read it back (an activation), or a
 * DequantizeLinear of an integer initializer (a weight, a bias, or another
 * constant). Rules check these records, not single Q/DQ nodes, so a Q → DQ
 * pair is reported once.
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import { dtypeFromOnnx } from "../ir/dtype.ts";
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import type { Tensor } from "../ir/tensor.ts";
import { WEIGHTED } from "./_ops.ts";

/** What a quantized tensor is to the ops that read it. */
export type QuantRole = "activation" | "weight" | "bias" | "constant";

/** One quantized tensor and the Q/DQ nodes that carry it. */
export interface QuantizedTensor {
  /** The float value quantized (QuantizeLinear input), or the integer initializer (DequantizeLinear input). */
  value: string;
  role: QuantRole;
  /** QuantizeLinear first, then the DequantizeLinear nodes reading it; or the one DequantizeLinear. */
  nodes: Node[];
  /** Nodes reading the dequantized value (for weights and biases: the Conv, Gemm, … using them). */
  consumers: Node[];
  /** Integer type of the quantized data, when known. */
  dtype: DType | undefined;
  scaleName: string;
  /** Scale values, when the scale is a constant. */
  scale?: Float64Array;
  zeroPointName?: string;
  /** Zero point tensor, when present and constant. */
  zeroPoint?: Tensor;
  /** More than one scale: per-axis (per-channel) quantization. */
  perChannel: boolean;
  /** Quantized axis (per-channel only; negative axes as written). */
  axis?: number;
  /** The integer initializer (constant roles). */
  data?: Tensor;
}

/** Lookups the analysis needs from its context. */
export interface QdqLookups {
  graph: Graph;
  constant(value: string): Tensor | undefined;
  dtype(value: string): DType | undefined;
}

/** Every quantized tensor of the graph, in node order. */
export function quantizedTensors(nodes: readonly Node[], c: QdqLookups): QuantizedTensor[] {
  const g = c.graph;
  const out: QuantizedTensor[] = [];
  const absorbed = new Set<Node>();
  const readers = (dqs: Node[]) => dqs.flatMap((dq) => [...g.consumers(dq.outputs[0])]);
  for (const q of nodes) {
    if (q.opType !== "QuantizeLinear") continue;
    const dqs = g.consumers(q.outputs[0]).filter((n) =>
      n.opType === "DequantizeLinear" && n.inputs[1] === q.inputs[1] && (n.inputs[2] ?? "") === (q.inputs[2] ?? "")
    );
    dqs.forEach((dq) => absorbed.add(dq));
    const code = q.attrInt("output_dtype", 0);
    const dtype = (code ? dtypeFromOnnx(code) : undefined) ?? c.dtype(q.outputs[0]);
    out.push(record(q, q.inputs[0], "activation", [q, ...dqs], readers(dqs), dtype, c));
  }
  for (const dq of nodes) {
    if (dq.opType !== "DequantizeLinear" || absorbed.has(dq)) continue;
    const x = dq.inputs[0];
    const data = c.constant(x);
    const users = [...g.consumers(dq.outputs[0])];
    const dtype = data?.dtype ?? c.dtype(x);
    out.push({ ...record(dq, x, data ? constantRole(dq.outputs[0], users) : "activation", [dq], users, dtype, c), data });
  }
  return out;
}

function record(
  node: Node,
  value: string,
  role: QuantRole,
  nodes: Node[],
  consumers: Node[],
  dtype: DType | undefined,
  c: QdqLookups,
): QuantizedTensor {
  const scaleName = node.inputs[1] ?? "";
  const s = c.constant(scaleName);
  const zeroPointName = node.inputs[2] || undefined;
  const zeroPoint = zeroPointName ? c.constant(zeroPointName) : undefined;
  const scale = s ? s.toFloat64() : undefined;
  const perChannel = (s?.dims.length ?? 0) > 0 && (scale?.length ?? 0) > 1;
  return {
    value,
    role,
    nodes,
    consumers,
    dtype,
    scaleName,
    scale,
    zeroPointName,
    zeroPoint,
    perChannel,
    axis: perChannel ? node.attrInt("axis", 1) : undefined,
  };
}

/** Weight or bias when some reader takes the value at its weight or bias input. */
function constantRole(v: string, users: readonly Node[]): QuantRole {
  let role: QuantRole = "constant";
  for (const n of users) {
    const w = WEIGHTED[n.opType];
    if (!w) continue;
    if (n.inputs[w.weight] === v) return "weight";
    if (w.bias !== undefined && n.inputs[w.bias] === v) role = "bias";
  }
  return role;
}
