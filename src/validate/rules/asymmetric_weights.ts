/**
 * `asymmetric-weights`: a weight with a zero point off the symmetric one
 * where the target needs symmetric weights (integer kernels take one zero
 * point per tensor on the input side and none on the weight side).
 *
 * @module
 */
import type { Rule } from "../rule.ts";
import { anchor, describeTensor, listSome } from "./_describe.ts";
import { indicesWhere, symmetricZeroPoint, zeroPoints } from "./_quant.ts";

/** Weight zero points are 0 (int8) where the profile asks for symmetric weights. */
export const asymmetricWeights: Rule = {
  id: "asymmetric-weights",
  severity: "error",
  title: "Asymmetric weights on a symmetric-weight target",
  hint: "quantize with --target {target} (symmetric weights, zero point 0)",
  applies: (p) => p.weights.symmetric,
  check(ctx) {
    return ctx.quantized.filter((t) => t.role === "weight").flatMap((t) => {
      const zp = zeroPoints(t.zeroPoint);
      const want = symmetricZeroPoint(t.dtype);
      const off = indicesWhere(zp, (z) => z !== want);
      if (!off.length) return [];
      const where = zp.length > 1 ? ` in ${off.length} of ${zp.length} channels (${listSome(off.map((c) => `${c}: ${zp[c]}`))})` : ` ${zp[0]}`;
      return [{
        node: anchor(t).label,
        value: t.value,
        message: `The ${describeTensor(t)} has zero point${where}: ${ctx.profile.name} needs symmetric weights (zero point ${want})`,
      }];
    });
  },
};
