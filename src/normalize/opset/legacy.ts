/**
 * Small attribute-to-input moves and renames from the early opsets.
 *
 * @module
 */
import { ONNX_DTYPE_CODE } from "../../ir/dtype.ts";
import type { Adapter } from "./_context.ts";
import { castTarget } from "./_shapes.ts";

/** Many ops lost the `consumed_inputs` optimisation hint at 6 (Reshape at 5). */
export const dropConsumedInputs: Adapter = (node) => {
  node.attrs.delete("consumed_inputs");
};

/** Cast-1 → Cast-6: `to` names a type ("FLOAT") → its TensorProto code. */
export const castToCode: Adapter = (node, ctx) => {
  const a = node.attrs.get("to");
  if (a?.type !== "string") return;
  const dt = castTarget(node);
  if (!dt) return ctx.fail(node, `casts to unknown type "${a.value}"`);
  node.attrs.set("to", { type: "int", value: ONNX_DTYPE_CODE[dt] });
};

/** Concat-1 → Concat-4: `axis` became required; its old default was 1. */
export const concatAxisRequired: Adapter = (node) => {
  if (!node.attrs.has("axis")) node.attrs.set("axis", { type: "int", value: 1 });
};

/** Gemm-6 → Gemm-7: C always broadcasts unidirectionally; `broadcast` goes. */
export const gemmDropBroadcast: Adapter = (node) => {
  node.attrs.delete("broadcast");
};

/** Reshape-1 → Reshape-5: the `shape` attribute becomes an int64 input. */
export const reshapeShapeInput: Adapter = (node, ctx) => {
  const shape = node.attrInts("shape");
  if (!shape) return ctx.fail(node, "has no shape");
  node.attrs.delete("shape");
  node.attrs.delete("consumed_inputs");
  ctx.setInputs(node, [node.inputs[0], ctx.addInts(ctx.base(node, "shape"), shape)]);
};

/** TopK-1 → TopK-10: `k` becomes a one-element int64 input. */
export const topKInput: Adapter = (node, ctx) => {
  const k = node.attrInt("k");
  if (k === undefined) return ctx.fail(node, "has no k");
  node.attrs.delete("k");
  ctx.setInputs(node, [node.inputs[0], ctx.addInts(ctx.base(node, "k"), [k])]);
};

/** Tile-1 (tiles, axis inputs) → Tile-6 (repeats per axis) needs static values. */
export const tileRepeats: Adapter = (node, ctx) => {
  const [x, tiles, axis] = node.inputs;
  const t = ctx.ints(tiles), a = ctx.ints(axis), r = ctx.rank(x);
  if (!t || !a || r === undefined) return ctx.fail(node, "tiles by computed values");
  const repeats = Array<number>(r).fill(1);
  repeats[a[0] < 0 ? a[0] + r : a[0]] = t[0];
  ctx.setInputs(node, [x, ctx.addInts(ctx.base(node, "repeats"), repeats)]);
};
