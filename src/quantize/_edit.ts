/**
 * Graph edits for QDQ insertion: deterministic unique names, initializers,
 * and QuantizeLinear/DequantizeLinear nodes, named as ONNX Runtime names
 * them (`<v>_quantized`, `<v>_dequantized`, `<v>_scale`, `<v>_zero_point`).
 *
 * @module
 */
import type { DType } from "../ir/dtype.ts";
import type { Graph } from "../ir/graph.ts";
import { Node } from "../ir/node.ts";
import { Tensor, type TypedArray } from "../ir/tensor.ts";

/** Q/DQ counts per op type, as reports show them. */
export type QdqCounts = Map<string, { quantizeLinear: number; dequantizeLinear: number }>;

/** Adds names, initializers and Q/DQ nodes to one graph. */
export class QdqEditor {
  readonly graph: Graph;
  readonly counts: QdqCounts = new Map();
  #used: Set<string>;

  constructor(graph: Graph) {
    this.graph = graph;
    this.#used = new Set(graph.initializers.keys());
    for (const v of [...graph.inputs, ...graph.outputs]) this.#used.add(v.name);
    for (const n of graph.nodes) for (const s of [n.name, ...n.inputs, ...n.outputs]) this.#used.add(s);
  }

  /** `base`, or `base_1`, `base_2`… if taken; the name is reserved. */
  name(base: string): string {
    let n = base;
    for (let i = 1; this.#used.has(n); i++) n = `${base}_${i}`;
    this.#used.add(n);
    return n;
  }

  /** Adds an initializer under a fresh name derived from `base`; returns the name. */
  init(base: string, dims: readonly number[], data: TypedArray, dtype?: DType): string {
    const name = this.name(base);
    this.graph.addInitializer(Tensor.fromArray(name, dims, data, dtype));
    return name;
  }

  /** A QuantizeLinear or DequantizeLinear node, counted for `opType`. */
  qdq(kind: "QuantizeLinear" | "DequantizeLinear", base: string, inputs: string[], output: string, opType: string, axis?: number): Node {
    const c = this.counts.get(opType) ?? { quantizeLinear: 0, dequantizeLinear: 0 };
    if (kind === "QuantizeLinear") c.quantizeLinear++;
    else c.dequantizeLinear++;
    this.counts.set(opType, c);
    return new Node({
      opType: kind,
      name: this.name(`${base}_${kind}`),
      inputs,
      outputs: [output],
      attrs: axis === undefined ? {} : { axis: { type: "int", value: axis } },
    });
  }
}

/** Bytes held by a graph's initializers. */
export function initializerBytes(graph: Graph): number {
  let n = 0;
  for (const t of graph.initializers.values()) n += t.byteLength;
  return n;
}
