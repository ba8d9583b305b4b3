/**
 * Small matching helpers the fusions share. Private to src/passes/fusions/.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import { constantOf, scalarOf, soleReader } from "../_graph.ts";


/** Whether `x` is within a float32 rounding of `want` (exports write 1/6 as 0.1666667). */
export function near(x: number | undefined, want: number): boolean {
  return x !== undefined && Math.abs(x - want) <= 1e-6 * Math.max(1, Math.abs(want));
}

/** The producer of `value` when it is of `opType` (default domain). */
export function producedBy(graph: Graph, value: string | undefined, opType: string | readonly string[]): Node | undefined {
  if (!value) return undefined;
  const p = graph.producer(value);
  if (!p || p.domain !== "") return undefined;
  return (typeof opType === "string" ? p.opType === opType : opType.includes(p.opType)) ? p : undefined;
}

/** For a binary node with a constant operand: the index of the other (data) input, else -1. */
export function dataInput(graph: Graph, node: Node): number {
  if (node.inputs.length !== 2) return -1;
  const c0 = !!constantOf(graph, node.inputs[0]), c1 = !!constantOf(graph, node.inputs[1]);
  if (c0 === c1) return -1;
  // Sub and Div are not symmetric: only x − c and x / c are affine in x.
  if (c0 && (node.opType === "Sub" || node.opType === "Div")) return -1;
  return c0 ? 1 : 0;
}
