/**
 * Dropout is the identity at inference, and its versions disagree on
 * attributes (is_test, ratio) and on the mask type (T before 10, bool
 * after). When the mask is unused the node is removed: its readers read its
 * input instead (or it becomes an Identity when its output is a graph
 * output). A read mask is refused below 12, where its inference value was
 * unspecified.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

export const dropoutUpgrade: Adapter = (node, ctx, step) => {
  const g = ctx.graph;
  const mask = node.outputs[1];
  const maskUsed = !!mask && (g.consumers(mask).length > 0 || g.isOutput(mask));
  if (!maskUsed) {
    const [x] = node.inputs;
    const [y] = node.outputs;
    for (const extra of node.inputs.slice(1)) if (extra) ctx.released.add(extra);
    if (g.isOutput(y)) {
      node.opType = "Identity";
      node.inputs = [x];
      node.outputs = [y];
      node.attrs.clear();
      g.invalidate();
      return node;
    }
    g.replaceUses(y, x);
    g.removeNodes([node]);
    return null;
  }
  // What the mask holds at inference was unspecified before 12 (ONNX Runtime
  // returns all false there, all true from 12), so a read mask cannot be kept.
  if (step <= 12) return ctx.fail(node, "reads its mask output, unspecified at inference before opset 12");
};
