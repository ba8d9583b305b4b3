/**
 * Binary ops before opset 7 (Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal,
 * Greater, Less) broadcast only when `broadcast=1`, aligning B with A at
 * `axis` instead of at the trailing dims. From 7 they use numpy rules, which
 * agree once B carries trailing 1s up to A's rank.
 *
 * @module
 */
import { Node } from "../../ir/node.ts";
import type { Adapter } from "./_context.ts";

export const legacyBroadcast: Adapter = (node, ctx) => {
  const bcast = node.attrInt("broadcast", 0) === 1;
  const axis = node.attrInt("axis");
  for (const k of ["broadcast", "axis", "consumed_inputs"]) node.attrs.delete(k);
  if (!bcast || axis === undefined) return;
  const [a, b] = node.inputs;
  const ra = ctx.rank(a), rb = ctx.rank(b);
  if (ra === undefined || rb === undefined) {
    return ctx.fail(node, "broadcasts at an axis between inputs of unknown rank");
  }
  const trailing = ra - (axis < 0 ? axis + ra : axis) - rb;
  if (trailing < 0) return ctx.fail(node, `broadcasts a rank-${rb} input at axis ${axis} of a rank-${ra} input`);
  if (trailing === 0) return;
  const ones = Array<number>(trailing).fill(1);
  const t = ctx.constant(b);
  const b2 = ctx.uniqueName(`${b}_bcast`);
  if (t) ctx.graph.addInitializer(t.reshape([...t.dims, ...ones], b2));
  else {
    const axes = ones.map((_, i) => rb + i);
    const attrs = { axes: { type: "ints" as const, value: axes } };
    // Written as Unsqueeze-1; the driver upgrades it with the rest.
    ctx.insert(new Node({ opType: "Unsqueeze", inputs: [b], outputs: [b2], attrs }), { before: node }, 1);
  }
  ctx.setInputs(node, [a, b2]);
};
