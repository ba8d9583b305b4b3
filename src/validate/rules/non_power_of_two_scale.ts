/**
 * `non-power-of-two-scale`: a scale that is not 2^k on a target that
 * requantizes by shifting. Bias scales are products of input and weight
 * scales, so they are powers of two when those are; they are not reported.
 *
 * @module
 */
import type { Rule } from "../rule.ts";
import { anchor, describeTensor, num } from "./_describe.ts";
import { indicesWhere } from "./_quant.ts";

/** Whether `x` is exactly 2^k for an integer k. */
export function isPowerOfTwo(x: number): boolean {
  if (!(x > 0) || !Number.isFinite(x)) return false;
  const k = Math.round(Math.log2(x));
  return 2 ** k === x;
}

/** Every scale is a power of two, where the profile asks for it. */
export const nonPowerOfTwoScale: Rule = {
  id: "non-power-of-two-scale",
  severity: "error",
  title: "Scale is not a power of two",
  hint: "quantize with --target {target}, which rounds every scale to a power of two",
  applies: (p) => p.powerOfTwoScales,
  check(ctx) {
    return ctx.quantized.filter((t) => t.role !== "bias" && t.scale).flatMap((t) => {
      const s = t.scale!;
      const bad = indicesWhere(s, (x) => !isPowerOfTwo(x));
      if (!bad.length) return [];
      const what = s.length > 1 ? `${bad.length} of ${s.length} channel scales are` : "scale is";
      return [{
        node: anchor(t).label,
        value: t.value,
        message: `The ${describeTensor(t)}: ${what} not a power of two (${num(s[bad[0]])} in "${t.scaleName}")`,
      }];
    });
  },
};
