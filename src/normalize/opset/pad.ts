/**
 * Pad's padding moved from attributes to inputs: Pad-1 `paddings` was
 * renamed `pads` in Pad-2; Pad-11 takes `pads` (int64) and `constant_value`
 * (the input's type) as inputs.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

/** Pad-1 → Pad-2: `paddings` is renamed `pads`, same layout. */
export const padRenamePaddings: Adapter = (node) => {
  const p = node.attrs.get("paddings");
  if (p) {
    node.attrs.delete("paddings");
    node.attrs.set("pads", p);
  }
};

/** Pad-2 → Pad-11: `pads` and `value` become inputs; 0 stays the default fill. */
export const padAttrsToInputs: Adapter = (node, ctx) => {
  const pads = node.attrInts("pads");
  if (!pads) return ctx.fail(node, "has no pads");
  const value = node.attrFloat("value", 0);
  const mode = node.attrString("mode", "constant");
  node.attrs.delete("pads");
  node.attrs.delete("value");
  let fill = "";
  if (mode === "constant" && value !== 0) {
    const dtype = ctx.dtype(node.inputs[0]) ?? "float32";
    if (dtype === "string") return ctx.fail(node, "pads a string tensor with a value");
    fill = ctx.addInitializer(ctx.base(node, "value"), dtype, [], [value]);
  }
  ctx.setInputs(node, [node.inputs[0], ctx.addInts(ctx.base(node, "pads"), pads), fill]);
};
