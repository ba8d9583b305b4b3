/**
 * `float-island`: on a target without float fallback every op between the
 * graph's input and output computes in integers, so each float input must
 * come from a DequantizeLinear and each float output must go only to
 * QuantizeLinear (or to ops that read just its shape). Constant parameters
 * (Clip bounds, Resize scales, Pow exponents) are attributes of the op, not
 * data, and stay as they are; a weighted op's weight is data.
 *
 * @module
 */
import type { Node } from "../../ir/node.ts";
import type { RuleContext } from "../context.ts";
import { METADATA_OPS, WEIGHTED } from "../_ops.ts";
import type { Finding, Rule } from "../rule.ts";
import { describe, listSome } from "./_describe.ts";

/** Every data op of an integer-only target sits between DequantizeLinear and QuantizeLinear. */
export const floatIsland: Rule = {
  id: "float-island",
  severity: "error",
  title: "Op computes in float on an integer-only target",
  hint: "quantize with --target {target} so every op gets QuantizeLinear/DequantizeLinear, or replace ops that have no integer form",
  applies: (p) => !p.floatFallback,
  check(ctx) {
    const out: Finding[] = [];
    for (const n of ctx.dataNodes) {
      const why = [...floatInputs(n, ctx), ...floatOutputs(n, ctx)];
      if (why.length) out.push({ node: n.label, message: `${describe(n)} computes in float: ${listSome(why, 3)}` });
    }
    return out;
  },
};

function floatInputs(n: Node, ctx: RuleContext): string[] {
  const g = ctx.graph;
  const weight = WEIGHTED[n.opType]?.weight;
  const why: string[] = [];
  n.inputs.forEach((v, i) => {
    if (!v || !ctx.isFloat(v)) return;
    if (ctx.constant(v)) {
      if (i === weight) why.push(`weight "${v}" is float`);
      return;
    }
    const p = g.producer(v);
    if (p?.opType === "DequantizeLinear") return;
    why.push(p ? `input "${v}" comes from ${describe(p)} in float` : `input "${v}" is a float graph input, not quantized`);
  });
  return why;
}

function floatOutputs(n: Node, ctx: RuleContext): string[] {
  const g = ctx.graph;
  const why: string[] = [];
  for (const v of n.outputs) {
    if (!v || !ctx.isFloat(v)) continue;
    if (g.isOutput(v)) {
      why.push(`output "${v}" is a float graph output`);
      continue;
    }
    const readers = g.consumers(v).filter((c) => c.opType !== "QuantizeLinear" && !METADATA_OPS.has(c.opType));
    if (readers.length) why.push(`output "${v}" is read in float by ${listSome(readers.map(describe), 2)}`);
  }
  return why;
}
