/**
 * Graph and number helpers the passes share. Private to src/passes/.
 *
 * @module
 */
import type { Graph } from "../ir/graph.ts";
import type { Node } from "../ir/node.ts";
import type { Tensor } from "../ir/tensor.ts";

/** A constant initializer no graph input may override. */
export function constantOf(graph: Graph, name: string | undefined): Tensor | undefined {
  if (!name || graph.inputs.some((i) => i.name === name)) return undefined;
  return graph.constant(name);
}

/** The value of a one-element float constant, or `undefined`. */
export function scalarOf(graph: Graph, name: string | undefined): number | undefined {
  const t = constantOf(graph, name);
  if (!t || t.size !== 1 || (t.dtype !== "float32" && t.dtype !== "float64")) return undefined;
  return t.toFloat64()[0];
}

/** The one node that reads `value`, when exactly one does and it is not a graph output. */
export function soleReader(graph: Graph, value: string): Node | undefined {
  const r = graph.consumers(value);
  return r.length === 1 && !graph.isOutput(value) ? r[0] : undefined;
}

/** Largest over smallest channel range, among channels above 1e-6 of the largest (dead channels say nothing). */
export function spread(r: ArrayLike<number>): number {
  let hi = 0;
  for (let j = 0; j < r.length; j++) if (r[j] > hi) hi = r[j];
  let lo = hi;
  for (let j = 0; j < r.length; j++) if (r[j] > hi * 1e-6 && r[j] < lo) lo = r[j];
  return hi > 0 ? hi / lo : 1;
}

/** The middle element (the upper one of two), 0 for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}
