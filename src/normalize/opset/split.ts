/**
 * Split's `split` sizes moved twice: Split-1 took them as an attribute or a
 * second input, Split-2 only as an attribute, Split-13 only as an input.
 * Split-18 needs `num_outputs` when no sizes are given.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

/** Split-1 → Split-2: a constant `split` input becomes the attribute. */
export const splitInputToAttr: Adapter = (node, ctx) => {
  if (!node.inputs[1]) return;
  const split = ctx.ints(node.inputs[1]);
  if (!split) return ctx.fail(node, "takes its split sizes from a computed value");
  node.attrs.set("split", { type: "ints", value: split });
  ctx.setInputs(node, [node.inputs[0]]);
};

/** Split-11 → Split-13: the `split` attribute becomes an int64 input. */
export const splitAttrToInput: Adapter = (node, ctx) => {
  const split = node.attrInts("split");
  node.attrs.delete("split");
  if (split) ctx.setInputs(node, [node.inputs[0], ctx.addInts(ctx.base(node, "split"), split)]);
};

/** Split-13 → Split-18: an even split is stated with `num_outputs`. */
export const splitNumOutputs: Adapter = (node) => {
  if (!node.inputs[1]) node.attrs.set("num_outputs", { type: "int", value: node.outputs.length });
};
