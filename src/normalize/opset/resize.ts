/**
 * Upsample and Resize. Upsample-1 took `height_scale`/`width_scale`,
 * Upsample-7 a `scales` attribute, Upsample-9 a `scales` input; Upsample was
 * deprecated at 10 in favour of Resize-10, which has the same inputs. Resize-11
 * added `roi`, `sizes` and the coordinate/nearest modes; Resize-13 made `roi`
 * and `scales` optional.
 *
 * @module
 */
import type { Adapter } from "./_context.ts";

/** Upsample-1 → Upsample-7: per-axis `scales` for the NCHW input; "bilinear" is "linear". */
export const upsampleScalesAttr: Adapter = (node) => {
  const h = node.attrFloat("height_scale", 1);
  const w = node.attrFloat("width_scale", 1);
  node.attrs.delete("height_scale");
  node.attrs.delete("width_scale");
  node.attrs.set("scales", { type: "floats", value: [1, 1, h, w] });
  if (node.attrString("mode") === "bilinear") node.attrs.set("mode", { type: "string", value: "linear" });
};

/** Upsample-7 → Upsample-9: `scales` becomes a float input. */
export const upsampleScalesInput: Adapter = (node, ctx) => {
  const scales = node.attrFloats("scales");
  if (!scales) return ctx.fail(node, "has no scales");
  node.attrs.delete("scales");
  ctx.setInputs(node, [
    node.inputs[0],
    ctx.addInitializer(ctx.base(node, "scales"), "float32", [scales.length], scales),
  ]);
};

/** Upsample-9 → Resize-10: same inputs and modes under the new name. */
export const upsampleToResize: Adapter = (node) => {
  node.opType = "Resize";
  return node;
};

/**
 * Resize-10 → Resize-11. Resize-10 maps output to input coordinates as
 * `x / scale` ("asymmetric"). For "nearest" ONNX Runtime then truncates when
 * upsampling and rounds up when downsampling; "floor" and "ceil" say the same
 * for one direction, and either does for an axis whose inverse scale is an
 * integer (its coordinates are integers).
 */
export const resizeAddRoi: Adapter = (node, ctx) => {
  const [x, scalesIn] = node.inputs;
  node.attrs.set("coordinate_transformation_mode", { type: "string", value: "asymmetric" });
  if (node.attrString("mode", "nearest") === "nearest") {
    const mode = nearestModeFor(ctx.ints(scalesIn));
    if (!mode) return ctx.fail(node, "mixes upsampling with a downsampling scale no nearest_mode reproduces");
    node.attrs.set("nearest_mode", { type: "string", value: mode });
  }
  const rank = ctx.rank(x);
  const roi = rank === undefined ? [] : [...Array(rank).fill(0), ...Array(rank).fill(1)];
  ctx.setInputs(node, [x, ctx.addInitializer(ctx.base(node, "roi"), "float32", [roi.length], roi), scalesIn]);
};

function nearestModeFor(scales: number[] | undefined): string | undefined {
  if (!scales) return "floor";
  const up = scales.filter((s) => s > 1), down = scales.filter((s) => s < 1);
  if (down.every((s) => Number.isInteger(1 / s))) return "floor";
  if (up.length === 0) return "ceil";
  return undefined;
}

/**
 * Resize-11 → Resize-13: `roi` is only read by "tf_crop_and_resize", and an
 * empty `scales` only stands in for `sizes`; both become omitted inputs.
 */
export const resizeOptionalInputs: Adapter = (node, ctx) => {
  const [x, roi, scales, sizes] = node.inputs;
  const mode = node.attrString("coordinate_transformation_mode", "half_pixel");
  const dropRoi = roi && mode !== "tf_crop_and_resize" && ctx.constant(roi) !== undefined;
  const dropScales = scales && sizes && ctx.constant(scales)?.size === 0;
  ctx.setInputs(node, [x, dropRoi ? "" : roi ?? "", dropScales ? "" : scales ?? "", sizes ?? ""]);
};
