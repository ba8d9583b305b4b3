/**
 * BatchNormalization lost `is_test` at 7 and `spatial` at 9 (always
 * per-channel from then on); at 14 the optional outputs became the running
 * statistics of training mode. Inference models use output 0 only.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

/** BatchNormalization-6 → 7: `is_test` goes; inference is the only mode kept. */
export const batchNormDropIsTest: Adapter = (node) => {
  node.attrs.delete("is_test");
};

/** BatchNormalization-7 → 9: `spatial=1` (the default) is what 9 always does. */
export const batchNormSpatial: Adapter = (node, ctx) => {
  if (node.attrInt("spatial", 1) !== 1) return ctx.fail(node, "normalizes per activation (spatial=0)");
  node.attrs.delete("spatial");
};

/** BatchNormalization-9 → 14: unused training outputs are dropped. */
export const batchNormInferenceOutputs: Adapter = (node, ctx) => {
  const g = ctx.graph;
  const extra = node.outputs.slice(1).filter((o) => o && (g.consumers(o).length > 0 || g.isOutput(o)));
  if (extra.length) return ctx.fail(node, `reads training output "${extra[0]}"`);
  node.outputs = node.outputs.slice(0, 1);
  g.invalidate();
};
