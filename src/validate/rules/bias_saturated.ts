/**
 * `bias-saturated`: int32 bias values at the int32 limits. The quantizer
 * clamps a bias that does not fit (bias / (input scale × weight scale) beyond
 * ±2^31), so the model computes with a different bias than it was trained with.
 *
 * @module
 */
import type { Rule } from "../rule.ts";
import { anchor, describeTensor, listSome } from "./_describe.ts";
import { indicesWhere } from "./_quant.ts";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** No int32 bias value sits at ±2^31. */
export const biasSaturated: Rule = {
  id: "bias-saturated",
  severity: "error",
  title: "int32 bias saturated",
  hint: "quantize with --target {target} and the bias-overflow-guard pass, which raises a channel's weight scale until its bias fits int32",
  check(ctx) {
    return ctx.quantized.filter((t) => t.data?.dtype === "int32").flatMap((t) => {
      const at = indicesWhere(t.data!.view() as Int32Array, (x) => x === INT32_MIN || x === INT32_MAX);
      if (!at.length) return [];
      return [{
        node: anchor(t).label,
        value: t.value,
        message: `The ${describeTensor(t)} has ${at.length} of ${t.data!.size} values clamped to the int32 limits ` +
          `(elements ${listSome(at.map(String))})`,
      }];
    });
  },
};
