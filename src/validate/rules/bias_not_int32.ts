/**
 * `bias-not-int32`: a Conv/ConvTranspose/Gemm bias, or the constant Add
 * after a MatMul, that is float (or a non-int32 integer) on a target whose
 * integer kernels take an int32 bias with scale input scale × weight scale.
 *
 * @module
 */
import type { Node } from "../../ir/node.ts";
import type { RuleContext } from "../context.ts";
import { WEIGHTED } from "../_ops.ts";
import type { Finding, Rule } from "../rule.ts";
import { describe } from "./_describe.ts";

/** Biases are int32 DequantizeLinear inputs, where the profile asks for it. */
export const biasNotInt32: Rule = {
  id: "bias-not-int32",
  severity: "error",
  title: "Bias is not int32",
  hint: "quantize with --target {target} (int32 bias, scale = input scale × weight scale)",
  applies: (p) => p.bias === "int32",
  check(ctx) {
    const out: Finding[] = [];
    for (const n of ctx.nodes) {
      // A layer the target lets stay float (its weight is not dequantized) keeps a float bias.
      if (ctx.profile.floatFallback && !readsQuantizedWeight(n, ctx)) continue;
      const b = WEIGHTED[n.opType]?.bias;
      if (b !== undefined && n.inputs[b]) {
        const why = biasType(n.inputs[b], ctx);
        if (why) out.push({ node: n.label, value: n.inputs[b], message: `${describe(n)}: bias "${n.inputs[b]}" ${why}` });
      }
      if (n.opType === "MatMul") {
        const f = matmulFloatBias(n, ctx);
        if (f) out.push(f);
      }
    }
    return out;
  },
};

/** Whether the node's weight input comes from a DequantizeLinear. */
function readsQuantizedWeight(n: Node, ctx: RuleContext): boolean {
  const w = WEIGHTED[n.opType]?.weight ?? 1;
  return ctx.graph.producer(n.inputs[w] ?? "")?.opType === "DequantizeLinear";
}

/** Why a bias value is not int32, or `undefined` when it is. */
function biasType(v: string, ctx: RuleContext): string | undefined {
  const p = ctx.graph.producer(v);
  if (p?.opType === "DequantizeLinear") {
    const dt = ctx.constant(p.inputs[0])?.dtype ?? ctx.dtype(p.inputs[0]);
    return dt === "int32" ? undefined : `is ${dt ?? "of unknown type"} (dequantized), not int32`;
  }
  return ctx.isFloat(v) ? "is float, not int32" : undefined;
}

/** A MatMul followed by an Add of a float constant vector: a bias left float. */
function matmulFloatBias(n: Node, ctx: RuleContext): Finding | undefined {
  const readers = ctx.graph.consumers(n.outputs[0]);
  if (readers.length !== 1 || readers[0].opType !== "Add") return undefined;
  const add = readers[0];
  const other = add.inputs.find((v) => v !== n.outputs[0]);
  const c = other ? ctx.constant(other) : undefined;
  if (!c || c.dims.length > 1 || !ctx.isFloat(other!)) return undefined;
  return {
    node: add.label,
    value: other,
    message: `${describe(add)} adds float bias "${other}" to ${describe(n)}: not int32`,
  };
}
