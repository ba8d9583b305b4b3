/**
 * Geometry of conv-like and element-wise ops, read from attributes, weights
 * (through their DequantizeLinear) and known shapes, for `op-limits`.
 *
 * @module
 */
import type { Node } from "../../ir/node.ts";
import type { OpLimits } from "../../targets/types.ts";
import type { RuleContext } from "../context.ts";

/** Spatial kernel size of a conv or pool, when known. */
export function kernelOf(n: Node, ctx: RuleContext): number[] | undefined {
  const k = n.attrInts("kernel_shape");
  if (k) return k;
  if (n.opType !== "Conv" && n.opType !== "ConvTranspose") return undefined;
  return ctx.constantThroughDq(n.inputs[1])?.dims.slice(2);
}

/** Input and output channels (features) of a weighted op, and its group count. */
export function channelsOf(n: Node, ctx: RuleContext): { in: number; out: number; group: number } | undefined {
  const w = ctx.constantThroughDq(n.inputs[1] ?? "")?.dims;
  if (!w) return undefined;
  const group = n.attrInt("group", 1);
  switch (n.opType) {
    case "Conv":
      return w.length >= 2 ? { in: w[1] * group, out: w[0], group } : undefined;
    case "ConvTranspose":
      return w.length >= 2 ? { in: w[0], out: w[1] * group, group } : undefined;
    case "Gemm":
      if (w.length !== 2) return undefined;
      return n.attrInt("transB", 0) ? { in: w[1], out: w[0], group } : { in: w[0], out: w[1], group };
    case "MatMul":
      return w.length >= 2 ? { in: w[w.length - 2], out: w[w.length - 1], group } : undefined;
  }
  return undefined;
}

/** Broadcast kinds from the strictest to the loosest. */
export const BROADCAST_ORDER: readonly NonNullable<OpLimits["broadcast"]>[] = ["none", "scalar", "per-channel", "numpy"];

/** Ops whose inputs broadcast against each other. */
export const BROADCASTING: ReadonlySet<string> = new Set([
  "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu", "Where",
  "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Mod",
]);

/**
 * The loosest broadcast the inputs of a node need: "none" (equal shapes),
 * "scalar" (one element), "per-channel" (only axis 1 of the output), or
 * "numpy" (anything else). Every shape must be known.
 */
export function broadcastNeeded(shapes: readonly (readonly number[])[]): NonNullable<OpLimits["broadcast"]> {
  const rank = Math.max(...shapes.map((s) => s.length));
  const pad = (s: readonly number[]) => [...Array(rank - s.length).fill(1), ...s];
  const full = shapes.map(pad).reduce((a, b) => a.map((d, i) => Math.max(d, b[i])));
  let need = 0;
  for (const s of shapes.map(pad)) {
    const kind = s.every((d, i) => d === full[i])
      ? 0
      : s.every((d) => d === 1)
      ? 1
      : rank >= 2 && s.every((d, i) => d === 1 || (i === 1 && d === full[1]))
      ? 2
      : 3;
    need = Math.max(need, kind);
  }
  return BROADCAST_ORDER[need];
}
