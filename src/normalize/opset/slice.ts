/**
 * Slice-1 → Slice-10: `starts`, `ends` and `axes` attributes become int64
 * inputs. Exporters write "to the end" as INT64_MAX, which the IR holds as
 * 2^63; it is written back as INT64_MAX.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

export const sliceAttrsToInputs: Adapter = (node, ctx) => {
  const starts = node.attrInts("starts");
  const ends = node.attrInts("ends");
  const axes = node.attrInts("axes");
  if (!starts || !ends || starts.length !== ends.length) return ctx.fail(node, "has no matching starts and ends");
  for (const k of ["starts", "ends", "axes"]) node.attrs.delete(k);
  ctx.setInputs(node, [
    node.inputs[0],
    ctx.addInts(ctx.base(node, "starts"), starts),
    ctx.addInts(ctx.base(node, "ends"), ends),
    axes ? ctx.addInts(ctx.base(node, "axes"), axes) : "",
  ]);
};
