/**
 * `zero-point-range`: a zero point that does not fit the quantized tensor:
 * stored in another type than the data it goes with, outside that type's
 * range, not 0 for an int32 tensor, or not one per scale.
 *
 * @module
 */
import type { QuantizedTensor } from "../_qdq.ts";
import type { Rule } from "../rule.ts";
import { anchor, describeTensor } from "./_describe.ts";
import { INT_RANGE } from "./_quant.ts";

/** Zero points have the data's type, a value inside its range, and one per scale. */
export const zeroPointRange: Rule = {
  id: "zero-point-range",
  severity: "error",
  title: "Zero point outside its type's range or of the wrong type",
  hint: "store the zero point in the quantized tensor's type, inside its range (requantize with --target {target})",
  check(ctx) {
    return ctx.quantized.flatMap((t) => {
      const problems = zeroPointProblems(t);
      return problems.length
        ? [{ node: anchor(t).label, value: t.value, message: `Zero point "${t.zeroPointName}" of the ${describeTensor(t)} ${problems.join("; ")}` }]
        : [];
    });
  },
};

function zeroPointProblems(t: QuantizedTensor): string[] {
  const zp = t.zeroPoint;
  if (!zp) return [];
  const out: string[] = [];
  const range = INT_RANGE[zp.dtype];
  if (!range) out.push(`is ${zp.dtype}, which no quantized type uses`);
  else if (t.dtype && zp.dtype !== t.dtype) out.push(`is ${zp.dtype} but the data is ${t.dtype}`);
  const values = zp.toNumbers();
  const dataRange = t.dtype ? INT_RANGE[t.dtype] : undefined;
  const outside = dataRange ? values.filter((z) => z < dataRange[0] || z > dataRange[1]) : [];
  if (outside.length) out.push(`holds ${outside[0]}, outside ${t.dtype} [${dataRange![0]}, ${dataRange![1]}]`);
  if ((t.dtype === "int32" || zp.dtype === "int32") && values.some((z) => z !== 0)) out.push("is not 0 for int32 data");
  if (t.scale && values.length !== t.scale.length) out.push(`has ${values.length} values for ${t.scale.length} scales`);
  return out;
}
