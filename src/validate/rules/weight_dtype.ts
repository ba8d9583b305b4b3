/**
 * `weight-dtype`: a weight stored in another integer type than the target's,
 * or using -128 where the target takes narrow-range [-127, 127] int8.
 *
 * @module
 */
import type { Finding, Rule } from "../rule.ts";
import { anchor, describeTensor } from "./_describe.ts";

/** Weights have the profile's type (and range). */
export const weightDtype: Rule = {
  id: "weight-dtype",
  severity: "error",
  title: "Weight type or range the target does not take",
  hint: "quantize with --target {target}, which stores weights as the target expects",
  check(ctx) {
    const { weights, name } = ctx.profile;
    const out: Finding[] = [];
    for (const t of ctx.quantized) {
      if (t.role !== "weight") continue;
      const base = { node: anchor(t).label, value: t.value };
      if (t.dtype !== weights.dtype) {
        out.push({ ...base, message: `The ${describeTensor(t)} is ${t.dtype ?? "of unknown type"}: ${name} takes ${weights.dtype} weights` });
      } else if (weights.narrowRange && t.dtype === "int8" && t.data) {
        const v = t.data.view() as Int8Array;
        let n = 0;
        for (let i = 0; i < v.length; i++) if (v[i] === -128) n++;
        if (n) out.push({ ...base, message: `The ${describeTensor(t)} has ${n} values at -128: ${name} takes narrow-range weights [-127, 127]` });
      }
    }
    return out;
  },
};
