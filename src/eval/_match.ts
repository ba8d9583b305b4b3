/**
 * Which value of a QDQ model stands for a value of its float model, found
 * from the graph's structure rather than from helper names.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";

/** A float-model value and what the quantized model computes for it. */
export interface ValueMatch {
  /** Name in the float model. */
  value: string;
  /** Name in the quantized model: `value` itself, or the DequantizeLinear output that stands for it. */
  quantized: string;
  /** The node computing it in the quantized model (looking through a trailing Q→DQ pair). */
  node: Node;
}

/**
 * Float (or untyped) node outputs of `fp` that `q` also computes, in `fp`
 * node order. Where `q` quantizes a value (`v → QuantizeLinear →
 * DequantizeLinear`), the DequantizeLinear output is what its readers see, and
 * it is what is compared: the quantizer may have folded a Relu away, so `v`
 * itself can be the unclamped output of the node before.
 */
export function matchValues(fp: Graph, q: Graph): ValueMatch[] {
  const out: ValueMatch[] = [];
  const seen = new Set<string>();
  for (const n of fp.nodes) {
    if (n.opType === "Constant") continue;
    for (const v of n.outputs) {
      if (!v || seen.has(v) || fp.initializers.has(v)) continue;
      const dtype = fp.info(v)?.dtype ?? q.info(v)?.dtype;
      if (dtype && !dtype.startsWith("float") && dtype !== "bfloat16") continue;
      const producer = q.producer(v);
      if (!producer) continue;
      seen.add(v);
      out.push({ value: v, quantized: dequantizedView(q, v) ?? v, node: computingNode(q, producer) });
    }
  }
  return out;
}

/** The output of `v → QuantizeLinear → DequantizeLinear`, if `q` has that chain. */
function dequantizedView(q: Graph, v: string): string | undefined {
  for (const c of q.consumers(v)) {
    if (c.opType !== "QuantizeLinear" || c.inputs[0] !== v) continue;
    const dq = q.consumers(c.outputs[0]).find((d) => d.opType === "DequantizeLinear" && d.inputs[0] === c.outputs[0]);
    if (dq) return dq.outputs[0];
  }
  return undefined;
}

/** The float value behind a DequantizeLinear fed by a QuantizeLinear, or `undefined`. */
export function qdqSource(q: Graph, value: string): string | undefined {
  const dq = q.producer(value);
  if (dq?.opType !== "DequantizeLinear") return undefined;
  const qn = q.producer(dq.inputs[0]);
  return qn?.opType === "QuantizeLinear" ? qn.inputs[0] : undefined;
}

/** `node`, or the node behind it when it is the DequantizeLinear of a Q→DQ pair. */
function computingNode(q: Graph, node: Node): Node {
  let n = node;
  for (let src = qdqSource(q, n.outputs[0]); src !== undefined; src = qdqSource(q, n.outputs[0])) {
    const p = q.producer(src);
    if (!p) break;
    n = p;
  }
  return n;
}
