/**
 * `op-not-supported`: an op the target has no integer kernel for. On a
 * target with float fallback the op still runs, in float: a warning.
 *
 * @module
 */
import type { Graph } from "../../ir/graph.ts";
import type { Node } from "../../ir/node.ts";
import { isDefaultDomain } from "../_ops.ts";
import type { Rule } from "../rule.ts";
import { describe } from "./_describe.ts";

/** The key of an op in a profile's `ops`: its type, or `domain.type` outside the ONNX domain. */
export function opKey(n: Node): string {
  return isDefaultDomain(n.domain) ? n.opType : `${n.domain}.${n.opType}`;
}

/** Every data op must be in the profile's op set. */
export const opNotSupported: Rule = {
  id: "op-not-supported",
  severity: "error",
  title: "Op not in the target's integer op set",
  hint: "replace the op by one that {target} runs (`edgeq targets {target}` lists them), or choose a target that runs it",
  check(ctx) {
    const { ops, floatFallback, name } = ctx.profile;
    return ctx.dataNodes.filter((n) => !Object.hasOwn(ops, opKey(n))).map((n) => ({
      node: n.label,
      message: floatFallback
        ? `${describe(n)}: ${opKey(n)} is not in ${name}'s integer op set, so it runs in float`
        : `${describe(n)}: ${name} has no integer kernel for ${opKey(n)}${n.opType === "If" && isDefaultDomain(n.domain) ? `; ${whyIf(n, ctx.graph)}` : ""}`,
      severity: floatFallback ? "warning" : "error",
    }));
  },
};

/**
 * What an If's condition is computed from, and so what would remove it: a
 * frozen input (`--input-value`), static shapes (`--input-shape`), or
 * nothing — a condition computed from data is control flow at run time.
 */
function whyIf(n: Node, g: Graph): string {
  const inputs = new Set<string>();
  let shapes = false;
  let data = false;
  const seen = new Set<string>();
  const todo = [n.inputs[0]];
  while (todo.length) {
    const v = todo.pop()!;
    if (!v || seen.has(v) || g.initializers.has(v)) continue;
    seen.add(v);
    const p = g.producer(v);
    if (!p) {
      inputs.add(v);
      continue;
    }
    if (p.opType === "Shape" || p.opType === "Size") shapes = true;
    else todo.push(...p.inputs);
  }
  const named = [...inputs].map((i) => `"${i}"`).join(", ");
  for (const i of inputs) {
    const info = g.inputs.find((x) => x.name === i);
    if (!info?.dtype || info.dtype.startsWith("float") || (info.shape?.length ?? 0) > 1) data = true;
  }
  if (!inputs.size && shapes) return "its condition comes from tensor shapes: fix them (--input-shape) and it folds to one branch";
  if (inputs.size && !data && !shapes) return `its condition comes from input ${named} alone: freeze it (--input-value ${[...inputs][0]}=…) and the If folds to one branch`;
  return `its condition is computed from ${inputs.size ? `input ${named}` : "the data"} at run time, so the If cannot fold (a host/device --split keeps it on the host)`;
}
