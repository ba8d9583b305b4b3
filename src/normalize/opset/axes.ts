/**
 * `axes` attribute → int64 `axes` input: Squeeze/Unsqueeze at 13, ReduceSum
 * at 13, the other Reduce ops at 18. No attribute means "all axes" (Squeeze,
 * Reduce) both before and after, so no input is added then.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

export const axesAttrToInput: Adapter = (node, ctx) => {
  const axes = node.attrInts("axes");
  node.attrs.delete("axes");
  if (!axes) {
    if (node.opType === "Unsqueeze") return ctx.fail(node, "has no axes");
    return;
  }
  ctx.setInputs(node, [node.inputs[0], ctx.addInts(ctx.base(node, "axes"), axes)]);
};
