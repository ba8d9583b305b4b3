/**
 * Wording shared by the rules, so messages name nodes and values alike.
 *
 * @module
 */
import type { Node } from "../../ir/node.ts";
import type { QuantizedTensor } from "../_qdq.ts";

/** `Conv "conv1"`, or `Conv writing "y"` for an unnamed node. */
export function describe(n: Node): string {
  return n.name ? `${n.opType} "${n.name}"` : `${n.opType} writing "${n.outputs[0] ?? "?"}"`;
}

/** `weight "w" of Conv "c1"`, `activation "x"`, `bias "b" of Conv "c1"`, `constant "k" of Add "a"`. */
export function describeTensor(t: QuantizedTensor): string {
  const user = t.role === "activation" ? undefined : t.consumers[0];
  return `${t.role} "${t.value}"${user ? ` of ${describe(user)}` : ""}`;
}

/** The node a finding about a quantized tensor points at: the op using a weight or bias, else the Q/DQ. */
export function anchor(t: QuantizedTensor): Node {
  return (t.role === "weight" || t.role === "bias") && t.consumers[0] ? t.consumers[0] : t.nodes[0];
}

/** The first `max` items, then "and N more". */
export function listSome(items: readonly string[], max = 4): string {
  if (items.length <= max) return items.join(", ");
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** A number short enough for a message (`0.0123`, `1e-40`). */
export function num(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}
