/**
 * `bad-scale`: a scale of zero, below zero, denormal, NaN or infinite.
 * Zero and denormal scales divide by (almost) nothing on the way in; NaN and
 * infinities poison every value after them.
 *
 * @module
 */
import type { Rule } from "../rule.ts";
import { anchor, describeTensor, listSome, num } from "./_describe.ts";

const FLOAT32_MIN_NORMAL = 2 ** -126;

/** What is wrong with one scale value, or `undefined`. */
export function scaleProblem(s: number): string | undefined {
  if (Number.isNaN(s)) return "NaN";
  if (!Number.isFinite(s)) return "infinite";
  if (s === 0) return "zero";
  if (s < 0) return `negative (${num(s)})`;
  if (s < FLOAT32_MIN_NORMAL) return `denormal (${num(s)})`;
  return undefined;
}

/** Every scale is a positive, normal, finite float. */
export const badScale: Rule = {
  id: "bad-scale",
  severity: "error",
  title: "Zero, denormal, NaN or infinite scale",
  hint: "requantize with --target {target}: ranges that are empty, constant or denormal get scale 1, never 0",
  check(ctx) {
    return ctx.quantized.filter((t) => t.scale).flatMap((t) => {
      const s = t.scale!;
      const bad: string[] = [];
      s.forEach((x, i) => {
        const p = scaleProblem(x);
        if (p) bad.push(s.length > 1 ? `channel ${i} ${p}` : p);
      });
      if (!bad.length) return [];
      return [{
        node: anchor(t).label,
        value: t.value,
        message: `Scale "${t.scaleName}" of the ${describeTensor(t)} is ${listSome(bad)}`,
      }];
    });
  },
};
