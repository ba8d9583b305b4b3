/**
 * Clip-6 → Clip-11: the `min`/`max` attributes become inputs of the input's
 * type. An absent bound stays absent (an omitted input), which Clip-11 reads
 * as "unbounded", as Clip-6 read its ±FLT_MAX defaults.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

export const clipBoundsToInputs: Adapter = (node, ctx) => {
  const min = node.attrFloat("min");
  const max = node.attrFloat("max");
  node.attrs.delete("min");
  node.attrs.delete("max");
  const dtype = ctx.dtype(node.inputs[0]) ?? "float32";
  if (!dtype.startsWith("float") && dtype !== "bfloat16") return ctx.fail(node, `clips a ${dtype} tensor`);
  const bound = (v: number | undefined, which: string) =>
    v === undefined ? "" : ctx.addInitializer(ctx.base(node, which), dtype, [], [v]);
  ctx.setInputs(node, [node.inputs[0], bound(min, "min"), bound(max, "max")]);
};
